"""PG-TD programs assembled from completions (no model) build and behave like the `sample`
path's: every library solution body passes at every np, every wrong body fails exactly at its
`wrong_fails_at`, and bodies full of nested braces (or with a helper written after the function)
compile and pass. Built and run with the host's MPICH in the local sandbox."""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import pytest

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


@pytest.mark.parametrize("name", list(PROBLEMS))
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
    assert [r.np for r in bad.runs if not r.passed] == problem.spec.wrong_fails_at, bad.feedback


def test_nested_braces_and_a_later_helper_build_and_pass(mpi_local: Sandbox) -> None:
    problem = PROBLEMS["reduce_dot_product"]
    view = MpiView(problem)
    completions = [NESTED_BODY + ENDINGS["main_after"], HELPER_BODY]
    codes = [assemble_program(view, prefill_of(view), c) for c in completions]
    for result in evaluate_many(problem, codes, mpi_local, drivers=DriverCache()):
        assert result.status == "ok" and result.passed, result.feedback
