"""The `workflow` task kind: train the traced values and functions of a user's Python module.

A task file names the module (a path relative to the task file), the parameters to train, and
how the output is judged — a feedback function returning ``(score, text)`` or a test command run
in the sandbox. `workbench optimize` runs OptoPrime (``optimizer: {name: optoprime}``) on it
through the loop; see :class:`WorkflowSection` for the keys and ``tasks/workflow/`` for examples.
"""

from workbench.tasks.base import Kind
from workbench.tasks.schema import TaskFile
from workbench.tasks.workflow.remote import SandboxExecutor, parse_test_output
from workbench.tasks.workflow.section import WorkflowSection, load_module
from workbench.tasks.workflow.task import WorkflowTask, parameter_key

__all__ = [
    "KIND",
    "SandboxExecutor",
    "WorkflowSection",
    "WorkflowTask",
    "load_module",
    "parameter_key",
    "parse_test_output",
]


def _factory(task_file: TaskFile) -> WorkflowTask:
    return WorkflowTask(task_file.name, task_file.section, task_file.base_dir)  # type: ignore[arg-type]


KIND = Kind("workflow", WorkflowSection, _factory)
"""The ``workflow`` task kind (named in `workbench.tasks.base.KINDS`)."""
