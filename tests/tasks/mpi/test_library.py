"""The problem library: every problem is well formed, its solution passes at every np and its
wrong solution fails exactly at the np it was written to fail at (`wrong_fails_at`), or at the
cascade's tiny first run (np 2) when that is one of them.

``pytest tests/tasks/mpi/test_library.py --mpi-library DIR`` checks a folder of your own
problems the same way (DIR/<name>/problem.yaml, ...).
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

import pytest

from tests.fixtures.mpi_checks import assert_wrong_fails_where_written
from workbench.errors import ConfigError
from workbench.sandbox import Sandbox
from workbench.tasks.mpi import check_source, evaluate, library_dir, load_library, load_problem

REQUIRED_CATEGORIES = {"reduce", "scan", "stencil", "sort", "histogram", "sparse_la"}


def library(config: pytest.Config) -> Path:
    """The folder under test: ``--mpi-library``, else tasks/mpi/."""
    chosen = config.getoption("--mpi-library")
    return Path(chosen).expanduser().resolve() if chosen else library_dir()


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """`folder`: each problem folder of the library under test (by name)."""
    if "folder" in metafunc.fixturenames:
        folders = sorted(p.parent for p in library(metafunc.config).glob("*/problem.yaml"))
        metafunc.parametrize("folder", folders, ids=[f.name for f in folders])


def test_library_covers_the_required_kinds(request: pytest.FixtureRequest) -> None:
    if library(request.config) != library_dir():
        pytest.skip("the categories the shipped library must cover; --mpi-library is a user's")
    problems = load_library()
    names = [p.name for p in problems]
    assert len(problems) >= 8
    assert len(set(names)) == len(names)
    assert {p.spec.category for p in problems} >= REQUIRED_CATEGORIES


def test_mpi_library_option_checks_a_users_folder(tmp_path: Path) -> None:
    """``--mpi-library`` runs these checks on a folder outside tasks/mpi (issue 17)."""
    import shutil
    import subprocess
    import sys

    shutil.copytree(library_dir() / "reduce_argmin", tmp_path / "reduce_argmin")
    root = Path(__file__).resolve().parents[3]
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "tests/tasks/mpi/test_library.py", "-k", "complete",
         "-p", "no:cacheprovider", "-q", "--mpi-library", str(tmp_path)],
        cwd=root, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "1 passed" in proc.stdout  # reduce_argmin from tmp_path, none of tasks/mpi


def test_problem_is_complete(folder: Path) -> None:
    problem = load_problem(folder)
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


def test_the_held_out_size_is_another_size_of_the_same_problem(tmp_path: Path) -> None:
    dot = load_problem(library_dir() / "reduce_dot_product")
    held = dot.at_held_out_size()
    assert held.spec.size == {"n": 2 * dot.spec.size["n"]}  # default: the first size doubled
    assert (held.driver, held.name, held.np) == (dot.driver, dot.name, dot.np)
    assert dot.spec.size == {"n": 100000}  # the problem itself is unchanged
    gemm = load_problem(library_dir() / "dense_gemm")
    stated = gemm.spec.model_copy(update={"held_out_size": {"m": 333, "n": 111}})
    assert dataclasses.replace(gemm, spec=stated).at_held_out_size().sizes() == [300, 333, 111]
    src = (library_dir() / "reduce_dot_product" / "problem.yaml").read_text()
    (tmp_path / "reduce_dot_product").mkdir()
    (tmp_path / "reduce_dot_product" / "problem.yaml").write_text(src + "held_out_size: {m: 5}\n")
    with pytest.raises(ConfigError, match=r"held_out_size: \['m'\] are not keys of size"):
        load_problem(tmp_path / "reduce_dot_product")


@pytest.mark.slow
def test_solution_passes_and_wrong_fails_at_its_np(folder: Path, mpi_sandbox: Sandbox) -> None:
    problem = load_problem(folder)
    name = problem.name
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

    assert good.smoke is not None and good.smoke.passed
    assert_wrong_fails_where_written(problem, bad)
