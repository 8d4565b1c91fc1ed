"""The `mpi` task kind on LocalSandbox (host MPICH): library problems, scores, statuses."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.fixtures.needs import missing
from workbench.contracts import Candidate
from workbench.errors import ConfigError
from workbench.sandbox import Sandbox
from workbench.tasks import RunContext, build_task, parse_task_text
from workbench.tasks.mpi import MpiTask

REPO = Path(__file__).resolve().parents[3]
TASK = "name: dot\nkind: mpi\nbudget: {iterations: 1}\nmpi: {problem: reduce_dot_product}\n"


@pytest.fixture(scope="module")
def task() -> MpiTask:
    built = build_task(parse_task_text(TASK, REPO, source="dot.yaml"))
    assert isinstance(built, MpiTask)
    return built


@pytest.fixture
def mpi_local(local_sandbox: Sandbox) -> Sandbox:
    if shutil.which("mpicxx") is None or shutil.which("mpirun") is None:
        missing("host MPICH is not installed (apt-get install mpich libmpich-dev)")
    return local_sandbox


def _eval(task: MpiTask, code: str, sandbox: Sandbox, language: str = "cpp"):
    ctx = RunContext(open_sandbox=lambda: sandbox)
    return task.evaluate(Candidate("c", {"code": code, "language": language}), ctx)


@pytest.mark.slow
def test_solution_passes_and_wrong_fails_at_np3(task: MpiTask, mpi_local: Sandbox) -> None:
    assert task.problem.solution and task.problem.wrong
    good = _eval(task, task.problem.solution, mpi_local)
    assert good.status == "ok" and good.score == 1.0 and good.scores["passed"] == 1.0
    assert good.scores["speedup"] > 0 and "time_reference" in good.scores
    assert [t["passed"] for t in good.tests] == [True, True, True, True]
    wrong = _eval(task, task.problem.wrong, mpi_local)
    assert wrong.status == "ok" and wrong.score == 0.75 and wrong.scores["passed"] == 0.0
    failed = [t["name"] for t in wrong.tests if not t["passed"]]
    assert failed == ["np=3"] and "np=3" in wrong.feedback and wrong.scores["speedup"] == 0.0


@pytest.mark.slow
def test_compile_error_and_rejected_source_are_errors(task: MpiTask, mpi_local: Sandbox) -> None:
    broken = _eval(task, task.problem.solution.replace(";", "", 1), mpi_local)  # type: ignore[union-attr]
    assert broken.status == "error" and broken.score is None and "ompil" in broken.feedback
    init = "double dot_product(std::vector<double> const& x, std::vector<double> const& y) {"
    init += " MPI_Init(0, 0); return 0.0; }"
    rejected = _eval(task, init, mpi_local)
    assert rejected.status == "error" and "MPI_Init" in rejected.feedback


def test_payload_checks(task: MpiTask, local_sandbox: Sandbox) -> None:
    assert _eval(task, "", local_sandbox).status == "error"
    ev = _eval(task, "def f(): pass", local_sandbox, "python")
    assert ev.status == "error" and "python" in ev.feedback
    assert task.needs_sandbox and "dot_product" in task.describe()


def test_unknown_problem_names_the_library() -> None:
    text = TASK.replace("reduce_dot_product", "no_such_problem")
    with pytest.raises(ConfigError) as info:
        parse_task_text(text, REPO, source="bad.yaml")
    assert "no_such_problem" in str(info.value) and "reduce_argmin" in str(info.value)
