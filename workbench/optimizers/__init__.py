"""optimizers layer: the `Optimizer` base and the optimizers, found by name (see DESIGN.md).

`make_optimizer("optuna", settings, ctx)` is the one resolver from a task file's
``optimizer: {name, settings}`` to an object; an `Optimizer` instance passes straight through.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic import ValidationError

from workbench.optimizers.base import FunctionOptimizer, Optimizer, OptimizerContext, SettingsError

__all__ = [
    "FunctionOptimizer",
    "Optimizer",
    "OptimizerContext",
    "SettingsError",
    "make_optimizer",
    "optimizer_names",
    "register_optimizer",
]


Factory = Callable[[OptimizerContext, dict[str, Any]], Optimizer]


def _optuna(ctx: OptimizerContext, settings: dict[str, Any]) -> Optimizer:
    from workbench.optimizers.optuna import OptunaOptimizer

    return OptunaOptimizer(ctx, settings)


_FACTORIES: dict[str, Factory] = {"optuna": _optuna}


def register_optimizer(name: str, factory: Factory) -> None:
    """Make `optimizer: {name: <name>}` in task files build `factory(ctx, settings)`.

    `make_optimizer` imports ``workbench.optimizers.<name>`` first when `name` is not yet
    registered, so a module named after its optimizer registers itself on import.
    """
    _FACTORIES[name] = factory


def optimizer_names() -> list[str]:
    """Names task files may use."""
    return sorted(_FACTORIES)


def make_optimizer(
    spec: str | Optimizer, settings: dict[str, Any] | None, ctx: OptimizerContext
) -> Optimizer:
    """Resolve an optimizer name (or pass an Optimizer through).

    Raises:
        ConfigError: unknown name, or settings the optimizer rejects (with the field path).
    """
    if isinstance(spec, Optimizer):
        return spec
    if spec not in _FACTORIES and spec.isidentifier() and spec not in ("base",):
        # an optimizer module named after it registers itself on import
        import importlib
        import importlib.util

        if importlib.util.find_spec(f"workbench.optimizers.{spec}") is not None:
            importlib.import_module(f"workbench.optimizers.{spec}")
    if spec not in _FACTORIES:
        msg = f"unknown optimizer {spec!r}; known: {', '.join(optimizer_names())}"
        raise SettingsError([(("optimizer", "name"), msg)])
    try:
        return _FACTORIES[spec](ctx, dict(settings or {}))
    except ValidationError as exc:
        raise SettingsError.from_validation(exc) from None
