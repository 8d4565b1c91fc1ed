"""tasks layer: task files (schema, loader) and one evaluator per task kind (see DESIGN.md)."""

from workbench.tasks.base import (
    Kind,
    ProvidesPublicProblem,
    ProvidesSandboxConfig,
    ProvidesTraceParameters,
    RunContext,
    Task,
    get_kind,
    kind_names,
    register_kind,
)
from workbench.tasks.hpo import HpoSection, HpoTask
from workbench.tasks.loader import (
    build_task,
    load_task,
    load_task_file,
    parse_task_data,
    parse_task_text,
)
from workbench.tasks.schema import BudgetSpec, OptimizerSpec, StopSpec, TaskFile, task_file_model

__all__ = [
    "BudgetSpec",
    "HpoSection",
    "HpoTask",
    "Kind",
    "OptimizerSpec",
    "ProvidesPublicProblem",
    "ProvidesSandboxConfig",
    "ProvidesTraceParameters",
    "RunContext",
    "StopSpec",
    "Task",
    "TaskFile",
    "build_task",
    "get_kind",
    "kind_names",
    "load_task",
    "load_task_file",
    "parse_task_data",
    "parse_task_text",
    "register_kind",
    "task_file_model",
]
