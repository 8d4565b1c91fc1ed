"""The problem library: every problem is well formed, its solution passes at every np and its
wrong solution fails exactly at the np it was written to fail at (`wrong_fails_at`)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from workbench.errors import ConfigError
from workbench.sandbox import Sandbox
from workbench.tasks.mpi import check_source, evaluate, library_dir, load_library, load_problem

PROBLEMS = load_library()
NAMES = [p.name for p in PROBLEMS]
REQUIRED_CATEGORIES = {"reduce", "scan", "stencil", "sort", "histogram", "sparse_la"}


def test_library_covers_the_required_kinds() -> None:
    assert len(PROBLEMS) >= 8
    assert len(set(NAMES)) == len(NAMES)
    assert {p.spec.category for p in PROBLEMS} >= REQUIRED_CATEGORIES


@pytest.mark.parametrize("name", NAMES)
def test_problem_is_complete(name: str) -> None:
    problem = load_problem(library_dir() / name)
    assert problem.solution is not None and problem.wrong is not None
    assert problem.spec.wrong_fails_at, "wrong.cpp must say where it fails"
    assert set(problem.spec.wrong_fails_at) < set(problem.np), "wrong.cpp must pass somewhere"
    assert check_source(problem.solution) == []
    assert check_source(problem.wrong) == []
    prompt = problem.prompt
    assert prompt.startswith("#include <mpi.h>")
    assert prompt.endswith(problem.signature + " {")
    assert "Assume MPI is already initialized" in prompt
    assert "Example:" in prompt


def test_load_problem_errors_name_the_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"problem\.yaml not found"):
        load_problem(tmp_path)
    (tmp_path / "problem.yaml").write_text("name: other\n")
    with pytest.raises(ConfigError, match=r"problem\.yaml: category"):
        load_problem(tmp_path)
    src = (library_dir() / "reduce_dot_product" / "problem.yaml").read_text()
    (tmp_path / "problem.yaml").write_text(src)
    with pytest.raises(ConfigError, match="must equal the folder name"):
        load_problem(tmp_path)


@pytest.mark.slow
@pytest.mark.parametrize("name", NAMES)
def test_solution_passes_and_wrong_fails_at_its_np(name: str, mpi_sandbox: Sandbox) -> None:
    problem = load_problem(library_dir() / name)
    assert problem.solution is not None and problem.wrong is not None
    t0 = time.monotonic()
    good = evaluate(problem, problem.solution, mpi_sandbox)
    t1 = time.monotonic()
    bad = evaluate(problem, problem.wrong, mpi_sandbox)
    t2 = time.monotonic()
    print(f"{name}: solution {t1 - t0:.2f} s, wrong {t2 - t1:.2f} s, timings {good.timings}")

    assert good.status == "ok", good.feedback
    assert [r.np for r in good.runs] == problem.np
    for run in good.runs:
        assert run.passed and run.time_candidate and run.time_reference, run.detail
    assert good.speedup() > 0

    assert bad.status == "failed", bad.feedback
    failed = [r.np for r in bad.runs if not r.passed]
    assert failed == problem.spec.wrong_fails_at, bad.feedback
    for run in bad.runs:
        if not run.passed:  # wrong numbers, not a crash or a hang
            assert run.status == "ok" and run.detail.startswith("wrong result"), run.detail
