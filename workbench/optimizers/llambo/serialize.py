"""Text forms of configurations and search spaces, and the answer schemas built from a space.

Every value shown to the model is *canonical*: floats keep 3 significant digits (every digit is
a token the model has to write), as plain decimals in [1e-3, 1e4) and
in scientific notation outside, always in the form llama.cpp's JSON grammar lets the model write
back (`_number`); ints are ints, categoricals are JSON. `snap` maps any value to its
canonical form, so `parse_config(config_text(c)) == snap_config(c)` and two configurations that
print the same are the same configuration (the dedupe key). In prompts and answers a
configuration is a *row*: a JSON array of its values in the space's parameter order (the column
names are given once, in the stable prompt prefix), e.g. ``[7, 0.412, 1.2e-4, "tanh"]``.
Ranges print with the same rule, so a range such as [0, 0.5] never collapses to [0, 0]
(research/llambo.md §1, weakness 5).

Example:
    >>> from workbench.tasks.hpo import FloatParam
    >>> p = FloatParam(type="float", low=1e-4, high=1e-3, log=True)
    >>> format_value(0.000123456789, p), describe_param("gamma", p)
    ('1.23e-4', '- gamma: float, log scale, in [1e-4, 0.001]')
"""

from __future__ import annotations

import json
import math
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, Field, create_model

__all__ = [
    "answer_schemas",
    "check_config",
    "check_row",
    "clip_row",
    "config_key",
    "config_row",
    "config_text",
    "describe_param",
    "describe_space",
    "format_value",
    "parse_config",
    "snap",
    "snap_config",
]

DIGITS = 3


def _sci(v: float) -> str:
    return f"{v:.{DIGITS - 1}e}"


def _number(text: str) -> str:
    """A float's text as the model is shown it and can write it back.

    Plain decimals in [1e-3, 1e4) (``48.2``, ``0.0123``), scientific notation outside with an
    exponent free of leading zeros (``2.79e-4``, not Python's ``2.79e-04``). llama.cpp's JSON
    grammar reads an exponent as an integer that cannot start with 0: a model shown
    ``e-04`` and held to that grammar cannot copy it and drops the exponent (``2.79``),
    which put every row of the log-scale spaces outside them.
    """
    d = Decimal(text).normalize()
    if d == 0:
        return "0"
    return format(d, "f" if Decimal("1e-3") <= abs(d) < Decimal("1e4") else "e")


def _short(v: float) -> str:
    """Bounds: shortest text that parses back to the same float."""
    return _number(repr(float(v)))


def snap(value: Any, spec: Any) -> Any:
    """The canonical value of `value` for `spec`, or raise ValueError if it cannot be one."""
    if spec.type == "categorical":
        for choice in spec.choices:
            if value == choice and type(value) is type(choice):
                return choice
        for choice in spec.choices:  # "1" for 1, 1 for 1.0: the model's JSON is loose
            if json.dumps(value) == json.dumps(choice) or str(value) == str(choice):
                return choice
        raise ValueError(f"not one of {spec.choices}")
    if isinstance(value, bool) or not isinstance(value, int | float):
        if isinstance(value, str):
            try:
                value = float(value)
            except ValueError:
                raise ValueError(f"not a number: {value!r}") from None
        else:
            raise ValueError(f"not a number: {value!r}")
    if not math.isfinite(value):
        raise ValueError(f"not finite: {value!r}")
    if spec.type == "int":
        if abs(value - round(value)) > 1e-9:
            raise ValueError(f"not an integer: {value!r}")
        out = round(value)
        if (out - spec.low) % spec.step:
            raise ValueError(f"not low + k*{spec.step}")
    else:
        out = float(value)
        if spec.step is not None:
            out = spec.low + round((out - spec.low) / spec.step) * spec.step
        out = float(_sci(out)) if out != 0 else 0.0
        if spec.low <= float(value) <= spec.high:  # rounding must not leave the range
            out = min(max(out, spec.low), spec.high)
    if not spec.low <= out <= spec.high:
        raise ValueError(f"outside [{_short(spec.low)}, {_short(spec.high)}]")
    return out


def format_value(value: Any, spec: Any) -> str:
    """The prompt text of one value (assumed valid for `spec`)."""
    if spec.type == "categorical":
        return json.dumps(value)
    if spec.type == "int":
        return str(int(value))
    return _number(_sci(float(value)))


def snap_config(config: dict[str, Any], space: dict[str, Any]) -> dict[str, Any]:
    """Canonical copy of a full configuration (raises ValueError naming the bad parameter)."""
    out = {}
    for name, spec in space.items():
        if name not in config:
            raise ValueError(f"{name}: missing")
        try:
            out[name] = snap(config[name], spec)
        except ValueError as exc:
            raise ValueError(f"{name}: {exc}") from None
    return out


def check_config(config: Any, space: dict[str, Any]) -> tuple[dict[str, Any] | None, str | None]:
    """(canonical config, None) or (None, why it is not in the space)."""
    if not isinstance(config, dict):
        return None, f"not an object: {config!r}"[:200]
    extra = sorted(set(config) - set(space))
    if extra:
        return None, f"unknown parameters {extra}"
    try:
        return snap_config(config, space), None
    except ValueError as exc:
        return None, str(exc)


def config_key(config: dict[str, Any], space: dict[str, Any]) -> str:
    """Dedupe key: the canonical text (equal keys = the same configuration)."""
    return config_text(snap_config(config, space), space)


def config_row(config: dict[str, Any], space: dict[str, Any]) -> str:
    """``[1, 1e-4, "a"]``: the values in the space's parameter order (valid JSON)."""
    return "[" + ", ".join(format_value(config[n], spec) for n, spec in space.items()) + "]"


def check_row(row: Any, space: dict[str, Any]) -> tuple[dict[str, Any] | None, str | None]:
    """`check_config` for a row (a list in parameter order) or a configuration object."""
    if isinstance(row, dict):
        return check_config(row, space)
    if not isinstance(row, list | tuple):
        return None, f"not a row: {row!r}"[:200]
    if len(row) != len(space):
        return None, f"{len(row)} values for {len(space)} parameters"
    return check_config(dict(zip(space, row, strict=True)), space)


def clip_row(row: Any, space: dict[str, Any]) -> dict[str, Any] | None:
    """The nearest in-space configuration to a row whose numbers left their ranges, or None.

    Numbers are clamped to their range (ints rounded onto their step); a categorical value
    that is not a choice, a missing value or a non-number cannot be repaired.
    """
    if isinstance(row, list | tuple) and len(row) == len(space):
        row = dict(zip(space, row, strict=True))
    if not isinstance(row, dict) or set(row) != set(space):
        return None
    out: dict[str, Any] = {}
    for name, spec in space.items():
        value = row[name]
        if spec.type != "categorical":
            if isinstance(value, bool) or not isinstance(value, int | float):
                return None
            if not math.isfinite(value):
                return None
            value = min(max(float(value), spec.low), spec.high)
            if spec.type == "int":
                value = spec.low + round((value - spec.low) / spec.step) * spec.step
                value = int(min(value, spec.high - (spec.high - spec.low) % spec.step))
        out[name] = value
    config, _ = check_config(out, space)
    return config


def config_text(config: dict[str, Any], space: dict[str, Any]) -> str:
    """``{"a": 1, "b": 1e-4}`` in the space's parameter order (valid JSON)."""
    parts = [
        f"{json.dumps(name)}: {format_value(config[name], spec)}" for name, spec in space.items()
    ]
    return "{" + ", ".join(parts) + "}"


def parse_config(text: str, space: dict[str, Any]) -> dict[str, Any]:
    """Inverse of `config_text` (raises ValueError)."""
    data = json.loads(text)
    config, why = check_config(data, space)
    if config is None:
        raise ValueError(why)
    return config


def describe_param(name: str, spec: Any) -> str:
    """One line of the search-space description."""
    if spec.type == "categorical":
        return f"- {name}: one of {json.dumps(spec.choices)}"
    if spec.type == "int":
        scale = ", log scale" if spec.log else ""
        step = f", step {spec.step}" if spec.step != 1 else ""
        return f"- {name}: integer{scale}{step}, in [{spec.low}, {spec.high}]"
    scale = ", log scale" if spec.log else ""
    step = f", step {_short(spec.step)}" if spec.step else ""
    lo, hi = (_short(v) for v in (spec.low, spec.high))
    return f"- {name}: float{scale}{step}, in [{lo}, {hi}]"


def describe_space(space: dict[str, Any]) -> str:
    """The search space, one parameter a line."""
    return "\n".join(describe_param(n, s) for n, s in space.items())


def _field_type(spec: Any) -> Any:
    if spec.type == "categorical":
        return Literal[tuple(spec.choices)]  # type: ignore[misc]
    return int if spec.type == "int" else float


def answer_schemas(
    space: dict[str, Any], max_configs: int | None = None
) -> tuple[type[BaseModel], type[BaseModel]]:
    """(configs schema, predictions schema) for structured answers over `space`.

    `max_configs` caps the rows of an answer (the grammar stops a model that would go on).

    A configuration is a row: a fixed-length array typed per position (int, float, enum of the
    choices; JSON Schema ``prefixItems``), so that a grammar-constrained model writes valid,
    compact JSON. Bounds are not in the schema: an out-of-range value is rejected per
    configuration (and counted), not per answer.
    """
    row = tuple[tuple(_field_type(spec) for spec in space.values())]  # type: ignore[misc]
    configs = create_model(
        "Configurations",
        configs=(list[row], Field(min_length=1, max_length=max_configs)),  # type: ignore[valid-type]
    )
    predictions = create_model("Predictions", predictions=(list[float], Field(min_length=1)))
    return configs, predictions
