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

    A `code` task is seen through ``public_problem()`` (no hidden tests); a task object that
    only carries a `CodeProblem` as ``problem`` is taken as it is.

    Raises:
        ConfigError: the task is neither a `code` nor an `mpi` task.
    """
    from workbench.tasks.code import CodeProblem
    from workbench.tasks.mpi import MpiTask

    if isinstance(task, MpiTask):
        return MpiView(task.problem, task.drivers, check=task.check_source)
    public = getattr(task, "public_problem", None)
    problem = public() if callable(public) else getattr(task, "problem", None)
    if not isinstance(problem, CodeProblem):
        kind = type(task).__name__ if task is not None else "no task"
        raise ConfigError(
            f"optimizer {generator!r} writes code: it needs a task of kind: code or kind: mpi, "
            f"got {kind}"
        )
    return PythonView(problem)
