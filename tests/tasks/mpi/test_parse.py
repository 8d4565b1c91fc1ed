"""Parsing the run script's output, per-np statuses, the judge's verdict, MpiResult, and
evaluate's control flow.

These use `FunctionSandbox` (no process runs): the fake plays the script's output format and the
judge's verdict (`ExecResult.verdict`). Only the verdict can make a run pass; what the program
prints only explains a failure.
"""

from __future__ import annotations

import dataclasses
import json
import re
from importlib import resources
from typing import Any

import pytest

from workbench.sandbox import ExecResult, FunctionSandbox, RunRequest, Status
from workbench.tasks.mpi import (
    MpiResult,
    NpResult,
    NpStatus,
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

# What the old driver printed: now it is only text, whatever the program says.
PRINTED_PASS = "VALIDATION: PASS \nTIME_CANDIDATE: 0.002\nTIME_REFERENCE: 0.004\n"


@pytest.fixture(scope="module")
def dot() -> MpiProblem:
    return load_problem(library_dir() / "reduce_dot_product")


def marker_of(req: RunRequest) -> str:
    m = re.search(r"^M='(.*)'$", str(req.files["run.sh"]), re.MULTILINE)
    assert m, "run.sh declares its marker"
    return m.group(1)


CLEAN = (0, "", "")


def script_output(
    marker: str,
    compile_rc: int,
    runs: dict[Any, tuple[int, str, str]],
    *,
    smoke: tuple[int, str, str] | None = CLEAN,
) -> str:
    """What run.sh prints: the compile section, then per step of the cascade a RUN/STDERR/END
    section: the smoke run at np 2 (unless None, or the build failed), then `runs`, keyed by
    (stage, np) or by np for the checks."""
    out = [
        f"{marker} COMPILE\nwarning: unused\n{marker} COMPILE_END rc={compile_rc} "
        "start=10.0 end=11.5\n"
    ]
    steps = {("smoke", 2): smoke} if smoke is not None and compile_rc == 0 else {}
    steps.update({k if isinstance(k, tuple) else ("check", k): v for k, v in runs.items()})
    for (stage, np), (rc, stdout, stderr) in steps.items():
        out.append(
            f"{marker} RUN stage={stage} np={np} rc={rc} start=20.0 end=20.5 out={len(stdout)} "
            f"err={len(stderr)}\n{stdout}\n{marker} STDERR stage={stage} np={np}\n{stderr}\n"
            f"{marker} END stage={stage} np={np}\n"
        )
    return "".join(out)


def judged(
    reason: str = "passed",
    detail: str = "validated on every trial",
    time_candidate: float | None = 0.002,
    trials: int = 6,
) -> dict[str, Any]:
    """The judge's result for one step (a timed one, unless `time_candidate` is None)."""
    passed = reason == "passed"
    return {
        "passed": passed,
        "reason": reason,
        "detail": detail,
        "time_candidate": time_candidate if passed else None,
        "times": [time_candidate] * trials if passed and time_candidate else [],
        "trials": trials,
    }


PASSED = judged(time_candidate=None, trials=2)  # the checked trials of one np
TIMED = judged(trials=3)  # the timed trials of one np
SMOKED = judged(time_candidate=None, trials=1)
WRONG = judged("wrong", "on rank 0 at np=2 (timed trial 3, a fresh input): x = 1.0, expected 2.0")


def verdict(
    runs: dict[Any, dict[str, Any]] | None = None,
    *,
    time_reference: float | None = 0.004,
    error: str | None = None,
    built: bool = True,
    smoke: dict[str, Any] | None = SMOKED,
) -> bytes:
    """What the judge prints: `runs` keyed by "<stage>:<np>" or by np for the checks, after
    the smoke run's result (unless None)."""
    steps = {"smoke:2": smoke} if smoke is not None and runs else {}
    steps.update({k if isinstance(k, str) else f"check:{k}": v for k, v in (runs or {}).items()})
    return json.dumps(
        {"built": built, "error": error, "time_reference": time_reference, "runs": steps}
    ).encode()


def result(
    stdout: str,
    judge_verdict: bytes | None,
    status: Status = "ok",
    *,
    exit_code: int | None = None,
    judge_stderr: str = "",
) -> ExecResult:
    base = FunctionSandbox.result(status, stdout=stdout, exit_code=exit_code)
    return dataclasses.replace(base, verdict=judge_verdict, judge_stderr=judge_stderr)


# -- parse_run: one np ----------------------------------------------------------------------------


def test_parse_run_pass_takes_the_times_from_the_verdict() -> None:
    r = parse_run("", "", 0, "ok", np=2, judged=TIMED, time_reference=0.004, wall_s=0.3)
    assert r.passed and r.np == 2
    assert (r.time_candidate, r.time_reference, r.times) == (0.002, 0.004, [0.002] * 3)
    assert r.detail == "PASS (validated by the judge on 3 trials)"
    assert r.wall_s == 0.3
    checked = parse_run("", "", 0, "ok", np=2, judged=PASSED, time_reference=0.004)
    assert checked.passed and (checked.time_candidate, checked.time_reference) == (None, None)


def test_parse_run_speed_gate_fails_a_correct_but_slow_run() -> None:
    """Validated at speedup 2.0 (reference 4 ms, candidate 2 ms): the gate decides (issue 17)."""
    ok = parse_run("", "", 0, "ok", np=2, judged=TIMED, time_reference=0.004, min_speedup=1.5)
    assert ok.passed and ok.detail.startswith("PASS")
    slow = parse_run("", "", 0, "ok", np=2, judged=TIMED, time_reference=0.004, min_speedup=3.0)
    assert not slow.passed and slow.status == "ok"
    assert slow.detail.startswith("correct, but too slow: speedup 2.00 over the serial reference")
    assert "below the problem's gate of 3 at np=2" in slow.detail
    assert (slow.time_candidate, slow.time_reference) == (0.002, 0.004)  # kept for the record
    wrong = parse_run("", "", 0, "ok", np=2, judged=WRONG, time_reference=0.004, min_speedup=3.0)
    assert not wrong.passed and wrong.detail.startswith("wrong result")


def test_parse_run_printed_lines_count_for_nothing() -> None:
    # the program printed the old verdict and better times than the judge measured
    r = parse_run(PRINTED_PASS, "", 0, "ok", np=2, judged=judged(time_candidate=0.5))
    assert r.passed and r.time_candidate == 0.5 and r.time_reference is None
    assert r.stdout == PRINTED_PASS  # kept, as the program's output


def test_printed_pass_with_a_wrong_verdict_does_not_pass() -> None:
    r = parse_run(PRINTED_PASS, "", 0, "ok", np=2, judged=WRONG, time_reference=0.004)
    assert not r.passed
    assert r.detail == f"wrong result: {WRONG['detail']}"
    assert (r.time_candidate, r.time_reference) == (None, None)


def test_printed_pass_without_a_verdict_does_not_pass() -> None:
    r = parse_run(PRINTED_PASS, "", 0, "ok", np=2, judged=None, time_reference=0.004)
    assert not r.passed
    assert r.detail == "the judge gave no verdict for this np"
    assert (r.time_candidate, r.time_reference) == (None, None)


def test_a_pass_needs_a_clean_end_of_the_run() -> None:
    stderr = "=====\nYOUR APPLICATION TERMINATED WITH THE EXIT STRING: Killed (signal 9)\n"
    crash = parse_run("", stderr, 9, "error", np=2, judged=PASSED, time_reference=0.004)
    assert not crash.passed and crash.time_candidate is None
    assert crash.detail.startswith("crashed (Killed (signal 9))")
    for status in ("timeout", "oom", "output_limit", "not_run"):
        r = parse_run("", "", 1, status, np=2, judged=PASSED, time_reference=0.004)
        assert not r.passed, status
        assert (r.time_candidate, r.time_reference) == (None, None)


def test_a_run_that_ended_early_with_exit_zero() -> None:
    ended = judged("ended", "rank 0 ended (crashed or exited) before its run was over")
    r = parse_run("", "", 0, "ok", np=3, judged=ended)
    assert not r.passed
    assert r.detail == (
        "rank 0 ended (crashed or exited) before its run was over (did the function end the "
        "program?)"
    )


@pytest.mark.parametrize(
    ("reason", "prefix"), [("wrong", "wrong result: "), ("protocol", ""), ("leftover", "")]
)
@pytest.mark.parametrize(("status", "rc"), [("ok", 0), ("error", 11), ("timeout", 124)])
def test_the_judge_reason_comes_before_the_run_status(
    reason: str, prefix: str, status: NpStatus, rc: int
) -> None:
    what = judged(reason, f"what the judge saw ({reason})")
    stderr = "YOUR APPLICATION TERMINATED WITH THE EXIT STRING: Segmentation fault (signal 11)\n"
    r = parse_run("", stderr, rc, status, np=2, judged=what, timeout_s=10)
    assert not r.passed
    assert r.detail == f"{prefix}what the judge saw ({reason})"
    assert r.status == status


def test_parse_run_statuses() -> None:
    t = parse_run("", "", 124, "timeout", np=2, timeout_s=10)
    assert not t.passed and t.detail.startswith("timed out after 10 s")
    # the run ended late but the judge's own deadline came first: still a timeout
    late = judged("timeout", "no answer from every rank within 10 s (in trial 2)")
    judge_timeout = parse_run("", "", 0, "ok", np=2, judged=late, timeout_s=10)
    assert not judge_timeout.passed and judge_timeout.detail.startswith("timed out after 10 s")
    ended = judged("ended", "rank 1 ended (crashed or exited) before its run was over")
    crash = parse_run(
        PRINTED_PASS,
        "=====\nYOUR APPLICATION TERMINATED WITH THE EXIT STRING: Segmentation fault (signal 11)\n",
        11,
        "error",
        np=2,
        judged=ended,
    )
    assert not crash.passed
    assert crash.detail.startswith("crashed (Segmentation fault (signal 11))")
    flood = parse_run("x" * 100, "", 141, "output_limit", np=3, judged=ended)
    assert not flood.passed and "printed more than" in flood.detail
    oom = parse_run("", "", 137, "oom", np=3)
    assert not oom.passed and "memory limit" in oom.detail
    assert parse_run("", "", None, "not_run", np=4).detail.startswith("not run")


# -- the script's sections ------------------------------------------------------------------------


def test_parse_output_splits_sections(dot: MpiProblem) -> None:
    marker = build_request(dot, "x").marker
    text = script_output(marker, 0, {1: (0, PRINTED_PASS, ""), 2: (124, "partial", "killed")})
    parsed = parse_output(text, marker)
    assert parsed.compile_rc == 0 and parsed.compile_s == pytest.approx(1.5)
    assert parsed.compile_output == "warning: unused"
    assert list(parsed.runs) == [("smoke", 2), ("check", 1), ("check", 2)]
    one, two = parsed.runs["check", 1], parsed.runs["check", 2]
    assert one.stdout == PRINTED_PASS and one.exit_code == 0 and one.stage == "check"
    assert two.stderr == "killed" and two.wall_s == pytest.approx(0.5)


# -- build_request: the script and the judge -----------------------------------------------------


def test_the_request_carries_the_judge(dot: MpiProblem) -> None:
    request = build_request(dot, "x")
    judge = request.judge
    assert list(judge.command) == ["python3", "judge.py"]
    source = resources.files("workbench.tasks.mpi").joinpath("_judge.py").read_text("utf-8")
    assert judge.files["judge.py"] == source
    spec = json.loads(str(judge.files["spec.json"]))
    assert spec["np"] == dot.np == [1, 2, 3, 4]
    n = dot.spec.size["n"]
    assert spec["checks"] == [{"seed": 11, "sizes": [n], "label": ""}]
    assert spec["timed"] == {"count": dot.spec.iterations, "sizes": [n]} and n > 4
    assert spec["run_s"] == dot.spec.timeouts.run_s == 15
    # the cascade's first run: a tiny input (the sizes capped at 64) at np 2, a short limit
    assert spec["smoke"] == {
        "np": 2,
        "seed": 11,
        "sizes": [64],
        "label": "a tiny input: n=64",
        "s": dot.spec.timeouts.smoke_s,
    }
    assert spec["build_s"] == dot.spec.timeouts.compile_s
    assert spec["build"][0] == "mpicxx" and "-DWB_JUDGE" in spec["build"]
    assert spec["build"][-3:] == ["-o", "refprog.bin", "driver.cpp"]
    # without a prebuilt reference program, the judge builds it from the driver's sources
    assert judge.files["driver.cpp"] == dot.driver
    assert judge.files["reference.hpp"] == dot.reference
    assert {"wb_driver.hpp", "wb_candidate.hpp"} <= set(judge.files)
    assert "refprog" not in judge.files


def test_a_prebuilt_reference_program_replaces_the_sources(dot: MpiProblem) -> None:
    request = build_request(dot, "x", refprog=b"\x7fELF-ref")
    files = request.judge.files
    assert files["refprog"] == b"\x7fELF-ref"
    assert "driver.cpp" not in files and "reference.hpp" not in files
    assert {"judge.py", "spec.json"} <= set(files)
    assert "refprog" not in request.files  # the candidate never sees it


def test_driver_object_is_linked_not_rebuilt(dot: MpiProblem) -> None:
    request = build_request(dot, "x", driver_object=b"\x7fELF...")
    assert request.files["driver.o"] == b"\x7fELF..."
    assert "wb_candidate.hpp" in request.files
    # the driver's and the reference's sources are not in the candidate's directory
    assert "driver.cpp" not in request.files and "reference.hpp" not in request.files
    assert request.compile_command[-4:] == ["-o", "prog", "driver.o", "wb_unit.cpp"]
    assert "driver.o wb_unit.cpp" in str(request.files["run.sh"])
    assert request.files["candidate.cpp"] == "x"  # the model's code as written


def test_run_sh_talks_to_the_judge_on_fd_3(dot: MpiProblem) -> None:
    script = str(build_request(dot, "x").files["run.sh"]).splitlines()
    compile_line = next(i for i, ln in enumerate(script) if "mpicxx" in ln)
    assert script[compile_line].endswith("3<&-")  # the compiler never holds the judge's socket
    built = script.index("echo built >&3")
    read = next(i for i, ln in enumerate(script) if ln.startswith("read -r WB_JUDGE <&3"))
    loop = script.index("while read -r cmd stage n t <&3; do")
    run = next(i for i, ln in enumerate(script) if "mpirun" in ln)
    assert compile_line < built < read < loop < run < script.index("  echo next >&3")
    assert "export WB_JUDGE" in script[read:loop]
    # only after a successful build: the judge must not wait for a program that is not there
    assert script[built - 1] == '[ "$rc" -eq 0 ] || exit 0'
    # one mpirun, at the np and under the limit the judge names for each step of the cascade;
    # it runs with fd 3 pointing at its stdout pipe, not at the judge's socket
    assert [ln for ln in script if "mpirun" in ln] == [script[run]]
    assert (
        'timeout -k 2 "$t" env UCX_TLS=self,sm mpirun -launcher fork -np "$n" ./prog'
        in (script[run])
    )
    assert "} 3>&1 |" in script[run]
    assert script[loop + 1] == '  [ "$cmd" = run ] || break'  # "end" (or anything else) ends it


# -- evaluate: the verdict and the sections together ---------------------------------------------


def test_evaluate_maps_each_np(dot: MpiProblem) -> None:
    flood = "y" * (STDOUT_CAP + 1)
    ended = judged("ended", "rank 0 ended (crashed or exited) before its run was over")
    late = judged("timeout", "no answer from every rank within 15 s (in trial 1)")

    def fake(req: RunRequest) -> ExecResult:
        m = marker_of(req)
        runs = {1: (0, "", ""), 2: (0, PRINTED_PASS, ""), 3: (141, flood, "")}
        text = script_output(m, 0, runs)
        # np=4 timed out: its section reports rc=124 after the run limit.
        text += (
            f"{m} RUN stage=check np=4 rc=124 start=0 end=15.2 out=0 err=0\n\n"
            f"{m} STDERR stage=check np=4\n\n"
        )
        return result(text, verdict({1: PASSED, 2: WRONG, 3: ended, 4: late}))

    sandbox = FunctionSandbox(fake)
    result_ = evaluate(dot, dot.solution or "", sandbox)
    assert len(sandbox.calls) == 1
    judge = sandbox.calls[0].judge
    assert judge is not None and "judge.py" in judge.files
    assert result_.status == "failed"
    assert [r.status for r in result_.runs] == ["ok", "ok", "output_limit", "timeout"]
    assert [r.passed for r in result_.runs] == [True, False, False, False]
    # np=1 passed its checks; nothing was timed, since the others failed theirs
    assert (result_.runs[0].time_candidate, result_.runs[0].time_reference) == (None, None)
    assert result_.runs[0].detail.endswith("; not timed, since another np failed")
    assert result_.stage == "run" and result_.smoke is not None and result_.smoke.passed
    assert f"np=2: wrong result: {WRONG['detail']}" in result_.feedback
    assert "np=3: printed more than" in result_.feedback
    assert "np=4: timed out after 15 s" in result_.feedback
    assert result_.speedup() == 0.0  # not correct at every np


def test_evaluate_passes_on_the_verdict(dot: MpiProblem) -> None:
    times = {1: 0.008, 2: 0.004, 3: 0.003, 4: 0.002}

    def fake(req: RunRequest) -> ExecResult:
        steps = {**{n: CLEAN for n in dot.np}, **{("time", n): CLEAN for n in dot.np}}
        text = script_output(marker_of(req), 0, steps)
        runs = {
            **{n: PASSED for n in dot.np},
            **{f"time:{n}": judged(time_candidate=t) for n, t in times.items()},
        }
        return result(text, verdict(runs, time_reference=0.006))

    result_ = evaluate(dot, dot.solution or "", FunctionSandbox(fake))
    assert result_.status == "ok" and result_.passed and result_.stage is None
    assert [r.time_candidate for r in result_.runs] == [times[n] for n in dot.np]
    assert all(r.time_reference == 0.006 for r in result_.runs)
    assert result_.runs[0].times == [0.008] * 6
    assert result_.runs[0].detail == "PASS (validated by the judge on 2 checked and 6 timed trials)"
    assert result_.speedup() == pytest.approx(3.0)  # 0.006 / 0.002 at np=4
    assert result_.speedup(1) == pytest.approx(0.75)
    assert result_.timings["compile_s"] == pytest.approx(1.5)
    assert result_.timings["smoke_s"] == pytest.approx(0.5)
    assert result_.timings["run_np4_s"] == pytest.approx(1.0)  # its checks, then its timing


def test_printed_pass_lines_cannot_pass_an_evaluation(dot: MpiProblem) -> None:
    # every np printed the old verdict and exited 0; the judge saw a wrong answer at np=3 and
    # nothing at all at np=4
    def fake(req: RunRequest) -> ExecResult:
        text = script_output(marker_of(req), 0, {n: (0, PRINTED_PASS, "") for n in dot.np})
        return result(text, verdict({1: PASSED, 2: PASSED, 3: WRONG}))

    result_ = evaluate(dot, dot.solution or "", FunctionSandbox(fake))
    assert result_.status == "failed" and result_.speedup() == 0.0
    assert [r.passed for r in result_.runs] == [True, True, False, False]
    assert result_.runs[2].detail.startswith("wrong result")
    assert result_.runs[3].detail == "the judge gave no verdict for this np"
    assert result_.runs[3].time_candidate is None


@pytest.mark.parametrize(
    "judge_verdict", [None, b"", b"not json", b"[1, 2]"], ids=["none", "empty", "text", "list"]
)
@pytest.mark.parametrize("status", ["ok", "error", "oom"])
def test_no_verdict_after_a_build_is_an_error(
    dot: MpiProblem, judge_verdict: bytes | None, status: Status
) -> None:
    def fake(req: RunRequest) -> ExecResult:
        text = script_output(marker_of(req), 0, {n: (0, PRINTED_PASS, "") for n in dot.np})
        return result(text, judge_verdict, status, judge_stderr="Traceback: judge.py boom")

    result_ = evaluate(dot, dot.solution or "", FunctionSandbox(fake))
    assert result_.status == "error" and not result_.passed
    assert "the judge failed" in result_.feedback
    assert f"sandbox status {status}" in result_.feedback
    assert "judge.py boom" in result_.feedback  # the judge's stderr explains it
    assert result_.runs == []


def test_a_judge_error_is_an_evaluation_error(dot: MpiProblem) -> None:
    why = "building the reference program failed:\nrefprog.cpp:1: error"

    def fake(req: RunRequest) -> ExecResult:
        text = script_output(marker_of(req), 0, {n: (0, PRINTED_PASS, "") for n in dot.np})
        return result(text, verdict({n: PASSED for n in dot.np}, error=why))

    result_ = evaluate(dot, dot.solution or "", FunctionSandbox(fake))
    assert result_.status == "error"
    assert "the judge failed" in result_.feedback and why in result_.feedback


def test_a_judge_error_before_the_candidate_built(dot: MpiProblem) -> None:
    # the judge failed first: the evaluation could not run, whatever the compiler said
    def fake(req: RunRequest) -> ExecResult:
        return result(script_output(marker_of(req), 1, {}), verdict(error="boom", built=False))

    result_ = evaluate(dot, dot.solution or "", FunctionSandbox(fake))
    assert result_.status == "error" and "the judge failed: boom" in result_.feedback


def test_no_verdict_after_a_whole_call_timeout_fails_each_np(dot: MpiProblem) -> None:
    def fake(req: RunRequest) -> ExecResult:
        text = script_output(marker_of(req), 0, {1: (0, PRINTED_PASS, "")})
        return result(text, None, "timeout", exit_code=None)

    result_ = evaluate(dot, dot.solution or "", FunctionSandbox(fake))
    assert result_.status == "failed"  # not "error": the model's run took the time
    assert result_.smoke is not None and not result_.smoke.passed
    assert result_.smoke.detail == "the judge gave no verdict for this np"
    assert [r.status for r in result_.runs] == ["not_run"] * 4
    assert not any(r.passed for r in result_.runs)


def test_compile_error_is_not_a_judge_failure(dot: MpiProblem) -> None:
    def fake(req: RunRequest) -> ExecResult:
        text = script_output(marker_of(req), 1, {})
        return result(text, verdict(built=False, time_reference=None))

    result_ = evaluate(dot, dot.solution or "", FunctionSandbox(fake))
    assert result_.status == "compile_error" and result_.runs == []
    assert "warning: unused" in result_.feedback


def test_compile_timeout_says_so(dot: MpiProblem) -> None:
    def fake(req: RunRequest) -> ExecResult:
        return result(script_output(marker_of(req), 124, {}), verdict(built=False))

    result_ = evaluate(dot, dot.solution or "", FunctionSandbox(fake))
    assert result_.status == "compile_error"
    assert "compilation timed out after 60 s" in result_.feedback


def test_rejected_code_never_reaches_the_sandbox(dot: MpiProblem) -> None:
    sandbox = FunctionSandbox(lambda req: "")
    result_ = evaluate(dot, "int main() { MPI_Init(0, 0); }", sandbox)
    assert result_.status == "rejected"
    assert sandbox.calls == []
    assert "MPI_Init" in result_.feedback and "main()" in result_.feedback


def test_sandbox_stop_before_build_is_an_error(dot: MpiProblem) -> None:
    def fake(req: RunRequest) -> ExecResult:
        return result(f"{marker_of(req)} COMPILE\n", None, "timeout", exit_code=None)

    result_ = evaluate(dot, dot.solution or "", FunctionSandbox(fake))
    assert result_.status == "error"
    assert "status timeout" in result_.feedback
    assert "the judge failed" not in result_.feedback  # the sandbox, not the judge, stopped


def test_nps_after_a_sandbox_stop_are_not_run(dot: MpiProblem) -> None:
    # the judge answered for np=1, then the whole call stopped
    def fake(req: RunRequest) -> ExecResult:
        text = script_output(marker_of(req), 0, {1: (0, "", "")})
        runs = {1: PASSED, **{n: judged("not_run", f"no rank at np={n}") for n in (2, 3, 4)}}
        return result(text, verdict(runs), "timeout")

    result_ = evaluate(dot, dot.solution or "", FunctionSandbox(fake))
    assert [r.status for r in result_.runs] == ["ok", "not_run", "not_run", "not_run"]
    assert [r.passed for r in result_.runs] == [True, False, False, False]
    assert all(r.detail.startswith("not run") for r in result_.runs[1:])
    assert result_.status == "failed"


def test_speedup_uses_the_best_reference_time() -> None:
    runs = [
        NpResult(np=1, passed=True, time_candidate=0.010, time_reference=0.008, detail="PASS"),
        NpResult(np=2, passed=True, time_candidate=0.004, time_reference=0.012, detail="PASS"),
    ]
    result_ = MpiResult(problem="p", status="ok", runs=runs)
    assert result_.reference_time() == 0.008
    assert result_.speedup() == pytest.approx(2.0)  # largest np by default
    assert result_.speedup(1) == pytest.approx(0.8)
    assert result_.best_speedup() == pytest.approx(2.0)
    assert result_.to_dict()["speedup"] == pytest.approx(2.0)
    again = MpiResult.from_dict(json.loads(json.dumps(result_.to_dict())))
    assert again == result_
    assert MpiResult(problem="p", status="failed", runs=runs).speedup() == 0.0


def test_evaluate_many_keeps_order_and_batches(dot: MpiProblem) -> None:
    def fake(req: RunRequest) -> ExecResult:
        ok = "good" in str(req.files["candidate.cpp"])
        # both print the old PASS lines; only the judge tells them apart
        steps: dict[Any, Any] = {n: (0, PRINTED_PASS, "") for n in dot.np}
        runs: dict[Any, Any] = {n: PASSED if ok else WRONG for n in dot.np}
        if ok:
            steps.update({("time", n): CLEAN for n in dot.np})
            runs.update({f"time:{n}": TIMED for n in dot.np})
        return result(script_output(marker_of(req), 0, steps), verdict(runs))

    sandbox = FunctionSandbox(fake)
    body = "MPI_Barrier(MPI_COMM_WORLD); return 0; // "
    results = evaluate_many(dot, [body + "good", "return 0;", body + "bad"], sandbox)
    assert [r.status for r in results] == ["ok", "rejected", "failed"]
    assert len(sandbox.calls) == 2  # the rejected one never reached the sandbox
    assert all(call.limits is not None and call.limits.cpus >= 1 for call in sandbox.calls)
    # each call carries its own judge with the problem's spec
    for call in sandbox.calls:
        assert call.judge is not None
        assert json.loads(str(call.judge.files["spec.json"]))["np"] == dot.np


def _np(np: int, passed: bool, detail: str, status: Any = "ok") -> NpResult:
    return NpResult(np=np, passed=passed, time_candidate=None, time_reference=None,
                    detail=detail, status=status)  # fmt: skip


def test_stage_is_the_first_step_of_the_cascade_that_failed() -> None:
    ok, wrong = _np(1, True, "PASS"), _np(2, False, "wrong result: x = 1.0, expected 2.0")
    slow = _np(2, False, "correct, but too slow: speedup 0.10 over the serial reference")
    hang = _np(3, False, "timed out after 6 s", "timeout")
    crash = _np(4, False, "crashed (signal 11 SIGSEGV)", "error")
    stage = lambda status, *runs: MpiResult("p", status, runs=list(runs)).stage  # noqa: E731
    assert stage("ok", ok) is None
    assert stage("rejected") == "contract" and stage("compile_error") == "build"
    assert stage("error") == "sandbox"
    assert stage("failed", ok, slow) == "speed"
    assert stage("failed", ok, slow, wrong) == "correctness"  # the earlier stage counts
    assert stage("failed", wrong, hang) == stage("failed", crash, slow) == "run"
    data = MpiResult("p", "failed", runs=[ok, wrong]).to_dict()
    assert data["stage"] == "correctness"
    assert MpiResult.from_dict(json.loads(json.dumps(data))).stage == "correctness"


def test_compiler_warnings_reach_the_feedback_of_a_failed_candidate() -> None:
    warned = "candidate.cpp:4:7: warning: 'local' may be used uninitialized [-Wmaybe-uninitialized]"
    runs = [_np(1, False, "wrong result: x = 1.0, expected 2.0")]
    failed = MpiResult("p", "failed", compile_output=warned + "\n", runs=runs)
    assert failed.feedback.endswith("Compiler warnings:\n- " + warned)
    passed = MpiResult("p", "ok", compile_output=warned, runs=[_np(1, True, "PASS")])
    assert "warning" not in passed.feedback


def test_a_failed_smoke_run_is_the_whole_story(dot: MpiProblem) -> None:
    """The cascade's tiny first run at np 2 hung: the candidate failed at stage 'smoke', the
    feedback says so, and no np was started after it."""

    def fake(req: RunRequest) -> ExecResult:
        text = script_output(marker_of(req), 0, {}, smoke=(124, "", ""))
        late = judged("timeout", "no answer from every rank within 5 s (in trial 0)")
        return result(text, _smoke_only(late))

    result_ = evaluate(dot, dot.solution or "", FunctionSandbox(fake))
    assert result_.status == "failed" and result_.stage == "smoke"
    assert result_.smoke is not None and result_.smoke.status == "timeout"
    assert [r.status for r in result_.runs] == ["not_run"] * 4
    assert all("the first run (a tiny input at np=2) failed" in r.detail for r in result_.runs)
    assert result_.feedback.startswith(
        "The first run, a tiny input at np=2, failed: timed out after 5 s"
    )
    assert "No other run was started." in result_.feedback
    again = MpiResult.from_dict(json.loads(json.dumps(result_.to_dict())))
    assert again == result_ and again.stage == "smoke"


def _smoke_only(smoke: dict[str, Any]) -> bytes:
    return json.dumps(
        {"built": True, "error": None, "time_reference": 0.004, "runs": {"smoke:2": smoke}}
    ).encode()


def test_checks_passed_but_no_timed_run_is_not_a_pass(dot: MpiProblem) -> None:
    """Every np passed its checks, then the sandbox call stopped before the timed runs (which
    check fresh inputs too): not a pass."""

    def fake(req: RunRequest) -> ExecResult:
        text = script_output(marker_of(req), 0, {n: CLEAN for n in dot.np})
        return result(text, verdict({n: PASSED for n in dot.np}), "timeout")

    result_ = evaluate(dot, dot.solution or "", FunctionSandbox(fake))
    assert result_.status == "failed" and result_.stage == "run"
    assert [r.detail for r in result_.runs] == [
        "not run: the sandbox call stopped before the timed run"
    ] * 4
