"""Problem views: a `code` or `mpi` task's problem as the code generators may see it.

>>> from workbench.optimizers.codegen.view import MpiView
>>> from workbench.tasks.mpi import load_problem, library_dir
>>> view = MpiView(load_problem(library_dir() / "reduce_dot_product"))
>>> view.language, view.entry, view.problem.solution
('cpp', 'dot_product', None)
"""

from typing import Any

from workbench.errors import ConfigError
from workbench.optimizers.codegen.view.base import ProblemView, Program, PublicReward, PublicRun
from workbench.optimizers.codegen.view.mpi import MpiView, canonical_type, extract_cpp_program
from workbench.optimizers.codegen.view.python import PythonView, extract_python_program
from workbench.tasks import ProvidesPublicProblem
from workbench.tasks.code import CodeProblem
from workbench.tasks.mpi import MpiTask

__all__ = [
    "MpiView",
    "ProblemView",
    "Program",
    "PublicReward",
    "PublicRun",
    "PythonView",
    "canonical_type",
    "extract_cpp_program",
    "extract_python_program",
    "problem_view",
]


def problem_view(task: Any, generator: str) -> ProblemView:
    """The view of a run's task for code generator `generator`.

    A `code` task (any `ProvidesPublicProblem`) is seen through ``public_problem()`` (no
    hidden tests); an `mpi` task through its problem and drivers.

    Raises:
        ConfigError: the task is neither a `code` nor an `mpi` task.
    """
    if isinstance(task, MpiTask):
        return MpiView(task.problem, task.drivers, check=task.check_source)
    problem = task.public_problem() if isinstance(task, ProvidesPublicProblem) else None
    if not isinstance(problem, CodeProblem):
        kind = type(task).__name__ if task is not None else "no task"
        raise ConfigError(
            f"optimizer {generator!r} writes code: it needs a task of kind: code or kind: mpi, "
            f"got {kind}"
        )
    return PythonView(problem)
