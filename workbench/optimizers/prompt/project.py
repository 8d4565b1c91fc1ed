"""The projected calls of a prompt task file, without building an optimizer or starting a run.

`project_task` reads a task file and gives its `CallProjection` (what ``workbench validate``
prints); `PROMPT_OPTIMIZERS` are the optimizer names it accepts and `prompt_method` maps such a
name to its `PromptOptimizer` method. Running a prompt task file end to end is
`workbench.runs.run_prompt`.
"""

from __future__ import annotations

from pathlib import Path

from workbench.errors import ConfigError
from workbench.optimizers.prompt.budget import CallProjection
from workbench.optimizers.prompt.settings import make_plan, project_plan
from workbench.tasks import TaskFile, build_task, load_task_file
from workbench.tasks.prompt.kind import PromptTask

__all__ = ["PROMPT_OPTIMIZERS", "project_task", "prompt_method"]

PROMPT_OPTIMIZERS = ("ape", "opro", "protegi", "exemplars", "exemplars_opt", "joint")


def prompt_method(name: str) -> str:
    """The `PromptOptimizer` method of an optimizer name (``exemplars_opt`` is
    ``exemplars``)."""
    return "exemplars" if name == "exemplars_opt" else name


def project_task(task_file: TaskFile | str | Path) -> CallProjection:
    """The projected task-model and optimizer-model calls of a prompt task file's run.

    Raises:
        ConfigError: not a prompt task, or not a prompt optimizer.
    """
    tf = task_file if isinstance(task_file, TaskFile) else load_task_file(task_file)
    if tf.kind != "prompt" or tf.optimizer.name not in PROMPT_OPTIMIZERS:
        raise ConfigError(
            f"project_task needs kind 'prompt' and one of {PROMPT_OPTIMIZERS}, got kind "
            f"{tf.kind!r} with optimizer {tf.optimizer.name!r}"
        )
    task = build_task(tf)
    assert isinstance(task, PromptTask)
    s = task.splits
    plan = make_plan(
        prompt_method(tf.optimizer.name), tf.optimizer.settings, task.evaluations, len(s.val)
    )
    return project_plan(
        plan, val_size=len(s.val), test_size=len(s.test), train_size=len(s.train or s.val)
    )
