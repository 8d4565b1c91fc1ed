"""Knobs: the tunable settings a candidate declares in its own code, set at compile time.

The code agent may write a kernel whose chunk size, algorithm or overlap is a macro, declare
its range in a comment, and give it a default::

    // @knob CHUNK int 64 65536 log
    // @knob USE_ALLREDUCE choice 0 1
    #ifndef CHUNK
    #define CHUNK 4096
    #endif

`parse_knobs` reads the declarations (``int LOW HIGH [log]``, ``float LOW HIGH [log]``,
``choice V1 V2 ...`` of integers); a tuner then proposes values within them (`knob_space` is
their search space, in ``workflow.space``'s form) and the candidate is compiled with
``-DCHUNK=1024 -DUSE_ALLREDUCE=1`` (`knob_defines`). Values are numbers the harness formats
itself, so nothing but a number reaches the compiler's command line; a value for a knob the code
does not declare, or outside its range, is refused before anything runs.

    >>> knobs, problems = parse_knobs("// @knob CHUNK int 64 65536 log\\n")
    >>> knobs[0].space(), problems
    ({'type': 'int', 'low': 64, 'high': 65536, 'log': True}, [])
    >>> knob_defines(knobs, {"CHUNK": 1024})
    ['-DCHUNK=1024']
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["MAX_KNOBS", "Knob", "knob_defines", "knob_space", "parse_knobs"]

MAX_KNOBS = 8
_DECLARATION = re.compile(r"^[ \t]*//[ \t]*@knob\b(.*)$", re.MULTILINE)
_NAME = re.compile(r"[A-Z][A-Z0-9_]{0,39}")
_RESERVED = ("WB_", "MPI_", "PMPI_", "OMPI_", "MPICH_", "_")


@dataclass(frozen=True)
class Knob:
    """One declared knob: its macro name, kind (``int``, ``float``, ``choice``) and range."""

    name: str
    kind: str
    low: float = 0.0
    high: float = 0.0
    log: bool = False
    choices: tuple[int, ...] = ()

    def space(self) -> dict[str, Any]:
        """Its range in ``workflow.space``'s form (what an Optuna-style tuner searches)."""
        if self.kind == "choice":
            return {"type": "categorical", "choices": list(self.choices)}
        low: float = int(self.low) if self.kind == "int" else self.low
        high: float = int(self.high) if self.kind == "int" else self.high
        return {"type": self.kind, "low": low, "high": high, "log": self.log}

    def check(self, value: Any) -> str | None:
        """Why `value` is not a value of this knob (None: it is)."""
        if isinstance(value, bool) or not isinstance(value, int | float):
            return f"{self.name} = {value!r} is not a number"
        if self.kind == "choice":
            if value in self.choices:
                return None
            return f"{self.name} = {value!r} is not one of {list(self.choices)}"
        if self.kind == "int" and value != int(value):
            return f"{self.name} = {value!r} is not an integer"
        if not math.isfinite(value) or not self.low <= value <= self.high:
            return f"{self.name} = {value!r} is outside [{self.low:g}, {self.high:g}]"
        return None

    def literal(self, value: float) -> str:
        """`value` as the C++ literal the macro stands for."""
        return str(int(value)) if self.kind in ("int", "choice") else repr(float(value))


def _number(text: str, kind: str, expected: str) -> float:
    """`text` as a number of `kind`; else ValueError(`expected`)."""
    try:
        value = float(text) if kind == "float" else int(text, 10)
    except ValueError:
        raise ValueError(expected) from None
    if not math.isfinite(value):
        raise ValueError(expected)
    return value


def parse_knobs(code: str) -> tuple[list[Knob], list[str]]:
    """The knobs `code` declares (``// @knob NAME ...`` lines), and what is wrong with the
    declarations that could not be read (each a line for the model's feedback)."""
    knobs: dict[str, Knob] = {}
    problems: list[str] = []
    for m in _DECLARATION.finditer(code):
        words = m.group(1).split()
        text = f"'// @knob{m.group(1)}'".strip()
        if len(words) < 2:
            problems.append(f"{text}: write '// @knob NAME int LOW HIGH [log]'")
            continue
        name, kind, rest = words[0], words[1], words[2:]
        if not _NAME.fullmatch(name) or name.startswith(_RESERVED):
            problems.append(
                f"{text}: a knob's name is an upper-case macro name, not starting with "
                f"{', '.join(_RESERVED[:-1])} or _"
            )
            continue
        if name in knobs:
            problems.append(f"{text}: {name} is declared twice")
            continue
        try:
            if kind in ("int", "float"):
                log = rest[2:] == ["log"]
                if len(rest) != 2 + log:
                    raise ValueError("LOW HIGH [log]")
                form = f"LOW HIGH [log] as {'numbers' if kind == 'float' else 'integers'}"
                low, high = _number(rest[0], kind, form), _number(rest[1], kind, form)
                if not low < high or (log and low <= 0):
                    raise ValueError("LOW < HIGH (and LOW > 0 with log)")
                knob = Knob(name, kind, low, high, log)
            elif kind == "choice":
                form = "2 to 16 different integers"
                choices = tuple(int(_number(v, "int", form)) for v in rest)
                if len(set(choices)) < 2 or len(choices) > 16:
                    raise ValueError("2 to 16 different integers")
                knob = Knob(name, kind, choices=choices)
            else:
                raise ValueError("a kind: int, float or choice")
        except ValueError as exc:
            problems.append(f"{text}: expected {exc}")
            continue
        if len(knobs) == MAX_KNOBS:
            problems.append(f"{text}: at most {MAX_KNOBS} knobs")
            continue
        knobs[name] = knob
    return list(knobs.values()), problems


def knob_space(knobs: list[Knob]) -> dict[str, dict[str, Any]]:
    """The search space of `knobs`, by name."""
    return {k.name: k.space() for k in knobs}


def knob_defines(knobs: list[Knob], values: Mapping[str, Any]) -> list[str]:
    """The compiler flags that set `values` (``-DNAME=value``), in declaration order.

    Raises:
        ValueError: a value for a knob the code does not declare, or not within its range
            (the message names each).
    """
    declared = {k.name: k for k in knobs}
    wrong = [f"{name} is not a knob of this code" for name in values if name not in declared]
    wrong += [why for k in knobs if k.name in values and (why := k.check(values[k.name]))]
    if wrong:
        raise ValueError("; ".join(wrong))
    return [f"-D{k.name}={k.literal(values[k.name])}" for k in knobs if k.name in values]
