"""Parsing the run script's output, per-np statuses, MpiResult, and evaluate's control flow.

These use `FunctionSandbox` (no process runs): the fake plays the script's output format.
"""

from __future__ import annotations

import json
import re

import pytest

from workbench.sandbox import ExecResult, FunctionSandbox, RunRequest
from workbench.tasks.mpi import (
    MpiResult,
    NpResult,
    build_request,
    evaluate,
    evaluate_many,
    library_dir,
    load_problem,
    parse_output,
    parse_run,
)
from workbench.tasks.mpi.parse import STDOUT_CAP
from workbench.tasks.mpi.problem import MpiProblem

PASS = "VALIDATION: PASS \nTIME_CANDIDATE: 0.002\nTIME_REFERENCE: 0.004\n"


@pytest.fixture(scope="module")
def dot() -> MpiProblem:
    return load_problem(library_dir() / "reduce_dot_product")


def marker_of(req: RunRequest) -> str:
    m = re.search(r"^M='(.*)'$", str(req.files["run.sh"]), re.MULTILINE)
    assert m, "run.sh declares its marker"
    return m.group(1)


def script_output(marker: str, compile_rc: int, runs: dict[int, tuple[int, str, str]]) -> str:
    """What run.sh prints: the compile section, then per np a RUN/STDERR/END section."""
    out = [
        f"{marker} COMPILE\nwarning: unused\n{marker} COMPILE_END rc={compile_rc} "
        "start=10.0 end=11.5\n"
    ]
    for np, (rc, stdout, stderr) in runs.items():
        out.append(
            f"{marker} RUN np={np} rc={rc} start=20.0 end=20.5 out={len(stdout)} "
            f"err={len(stderr)}\n{stdout}\n{marker} STDERR np={np}\n{stderr}\n"
            f"{marker} END np={np}\n"
        )
    return "".join(out)


def test_parse_run_pass_reads_times() -> None:
    r = parse_run(PASS, "", 0, "ok", np=2, wall_s=0.3)
    assert r.passed and r.np == 2
    assert (r.time_candidate, r.time_reference) == (0.002, 0.004)


def test_parse_run_fail_carries_the_driver_detail() -> None:
    r = parse_run("VALIDATION: FAIL on rank 0 at np=3: y[9] = 0, expected 1\n", "", 0, "ok", np=3)
    assert not r.passed
    assert r.detail == "wrong result: on rank 0 at np=3: y[9] = 0, expected 1"
    assert r.time_candidate is None


def test_parse_run_refuses_spoofed_or_missing_lines() -> None:
    spoofed = parse_run("VALIDATION: PASS \n" + PASS, "", 0, "ok", np=1)
    assert not spoofed.passed and "more than one VALIDATION" in spoofed.detail
    missing = parse_run("hello\n", "", 0, "ok", np=1)
    assert not missing.passed and "no VALIDATION line" in missing.detail
    no_times = parse_run("VALIDATION: PASS \n", "", 0, "ok", np=1)
    assert not no_times.passed and "timing" in no_times.detail


def test_parse_run_statuses() -> None:
    t = parse_run("", "", 124, "timeout", np=2, timeout_s=10)
    assert not t.passed and t.detail.startswith("timed out after 10 s")
    crash = parse_run(
        "VALIDATION: PASS \n",
        "=====\nYOUR APPLICATION TERMINATED WITH THE EXIT STRING: Segmentation fault (signal 11)\n",
        11,
        "error",
        np=2,
    )
    assert not crash.passed
    assert crash.detail.startswith("crashed (Segmentation fault (signal 11))")
    flood = parse_run("x" * 100, "", 141, "output_limit", np=3)
    assert not flood.passed and "printed more than" in flood.detail
    assert parse_run("", "", None, "not_run", np=4).detail.startswith("not run")


def test_parse_output_splits_sections(dot: MpiProblem) -> None:
    marker = build_request(dot, "x").marker
    text = script_output(marker, 0, {1: (0, PASS, ""), 2: (124, "partial", "killed")})
    parsed = parse_output(text, marker)
    assert parsed.compile_rc == 0 and parsed.compile_s == pytest.approx(1.5)
    assert parsed.compile_output == "warning: unused"
    assert sorted(parsed.runs) == [1, 2]
    assert parsed.runs[1].stdout == PASS and parsed.runs[1].exit_code == 0
    assert parsed.runs[2].stderr == "killed" and parsed.runs[2].wall_s == pytest.approx(0.5)


def test_evaluate_maps_each_np(dot: MpiProblem) -> None:
    flood = "y" * (STDOUT_CAP + 1)

    def fake(req: RunRequest) -> ExecResult:
        m = marker_of(req)
        runs = {
            1: (0, PASS, ""),
            2: (0, "VALIDATION: FAIL on rank 0 at np=2: x = 1, expected 2\n", ""),
            3: (141, flood, ""),
        }
        text = script_output(m, 0, runs)
        # np=4 timed out: its section reports rc=124 after the run limit.
        text += f"{m} RUN np=4 rc=124 start=0 end=15.2 out=0 err=0\n\n{m} STDERR np=4\n\n"
        return FunctionSandbox.result(stdout=text)

    result = evaluate(dot, dot.solution or "", FunctionSandbox(fake))
    assert result.status == "failed"
    assert [r.status for r in result.runs] == ["ok", "ok", "output_limit", "timeout"]
    assert [r.passed for r in result.runs] == [True, False, False, False]
    assert "np=2: wrong result" in result.feedback
    assert "np=4: timed out after 15 s" in result.feedback
    assert result.speedup() == 0.0  # not correct at every np


def test_rejected_code_never_reaches_the_sandbox(dot: MpiProblem) -> None:
    sandbox = FunctionSandbox(lambda req: "")
    result = evaluate(dot, "int main() { MPI_Init(0, 0); }", sandbox)
    assert result.status == "rejected"
    assert sandbox.calls == []
    assert "MPI_Init" in result.feedback and "main()" in result.feedback


def test_sandbox_stop_before_build_is_an_error(dot: MpiProblem) -> None:
    def fake(req: RunRequest) -> ExecResult:
        return FunctionSandbox.result(
            status="timeout", exit_code=None, stdout=f"{marker_of(req)} COMPILE\n"
        )

    result = evaluate(dot, dot.solution or "", FunctionSandbox(fake))
    assert result.status == "error"
    assert "status timeout" in result.feedback


def test_nps_after_a_sandbox_stop_are_not_run(dot: MpiProblem) -> None:
    def fake(req: RunRequest) -> ExecResult:
        return FunctionSandbox.result(
            status="timeout", stdout=script_output(marker_of(req), 0, {1: (0, PASS, "")})
        )

    result = evaluate(dot, dot.solution or "", FunctionSandbox(fake))
    assert [r.status for r in result.runs] == ["ok", "not_run", "not_run", "not_run"]
    assert result.status == "failed"


def test_speedup_uses_the_best_reference_time() -> None:
    runs = [
        NpResult(np=1, passed=True, time_candidate=0.010, time_reference=0.008, detail="PASS"),
        NpResult(np=2, passed=True, time_candidate=0.004, time_reference=0.012, detail="PASS"),
    ]
    result = MpiResult(problem="p", status="ok", runs=runs)
    assert result.reference_time() == 0.008
    assert result.speedup() == pytest.approx(2.0)  # largest np by default
    assert result.speedup(1) == pytest.approx(0.8)
    assert result.best_speedup() == pytest.approx(2.0)
    assert result.to_dict()["speedup"] == pytest.approx(2.0)
    again = MpiResult.from_dict(json.loads(json.dumps(result.to_dict())))
    assert again == result
    assert MpiResult(problem="p", status="failed", runs=runs).speedup() == 0.0


def test_driver_object_is_linked_not_rebuilt(dot: MpiProblem) -> None:
    request = build_request(dot, "x", driver_object=b"\x7fELF...")
    assert request.files["driver.o"] == b"\x7fELF..."
    assert request.compile_command[-4:] == ["-o", "prog", "driver.o", "candidate.cpp"]
    assert "driver.o candidate.cpp" in str(request.files["run.sh"])


def test_evaluate_many_keeps_order_and_batches(dot: MpiProblem) -> None:
    def fake(req: RunRequest) -> ExecResult:
        ok = "good" in str(req.files["candidate.cpp"])
        out = PASS if ok else "VALIDATION: FAIL on rank 0 at np=1: x = 0, expected 1\n"
        runs = {n: (0, out, "") for n in dot.np}
        return FunctionSandbox.result(stdout=script_output(marker_of(req), 0, runs))

    sandbox = FunctionSandbox(fake)
    body = "MPI_Barrier(MPI_COMM_WORLD); return 0; // "
    results = evaluate_many(dot, [body + "good", "return 0;", body + "bad"], sandbox)
    assert [r.status for r in results] == ["ok", "rejected", "failed"]
    assert len(sandbox.calls) == 2  # the rejected one never reached the sandbox
    assert all(call.limits is not None and call.limits.cpus >= 1 for call in sandbox.calls)
