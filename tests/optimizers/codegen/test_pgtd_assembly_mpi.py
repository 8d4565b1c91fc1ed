"""PG-TD programs assembled from completions (no model) build and behave like the `sample`
path's: every library solution body passes at every np, every wrong body fails exactly at its
`wrong_fails_at` (or at the cascade's tiny first run, at one of them), and bodies full of nested
braces (or with a helper written after the function) compile and pass. Built and run with the
host's MPICH in the local sandbox."""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import pytest

from tests.fixtures.mpi_checks import assert_wrong_fails_where_written
from tests.fixtures.needs import missing
from tests.optimizers.codegen.test_pgtd_assembly import (
    ENDINGS,
    HELPER_BODY,
    NESTED_BODY,
    PROBLEMS,
    pgtd_completion,
    prefill_of,
)
from workbench.optimizers.codegen.pgtd import assemble_program
from workbench.optimizers.codegen.view import MpiView
from workbench.sandbox import LocalSandbox, Sandbox
from workbench.tasks.mpi import DriverCache, evaluate_many

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def mpi_local() -> Iterator[Sandbox]:
    """The local sandbox on the host's MPICH."""
    if shutil.which("mpicxx") is None or shutil.which("mpirun") is None:
        missing("host MPICH is not installed (apt-get install mpich libmpich-dev)")
    with LocalSandbox() as sandbox:
        yield sandbox


def _body_only(name: str) -> bool:
    """Whether both of the problem's sources are the function alone after their includes (a
    helper or type defined before the function cannot be a continuation of its signature)."""
    problem = PROBLEMS[name]
    for source in (problem.solution or "", problem.wrong or ""):
        head = source[: source.find(f"{problem.function}(")]
        code = [
            ln for ln in head.splitlines() if ln.strip() and not ln.lstrip().startswith(("#", "//"))
        ]
        if len(code) > 1:  # more than the return type's line
            return False
    return True


BODY_ONLY = [name for name in PROBLEMS if _body_only(name)]


def test_most_library_solutions_are_bodies() -> None:
    assert len(BODY_ONLY) >= 10 and "reduce_dot_product" in BODY_ONLY
    assert "reduce_custom_op" not in BODY_ONLY  # its struct comes before the function


@pytest.mark.parametrize("name", BODY_ONLY)
def test_library_bodies_pass_and_fail_where_they_should(name: str, mpi_local: Sandbox) -> None:
    problem = PROBLEMS[name]
    assert problem.solution is not None and problem.wrong is not None
    view = MpiView(problem)
    codes = [
        assemble_program(view, prefill_of(view), pgtd_completion(problem, src))
        for src in (problem.solution, problem.wrong)
    ]
    good, bad = evaluate_many(problem, codes, mpi_local, drivers=DriverCache())
    assert good.status == "ok" and good.passed, good.feedback
    assert [r.np for r in good.runs] == problem.np
    assert bad.compiled, bad.feedback
    assert_wrong_fails_where_written(problem, bad)


def test_nested_braces_and_a_later_helper_build_and_pass(mpi_local: Sandbox) -> None:
    problem = PROBLEMS["reduce_dot_product"]
    view = MpiView(problem)
    completions = [NESTED_BODY + ENDINGS["main_after"], HELPER_BODY]
    codes = [assemble_program(view, prefill_of(view), c) for c in completions]
    for result in evaluate_many(problem, codes, mpi_local, drivers=DriverCache()):
        assert result.status == "ok" and result.passed, result.feedback
