"""Hostile MPI candidates on the real Docker sandbox: the judge, not the candidate's process,
decides a pass and measures the time (issue 13).

The candidate is linked into the program that runs at every rank, so it can print anything, exit
at will, write to any descriptor it holds and replace any symbol it likes. Each case below is a
way to look correct or fast without being so; each must fail (or, for the clock, be measured as
slow as it is) at every np, while an honest solution passes.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fixtures.needs import missing
from workbench.errors import NotSetUp
from workbench.sandbox import DockerSandbox, Limits
from workbench.tasks.mpi import (
    DriverCache,
    MpiProblem,
    check_source,
    evaluate,
    library_dir,
    load_problem,
)

pytestmark = pytest.mark.docker

HEAD = "#include <mpi.h>\n#include <unistd.h>\n#include <cstdio>\n#include <vector>\n"
SERIAL = "double s = 0; for (std::size_t i = 0; i < x.size(); ++i) s += x[i] * y[i];\n"
SIGNATURE = "double dot_product(std::vector<double> const& x, std::vector<double> const& y)"


def _candidate(body: str, extra: str = "") -> str:
    rank = "  int r = 0; MPI_Comm_rank(MPI_COMM_WORLD, &r);\n"
    return f"{HEAD}{extra}\n{SIGNATURE} {{\n{rank}{body}}}\n"


FORGERIES = {
    # the attack of the issue: the old driver's verdict and timing lines, then a clean exit
    "print-verdict-and-exit": _candidate(
        '  if (r == 0) std::printf("VALIDATION: PASS\\nTIME_CANDIDATE: 0.000000001\\n'
        'TIME_REFERENCE: 1.0\\n");\n  std::fflush(stdout);\n  _exit(0);\n'
    ),
    # right once (the problem's own seed), then the same answer: the timed trials' fresh inputs
    "memoize-first-answer": _candidate(
        f"  static bool have = false; static double memo = 0;\n"
        f"  if (!have) {{ {SERIAL} memo = s; have = true; }}\n  return memo;\n"
    ),
    # an answer of the right shape written straight to every descriptor, as the judge's wire
    # format, then exit: the judge reads it as protocol, never as a verdict
    "write-to-every-fd": _candidate(
        "  for (int fd = 0; fd < 64; ++fd) {\n"
        "    const char done = 'D'; (void)!write(fd, &done, 1);\n"
        '    (void)!write(fd, "VALIDATION: PASS\\n", 17);\n'
        "  }\n  _exit(0);\n"
    ),
    # a rank that vanishes without a word
    "exit-quietly": _candidate("  if (r == 0) _exit(0);\n  return 0;\n"),
    # correct, but leaves a thread behind that could work outside the timed call
    "leftover-thread": _candidate(
        f"  static bool started = false;\n"
        f"  if (!started) {{ started = true; std::thread([] {{ sleep(600); }}).detach(); }}\n"
        f"  {SERIAL}  double t = 0; MPI_Allreduce(&s, &t, 1, MPI_DOUBLE, MPI_MAX, "
        f"MPI_COMM_WORLD);\n  return t;\n",
        extra="#include <thread>\n",
    ),
    # correct, but leaves a child process behind
    "leftover-child": _candidate(
        f"  static bool forked = false;\n"
        f"  if (!forked && (forked = true) && fork() == 0) {{\n"
        f"    for (int fd = 0; fd < 1024; ++fd) close(fd);\n    sleep(600); _exit(0);\n  }}\n"
        f"  {SERIAL}  return s;\n"
    ),
    # the same, as a daemon: fork, setsid, fork again, the middle process exits
    "leftover-daemon": _candidate(
        f"  static bool forked = false;\n"
        f"  if (!forked && (forked = true)) {{\n"
        f"    pid_t mid = fork();\n"
        f"    if (mid == 0) {{\n      setsid();\n      if (fork() == 0) {{\n"
        f"        for (int fd = 0; fd < 1024; ++fd) close(fd);\n        sleep(600);\n      }}\n"
        f"      _exit(0);\n    }}\n    waitpid(mid, nullptr, 0);\n  }}\n"
        f"  {SERIAL}  return s;\n",
        extra="#include <sys/wait.h>\n",
    ),
}

# Slow on purpose, with its own clocks stopped: the judge's clock still sees every millisecond.
FROZEN_CLOCK = _candidate(
    f"  usleep(40000);\n  {SERIAL}  return s;\n",
    extra=(
        'extern "C" double MPI_Wtime() { return 0.0; }\n'
        'extern "C" double PMPI_Wtime() { return 0.0; }\n'
    ),
)


@pytest.fixture(scope="module")
def dot() -> MpiProblem:
    return load_problem(library_dir() / "reduce_dot_product")


@pytest.fixture(scope="module")
def sandbox() -> Iterator[DockerSandbox]:
    try:
        sb = DockerSandbox(limits=Limits(timeout_s=120, memory_mb=1024), pool_size=1)
    except NotSetUp as exc:
        missing(f"{exc} (run: workbench sandbox build)")
    yield sb
    sb.close()


@pytest.fixture(scope="module")
def drivers() -> DriverCache:
    return DriverCache()


@pytest.mark.parametrize("code", list(FORGERIES.values()), ids=list(FORGERIES))
def test_a_forged_mpi_verdict_fails_at_every_np(
    dot: MpiProblem, sandbox: DockerSandbox, drivers: DriverCache, code: str
) -> None:
    # the judge is the wall: the source check (which refuses fork) is off for these attacks
    result = evaluate(dot, code, sandbox, drivers=drivers, check=False)
    assert result.status == "failed", (result.status, result.compile_output[-800:])
    assert [r.np for r in result.runs] == dot.np
    for run in result.runs:
        assert not run.passed, (run.np, run.detail)
        assert run.time_candidate is None and run.time_reference is None


def test_the_judge_names_what_it_caught(
    dot: MpiProblem, sandbox: DockerSandbox, drivers: DriverCache
) -> None:
    def runs(name: str) -> list[str]:
        """What the judge said: of the cascade's tiny first run when that failed (then no other
        run started), else of every np."""
        result = evaluate(dot, FORGERIES[name], sandbox, drivers=drivers, check=False)
        assert len(result.runs) == len(dot.np), result.feedback
        assert result.smoke is not None
        if not result.smoke.passed:
            return [result.smoke.detail]
        return [r.detail for r in result.runs]

    assert all("fresh input" in d for d in runs("memoize-first-answer"))
    assert all("threads" in d for d in runs("leftover-thread"))
    assert all("child process" in d for d in runs("leftover-child"))
    assert all("child process" in d for d in runs("leftover-daemon"))
    # and the source check, in front of the judge, already names the fork for the model
    assert any("calls fork()" in p for p in check_source(FORGERIES["leftover-child"]))


def test_time_is_measured_from_outside(
    dot: MpiProblem, sandbox: DockerSandbox, drivers: DriverCache
) -> None:
    result = evaluate(dot, FROZEN_CLOCK, sandbox, drivers=drivers)
    assert result.passed, [r.detail for r in result.runs]
    for run in result.runs:
        assert run.time_candidate is not None and run.time_candidate >= 0.04
        assert run.time_reference is not None and run.time_reference < 0.04


def test_an_honest_solution_passes_with_the_judges_times(
    dot: MpiProblem, sandbox: DockerSandbox, drivers: DriverCache
) -> None:
    assert dot.solution is not None
    result = evaluate(dot, dot.solution, sandbox, drivers=drivers)
    assert result.passed, [r.detail for r in result.runs]
    assert all(r.time_candidate and r.time_reference for r in result.runs)
    assert drivers.builds == 1  # the driver and reference program were built once, then reused


def test_the_candidate_cannot_read_the_judge(
    dot: MpiProblem, sandbox: DockerSandbox, drivers: DriverCache
) -> None:
    peek = _candidate(
        '  FILE* f = std::fopen("/judge/spec.json", "r");\n'
        "  if (f) { std::fclose(f); return 1e300; }\n"
        f"  {SERIAL}  double t = 0; MPI_Allreduce(&s, &t, 1, MPI_DOUBLE, MPI_MAX, "
        "MPI_COMM_WORLD);\n  return t;\n"
    )
    result = evaluate(dot, peek, sandbox, drivers=drivers)
    assert result.passed, [r.detail for r in result.runs]  # fopen failed on every rank
