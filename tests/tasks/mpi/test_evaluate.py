"""evaluate() end to end in a real sandbox: compile errors, body-only candidates, and a hang, a
crash and a flood at some nps while the other nps still run."""

from __future__ import annotations

import dataclasses

import pytest

from workbench.sandbox import Sandbox
from workbench.tasks.mpi import (
    DriverCache,
    MpiProblem,
    SpeedGate,
    evaluate,
    library_dir,
    load_problem,
)

pytestmark = pytest.mark.slow

PRELUDE = """#include <mpi.h>
#include <cstdio>
#include <vector>

double dot_product(std::vector<double> const& x, std::vector<double> const& y) {
  int rank = 0, size = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
"""
SERIAL_TAIL = """  double s = 0.0;
  for (std::size_t i = 0; i < x.size(); ++i) s += x[i] * y[i];
  MPI_Bcast(&s, 1, MPI_DOUBLE, 0, MPI_COMM_WORLD);
  return s;
}
"""


@pytest.fixture(scope="module")
def dot() -> MpiProblem:
    problem = load_problem(library_dir() / "reduce_dot_product")
    # A short run limit keeps the hang test cheap.
    timeouts = problem.spec.timeouts.model_copy(update={"run_s": 6.0})
    spec = problem.spec.model_copy(update={"timeouts": timeouts})
    return dataclasses.replace(problem, spec=spec)


def test_compile_error_is_feedback(dot: MpiProblem, mpi_sandbox: Sandbox) -> None:
    code = PRELUDE + "  double s = undefined_name + 1;\n" + SERIAL_TAIL
    result = evaluate(dot, code, mpi_sandbox)
    assert result.status == "compile_error"
    assert not result.compiled and result.runs == []
    # The message points at the model's own line (9) thanks to #line.
    assert "candidate.cpp:9" in result.feedback
    assert "9 |   double s = undefined_name + 1;" in result.feedback  # the line it quotes


def test_wrong_signature_is_a_build_error(dot: MpiProblem, mpi_sandbox: Sandbox) -> None:
    code = "#include <mpi.h>\n#include <vector>\n"
    code += "double dot_product(std::vector<double> x, std::vector<double> y) {\n"
    code += "  MPI_Barrier(MPI_COMM_WORLD);\n  return 0;\n}\n"
    result = evaluate(dot, code, mpi_sandbox)
    assert result.status == "compile_error"
    assert "dot_product" in result.feedback


def test_body_only_candidate_runs(dot: MpiProblem, mpi_sandbox: Sandbox) -> None:
    body = "  int rank = 0;\n  MPI_Comm_rank(MPI_COMM_WORLD, &rank);\n" + SERIAL_TAIL[:-2]
    result = evaluate(dot, body, mpi_sandbox)
    assert result.status == "ok", result.feedback
    assert all(r.passed for r in result.runs)


def test_hang_times_out_at_its_np_and_the_rest_run(dot: MpiProblem, mpi_sandbox: Sandbox) -> None:
    code = (
        PRELUDE
        + """  if (size == 3 && rank == 1) {
    double v = 0.0;  // waits for a message nobody sends
    MPI_Recv(&v, 1, MPI_DOUBLE, 0, 99, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
  }
"""
        + SERIAL_TAIL
    )
    result = evaluate(dot, code, mpi_sandbox)
    by_np = {r.np: r for r in result.runs}
    assert by_np[3].status == "timeout" and not by_np[3].passed
    assert "timed out after 6 s" in by_np[3].detail
    assert by_np[3].wall_s is not None and 6 <= by_np[3].wall_s < 6 + 3
    assert all(by_np[n].passed for n in (1, 2, 4)), result.feedback
    assert result.status == "failed" and result.stage == "run"
    # the cascade: every np was checked, and nothing was timed after np=3 failed
    assert all(by_np[n].time_candidate is None for n in (1, 2, 4))
    assert "not timed, since another np failed" in by_np[1].detail


def test_a_hang_at_np_2_stops_the_cascade_at_its_tiny_first_run(
    dot: MpiProblem, mpi_sandbox: Sandbox
) -> None:
    """The smoke run (a tiny input at np 2, 5 s) catches the hang; no other run starts, so the
    evaluation takes seconds, not the 4 x 6 s of the checks."""
    code = (
        PRELUDE
        + """  if (size == 2 && rank == 1) {
    double v = 0.0;
    MPI_Recv(&v, 1, MPI_DOUBLE, 0, 99, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
  }
"""
        + SERIAL_TAIL
    )
    result = evaluate(dot, code, mpi_sandbox)
    assert result.status == "failed" and result.stage == "smoke"
    smoke = result.smoke
    assert smoke is not None and smoke.np == 2 and smoke.status == "timeout"
    assert smoke.wall_s is not None and 5 <= smoke.wall_s < 5 + 3
    assert [r.status for r in result.runs] == ["not_run"] * 4
    assert result.feedback.startswith("The first run, a tiny input at np=2, failed: timed out")
    assert result.timings["sandbox_s"] < 5 + 20  # no check and no timed run was started


def test_segfault_is_an_error_at_its_np(dot: MpiProblem, mpi_sandbox: Sandbox) -> None:
    code = (
        PRELUDE
        + """  if (size == 3 && rank == 2) {
    volatile int* p = nullptr;
    *p = 1;
  }
"""
        + SERIAL_TAIL
    )
    result = evaluate(dot, code, mpi_sandbox)
    by_np = {r.np: r for r in result.runs}
    assert by_np[3].status == "error" and not by_np[3].passed
    assert "crashed" in by_np[3].detail and "Segmentation fault" in by_np[3].detail
    assert all(by_np[n].passed for n in (1, 2, 4)), result.feedback


def test_flood_is_output_limit_at_its_np(dot: MpiProblem, mpi_sandbox: Sandbox) -> None:
    code = (
        PRELUDE
        + """  if (size == 4) {
    for (;;) std::printf("flooding the output with a long line of text, forever\\n");
  }
"""
        + SERIAL_TAIL
    )
    result = evaluate(dot, code, mpi_sandbox)
    by_np = {r.np: r for r in result.runs}
    assert by_np[4].status == "output_limit" and not by_np[4].passed
    assert all(by_np[n].passed for n in (1, 2, 3)), result.feedback
    assert result.sandbox_status == "ok"  # the sandbox itself was never overrun


def test_driver_cache_builds_the_driver_once(dot: MpiProblem, mpi_sandbox: Sandbox) -> None:
    cache = DriverCache()
    first = evaluate(dot, dot.solution or "", mpi_sandbox, drivers=cache)
    second = evaluate(dot, dot.wrong or "", mpi_sandbox, drivers=cache)
    assert cache.builds == 1 and len(cache) == 1
    assert first.status == "ok", first.feedback
    assert [r.np for r in second.runs if not r.passed] == dot.spec.wrong_fails_at
    # A compile error is still reported against the candidate's own lines.
    broken = evaluate(dot, PRELUDE + "  oops;\n" + SERIAL_TAIL, mpi_sandbox, drivers=cache)
    assert broken.status == "compile_error" and "candidate.cpp:9" in broken.feedback
    assert cache.builds == 1


def test_checked_trials_and_an_edge_case_run_at_every_np(
    dot: MpiProblem, mpi_sandbox: Sandbox
) -> None:
    """problem.yaml's `trials` and `edge` (issue 17): more seeds at the main size, and a case
    with fewer elements than ranks that a candidate assuming n >= np gets wrong."""
    spec = dot.spec.model_copy(update={"trials": 2, "edge": [{"n": 3}], "iterations": 1})
    problem = dataclasses.replace(dot, spec=spec)
    good = evaluate(problem, PRELUDE + SERIAL_TAIL, mpi_sandbox)
    assert good.status == "ok", good.feedback
    small = "  if (x.size() < 8) return 0.0;  // assumes n >= np\n"
    bad = evaluate(problem, PRELUDE + small + SERIAL_TAIL, mpi_sandbox)
    assert bad.status == "failed" and not any(r.passed for r in bad.runs)
    assert "(edge case n=3): dot_product(x, y) = 0.0, expected" in bad.feedback


def test_a_speed_gate_fails_a_correct_program_that_is_too_slow(
    dot: MpiProblem, mpi_sandbox: Sandbox
) -> None:
    """A correct program 30 ms slower than the serial reference fails at the gated np only."""
    gate = SpeedGate(min_speedup=0.5, np=[2])
    spec = dot.spec.model_copy(update={"speed_gate": gate, "iterations": 2})
    problem = dataclasses.replace(dot, spec=spec)
    nap = "  { timespec ts{0, 30000000}; nanosleep(&ts, nullptr); }  // 30 ms of nothing\n"
    slow = evaluate(problem, "#include <ctime>\n" + PRELUDE + nap + SERIAL_TAIL, mpi_sandbox)
    by_np = {r.np: r for r in slow.runs}
    assert by_np[2].detail.startswith("correct, but too slow"), slow.feedback
    assert not by_np[2].passed and slow.status == "failed"
    assert all(by_np[n].passed for n in (1, 3, 4))  # not gated there
