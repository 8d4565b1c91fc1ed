"""optimizers layer: the `Optimizer` base and the optimizers, found by name (see DESIGN.md).

`make_optimizer("optuna", settings, ctx)` is the one resolver from a task file's
``optimizer: {name, settings}`` to an object; an `Optimizer` instance passes straight through.
The names are one table, `OPTIMIZERS`; a task file may also name a class of its own as
``module:Class`` (built as ``Class(ctx, settings)``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from workbench._imports import import_object
from workbench.optimizers.base import (
    FunctionOptimizer,
    Optimizer,
    RoutedOptimizer,
    RunContext,
    SettingsError,
)

__all__ = [
    "OPTIMIZERS",
    "FunctionOptimizer",
    "Optimizer",
    "Registered",
    "RoutedOptimizer",
    "RunContext",
    "SettingsError",
    "make_optimizer",
    "optimizer_names",
]


@dataclass(frozen=True)
class Registered:
    """Where an optimizer name leads: a class built as ``cls(ctx, settings)``, or, with
    `method`, ``cls(ctx, method, settings)`` (one class serving several named methods)."""

    target: str
    method: str | None = None


_PROMPT = "workbench.optimizers.prompt.optimizer:PromptOptimizer"

OPTIMIZERS: dict[str, Registered] = {
    "optuna": Registered("workbench.optimizers.optuna:OptunaOptimizer"),
    "llambo": Registered("workbench.optimizers.llambo.optimizer:LlamboOptimizer"),
    "optoprime": Registered("workbench.optimizers.optoprime.adapter:OptoPrimeOptimizer"),
    "ape": Registered(_PROMPT, "ape"),
    "opro": Registered(_PROMPT, "opro"),
    "protegi": Registered(_PROMPT, "protegi"),
    "exemplars": Registered(_PROMPT, "exemplars"),
    "exemplars_opt": Registered(_PROMPT, "exemplars"),
    "joint": Registered(_PROMPT, "joint"),
    "sample": Registered("workbench.optimizers.codegen.sample.generator:SampleOptimizer"),
    "funcoder": Registered("workbench.optimizers.codegen.funcoder.generator:FunCoderOptimizer"),
    "pgtd": Registered("workbench.optimizers.codegen.pgtd.optimizer:PGTDOptimizer"),
}
"""Every optimizer a task file may name, and the class that implements it."""


def optimizer_names() -> list[str]:
    """Names task files may use."""
    return sorted(OPTIMIZERS)


def make_optimizer(
    spec: str | Optimizer, settings: dict[str, Any] | None, ctx: RunContext
) -> Optimizer:
    """Resolve an optimizer name, or a ``module:Class`` of the user's (or pass an Optimizer
    through).

    Raises:
        ConfigError: unknown name, or settings the optimizer rejects (with the field path).
    """
    if isinstance(spec, Optimizer):
        return spec
    entry = OPTIMIZERS.get(spec) or (Registered(spec) if ":" in spec else None)
    if entry is None:
        msg = f"unknown optimizer {spec!r}; known: {', '.join(optimizer_names())}"
        raise SettingsError([(("optimizer", "name"), msg)])
    try:
        cls = import_object(entry.target)
    except (ImportError, AttributeError, ValueError) as exc:
        msg = f"cannot import optimizer {spec!r} ({entry.target}): {exc}"
        raise SettingsError([(("optimizer", "name"), msg)]) from None
    if not (isinstance(cls, type) and issubclass(cls, Optimizer)):
        msg = f"{entry.target} is not an Optimizer subclass"
        raise SettingsError([(("optimizer", "name"), msg)])
    try:
        if entry.method is None:
            return cls(ctx, dict(settings or {}))
        return cls(ctx, entry.method, dict(settings or {}))
    except ValidationError as exc:
        raise SettingsError.from_validation(exc) from None
