"""Workbench: an LLM-driven optimizer and code-generation workbench.

The short API, one import (README, "Python API"):

- ``node``, ``bundle``, ``Module``: trainable values, functions and classes (`workbench.trace`);
  ``output.backward(feedback)`` sends feedback to the parameters that made ``output``.
- ``OptoPrime(parameters)``: asks a model for better values; ``step()`` applies them. Without
  ``llm=`` it opens ``workbench.llm``'s default model and closes it with the optimizer.
- ``optimize(task_file)``: runs a task file as ``workbench optimize`` does; returns the summary.
- ``compose(module, agents=[Agent(...), ...], budget=...)``: several agents on one traced
  module, each owning its parameters (what an ``agents:`` task file says); ``optimize`` runs it.

Importing ``workbench`` stays light: ``OptoPrime`` is imported on first use, and ``optimize``
imports the run machinery (langgraph) when called.

Example:
    >>> import workbench as wb
    >>> x = wb.node(2.0, trainable=True, name="x")
    >>> (x * 3).data
    6.0
"""

from __future__ import annotations

from os import PathLike
from pathlib import Path
from typing import TYPE_CHECKING, Any

from workbench._imports import import_object
from workbench.errors import (
    BudgetExceeded,
    ConfigError,
    RunError,
    UserError,
    WorkbenchError,
)
from workbench.trace import Module, bundle, node

if TYPE_CHECKING:
    from workbench.optimizers.optoprime.optimizer import OptoPrime
    from workbench.tasks import TaskFile
    from workbench.tasks.workflow.compose import Agent, compose

__version__ = "0.1.0"

__all__ = [
    "Agent",
    "BudgetExceeded",
    "ConfigError",
    "Module",
    "OptoPrime",
    "RunError",
    "UserError",
    "WorkbenchError",
    "__version__",
    "bundle",
    "compose",
    "node",
    "optimize",
]

# Names bound on first access (PEP 562): what they import costs more than the rest of the API.
_LAZY = {
    "OptoPrime": "workbench.optimizers.optoprime.optimizer:OptoPrime",
    "Agent": "workbench.tasks.workflow.compose:Agent",
    "compose": "workbench.tasks.workflow.compose:compose",
}


def __getattr__(name: str) -> Any:
    target = _LAZY.get(name)
    if target is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = import_object(target)
    globals()[name] = value  # later reads skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


def optimize(
    task: str | PathLike[str] | TaskFile,
    runs_dir: str | PathLike[str] | None = None,
    **options: Any,
) -> dict[str, Any]:
    """Run a task file to its budget, as ``workbench optimize`` does, and return its summary.

    The run gets a folder under `runs_dir` with its events, checkpoints, ``summary.json`` and
    ``report.html``; ``workbench resume`` and ``workbench report`` work on it as on any run.

    Args:
        task: the path of a task file (YAML), or one loaded with
            ``workbench.tasks.load_task_file``.
        runs_dir: where run folders go (default ``./runs`` or ``$WORKBENCH_RUNS_DIR``).
        **options: passed to `workbench.runs.start_run`: ``use_cache``, ``on_event`` (called
            with every progress event), ``optimizer``, ``make_llm``, ``make_task_llm``.

    Returns:
        The run's summary (``summary.json``): ``best`` (id, score, payload), ``stop_reason``,
        ``evaluations``, ``llm`` usage, ...

    Raises:
        ConfigError: the task file is invalid (with the field path and line number).
        BudgetExceeded, RunError: see `workbench.errors`.

    Example:
        >>> import workbench as wb
        >>> wb.optimize("tasks/hpo/quickstart.yaml")["best"]["score"]  # doctest: +SKIP
        0.97...
    """
    # the run machinery (langgraph, the loop) is imported here, not with `workbench`
    start_run = import_object("workbench.runs:start_run")
    write_report = import_object("workbench.runs:write_report")
    if isinstance(task, PathLike):
        task = Path(task)
    result = start_run(task, None if runs_dir is None else Path(runs_dir), **options)
    write_report(result.run)  # as `workbench optimize` does
    summary: dict[str, Any] = result.summary
    return summary
