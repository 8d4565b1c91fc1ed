"""Compile a candidate once and run it through the judge's cascade, in one sandbox call.

`build_request` writes a POSIX shell script that compiles with ``mpicxx -Wall``, tells the judge
(``_judge.py``, the run's `Judge`, out of the candidate's reach) that the build is done, reads the
name of the judge's socket and then runs each step the judge names (``run <stage> <np> <s>``):
``mpirun`` at that np under its own ``timeout``, with stdout and stderr each cut at a cap (a flood
is killed by SIGPIPE, not by the sandbox), and prints delimited sections. The judge leads the
cascade: a tiny input at np 2 with a short limit (``smoke``), then the checked trials at every np
(``check``), then, only if every np passed, the timed trials at every np (``time``); a candidate
stops at the first stage it fails. The judge checks every rank's outputs against the reference
program's and measures the time; its verdict is the only source of a pass and of the times.
`evaluate` sends the request through a `workbench.sandbox.Sandbox`; `interpret` joins the verdict
with the script's sections (which only explain failures: a hang, crash or flood) into an
`MpiResult`.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from typing import TYPE_CHECKING, Any

from workbench.sandbox import ExecResult, Judge, Limits, RunRequest, Sandbox
from workbench.tasks.mpi.knobs import knob_defines, parse_knobs
from workbench.tasks.mpi.parse import STDERR_CAP, STDOUT_CAP, np_status, parse_output, parse_run
from workbench.tasks.mpi.problem import MpiProblem
from workbench.tasks.mpi.results import MpiResult, NpResult
from workbench.tasks.mpi.source import assemble_candidate, candidate_header, check_source

if TYPE_CHECKING:  # prebuild imports this module
    from workbench.tasks.mpi.prebuild import DriverCache

__all__ = [
    "MpiRequest",
    "build_request",
    "compile_flags",
    "default_limits",
    "evaluate",
    "evaluate_many",
    "interpret",
    "judge_for",
    "problem_files",
    "reference_command",
    "smoke_np",
]

log = logging.getLogger(__name__)

DRIVER_HEADER = "wb_driver.hpp"
JUDGE_SCRIPT = "_judge.py"
UNIT = "wb_unit.cpp"  # the compiled unit: the model's code behind the signature's header
JUDGE_S = 10  # the judge's own work (reference program, expected outputs, timing) beyond builds
COMPILE_CAP = 20_000  # bytes of compiler output kept
KILL_GRACE_S = 2  # timeout -k: SIGKILL this long after SIGTERM
# UCX's default transports (tcp, cma) made MPI_Finalize hang in ~1 of 4 np=4 runs inside the
# sandbox container (hydra: "HYDU_sock_write ... Bad file descriptor"); shared memory only: 0 of 45.
# `-launcher fork`: no ssh, works as the image's non-root user.
MPIRUN = ["env", "UCX_TLS=self,sm", "mpirun", "-launcher", "fork"]
_TIMEOUT_CODES = (124, 137)  # timeout(1): 124 after SIGTERM, 128+9 if SIGKILL was needed


@dataclass
class MpiRequest:
    """Files and commands for one sandbox call that builds and runs a candidate.

    Attributes:
        files: relative path -> content (driver, headers, the model's code as candidate.cpp,
            the compiled unit wb_unit.cpp, run.sh, driver.o).
        command: argv of the whole call (``sh run.sh``).
        judge: the run's judge (``_judge.py``, its spec and the reference program or its
            sources).
        compile_command: the mpicxx argv inside the script.
        run_commands: np -> the mpirun argv of every step at that np (the script runs it under
            ``timeout``, with the np and limit the judge names).
        timeout_s: wall limit for the whole sandbox call.
        marker: the section delimiter printed by the script.
    """

    files: dict[str, str | bytes]
    command: list[str]
    judge: Judge
    compile_command: list[str]
    run_commands: dict[int, list[str]]
    timeout_s: float
    marker: str


def _resource(name: str) -> str:
    return resources.files("workbench.tasks.mpi").joinpath(name).read_text("utf-8")


def compile_flags(problem: MpiProblem) -> list[str]:
    """``mpicxx`` and its flags for `problem` (without sources and output)."""
    # sizes are read at run time, per trial (wb_driver.hpp): one build serves every trial
    defines = [f"-DWB_{k.upper()}=(wb::size_at({i}))" for i, k in enumerate(problem.size_keys)]
    return ["mpicxx", "-O2", "-std=c++17", "-Wall", "-I.", *defines]


def reference_command(problem: MpiProblem) -> list[str]:
    """The build of the judge's reference program: the driver with ``-DWB_JUDGE``, no
    candidate (`candidate_header` then defines the function as an abort)."""
    return [*compile_flags(problem), "-DWB_JUDGE", "-o", "refprog.bin", "driver.cpp"]


def checked_trials(problem: MpiProblem) -> list[dict[str, Any]]:
    """The trials every np is checked on before the timed ones: `trials` seeds at `size`, then
    each `edge` case (its sizes, its own seed), each with a label for the feedback."""
    spec = problem.spec
    out = [
        {"seed": spec.seed + k, "sizes": problem.sizes(), "label": "" if k == 0 else f"trial {k}"}
        for k in range(spec.trials)
    ]
    for i, case in enumerate(spec.edge):
        label = "edge case " + ", ".join(f"{k}={v}" for k, v in sorted(case.items()))
        out.append(
            {"seed": spec.seed + spec.trials + i, "sizes": problem.sizes(case), "label": label}
        )
    return out


def smoke_np(problem: MpiProblem) -> int:
    """The np of the cascade's tiny first run: 2, unless the problem runs only serially."""
    return 2 if max(problem.np) >= 2 else 1


def judge_for(problem: MpiProblem, refprog: bytes | None = None) -> Judge:
    """The judge of a run of `problem`: ``_judge.py``, its spec, and the reference program
    (`refprog`, built earlier without any candidate) or the sources it builds it from."""
    spec = problem.spec
    tiny = problem.smoke_sizes()
    files: dict[str, str | bytes] = {"judge.py": _resource(JUDGE_SCRIPT)}
    if refprog is not None:
        files["refprog"] = refprog
    else:
        files.update(problem_files(problem))
    files["spec.json"] = json.dumps(
        {
            "np": list(problem.np),
            "checks": checked_trials(problem),
            "timed": {"count": spec.iterations, "sizes": problem.sizes()},
            "smoke": {
                "np": smoke_np(problem),
                "seed": spec.seed,
                "sizes": tiny,
                "label": "a tiny input: "
                + ", ".join(f"{k}={v}" for k, v in zip(problem.size_keys, tiny, strict=True)),
                "s": spec.timeouts.smoke_s,
            },
            "run_s": spec.timeouts.run_s,
            "build": reference_command(problem),
            "build_s": spec.timeouts.compile_s,
        }
    )
    return Judge(files=files, command=["python3", "judge.py"])


def problem_files(problem: MpiProblem) -> dict[str, str | bytes]:
    """The files of a run that do not depend on the candidate."""
    return {
        "driver.cpp": problem.driver,
        "reference.hpp": problem.reference,
        DRIVER_HEADER: _resource(DRIVER_HEADER),
        "wb_candidate.hpp": candidate_header(problem),
    }


def build_request(
    problem: MpiProblem,
    candidate_code: str,
    *,
    driver_object: bytes | None = None,
    refprog: bytes | None = None,
    defines: Sequence[str] = (),
) -> MpiRequest:
    """Files, judge and the shell script that compile `candidate_code` once and run it through
    the judge's cascade.

    Args:
        problem: the problem.
        candidate_code: the model's code (a whole definition or a body).
        driver_object: ``driver.o`` built earlier for this problem and sandbox image (see
            `DriverCache`); then only the candidate is compiled and linked with it, and the
            driver's sources are not in the candidate's directory.
        refprog: the judge's reference program built earlier (see `DriverCache`); else the
            judge builds it, in its own directory, while the candidate compiles.
        defines: ``-DNAME=value`` flags of the candidate's knobs (`knob_defines`).

    >>> from workbench.tasks.mpi import load_problem, library_dir
    >>> req = build_request(load_problem(library_dir() / "reduce_dot_product"), "...")
    >>> req.run_commands[3][2:]
    ['mpirun', '-launcher', 'fork', '-np', '3', './prog']
    """
    spec = problem.spec
    key = "\0".join([problem.name, candidate_code, *defines])
    digest = hashlib.sha256(key.encode()).hexdigest()[:16]
    marker = f"@@WB-{digest}@@"
    driver = "driver.o" if driver_object is not None else "driver.cpp"
    compile_command = [*compile_flags(problem), *defines, "-o", "prog", driver, UNIT]
    # fd 3 is the judge's socket: closed for the compiler; each mpirun below runs inside
    # `{ ...; } 3>&1`, where fd 3 is the stdout pipe, so no candidate process holds it.
    run_commands = {n: [*MPIRUN, "-np", str(n), "./prog"] for n in problem.np}
    t_run, t_cc = spec.timeouts.run_s, spec.timeouts.compile_s
    lines = [
        "#!/bin/sh",
        "# Generated by workbench.tasks.mpi: compile once, then run at each np.",
        f"M='{marker}'",
        "now() { date +%s.%N; }",
        'printf "%s COMPILE\\n" "$M"',
        "s=$(now)",
        f"timeout -k {KILL_GRACE_S} {t_cc:g} {shlex.join(compile_command)} > wb_cc.log 2>&1 3<&-",
        "rc=$?",
        "e=$(now)",
        f"head -c {COMPILE_CAP} wb_cc.log",
        'printf "\\n%s COMPILE_END rc=%s start=%s end=%s\\n" "$M" "$rc" "$s" "$e"',
        '[ "$rc" -eq 0 ] || exit 0',
        "echo built >&3",
        'read -r WB_JUDGE <&3 || { printf "%s NO_JUDGE\\n" "$M"; exit 0; }',
        "export WB_JUDGE",
    ]
    # The judge leads the cascade: it names each step (stage, np, seconds), the script runs
    # it and says `next`; `end` (or a closed socket) ends the loop. Its words are trusted.
    mpirun = shlex.join(MPIRUN)
    lines += [
        "while read -r cmd stage n t <&3; do",
        '  [ "$cmd" = run ] || break',
        "  rm -f wb_rc wb_out wb_err",
        "  s=$(now)",
        # stdout and stderr each go through `head -c cap+1`: a flood dies of SIGPIPE.
        f'  {{ {{ timeout -k {KILL_GRACE_S} "$t" {mpirun} -np "$n" ./prog; echo $? > wb_rc; }}'
        f" 2>&1 1>&3 | head -c {STDERR_CAP + 1} > wb_err; }} 3>&1"
        f" | head -c {STDOUT_CAP + 1} > wb_out",
        "  e=$(now)",
        '  printf "%s RUN stage=%s np=%s rc=%s start=%s end=%s out=%s err=%s\\n" "$M" "$stage"'
        ' "$n" "$(cat wb_rc 2>/dev/null || echo none)" "$s" "$e" "$(wc -c < wb_out)"'
        ' "$(wc -c < wb_err)"',
        f"  head -c {STDOUT_CAP} wb_out",
        '  printf "\\n%s STDERR stage=%s np=%s\\n" "$M" "$stage" "$n"',
        f"  head -c {STDERR_CAP} wb_err",
        '  printf "\\n%s END stage=%s np=%s\\n" "$M" "$stage" "$n"',
        "  echo next >&3",
        "done",
    ]
    if driver_object is not None:
        files: dict[str, str | bytes] = {
            "wb_candidate.hpp": candidate_header(problem),
            "driver.o": driver_object,
        }
    else:
        files = problem_files(problem)
    files[UNIT] = assemble_candidate(problem, candidate_code)
    files["candidate.cpp"] = candidate_code  # what the compiler quotes (see assemble_candidate)
    files["run.sh"] = "\n".join(lines) + "\n"
    steps = spec.timeouts.smoke_s + 2 * len(problem.np) * t_run  # smoke, check, time
    timeout_s = t_cc + JUDGE_S + steps + (2 * len(problem.np) + 1) * (KILL_GRACE_S + 2) + 15
    return MpiRequest(
        files=files,
        command=["sh", "run.sh"],
        judge=judge_for(problem, refprog),
        compile_command=compile_command,
        run_commands=run_commands,
        timeout_s=timeout_s,
        marker=marker,
    )


def default_limits(problem: MpiProblem) -> Limits:
    """Sandbox limits for one `build_request` call of `problem`."""
    request_timeout = build_request(problem, "").timeout_s
    cpus = float(min(max(problem.np), os.cpu_count() or 1))
    return Limits(
        timeout_s=request_timeout,
        memory_mb=problem.spec.memory_mb,
        cpus=cpus,
        pids=256,
        output_bytes=1_048_576,
    )


def evaluate(
    problem: MpiProblem,
    code: str,
    sandbox: Sandbox,
    *,
    limits: Limits | None = None,
    check: bool = True,
    drivers: DriverCache | None = None,
    knobs: Mapping[str, Any] | None = None,
) -> MpiResult:
    """Check, compile and run `code` at every np of `problem` in one sandbox call.

    Args:
        problem: the loaded problem.
        code: the candidate: a whole definition of the function (with its includes) or only the
            function's body.
        sandbox: where to build and run (its image must have mpich).
        limits: limits of the whole call; `default_limits(problem)` when None.
        check: run `check_source` first and refuse to run code that fails it.
        drivers: a `DriverCache`: compile the driver once per problem and image and link each
            candidate against it (saves most of the compile time of every later candidate).
        knobs: values of the knobs `code` declares (``// @knob`` lines, see
            `workbench.tasks.mpi.knobs`), set with ``-D`` at compile time; a knob left out
            keeps the code's default.

    Returns:
        An MpiResult; the model's mistakes (rejected, compile error, wrong result, hang, crash,
        flood) are statuses and feedback in it, never exceptions.
    """
    return evaluate_many(
        problem,
        [code],
        sandbox,
        limits=limits,
        check=check,
        drivers=drivers,
        knobs=None if knobs is None else [knobs],
    )[0]


def evaluate_many(
    problem: MpiProblem,
    codes: Sequence[str],
    sandbox: Sandbox,
    *,
    limits: Limits | None = None,
    check: bool = True,
    drivers: DriverCache | None = None,
    knobs: Sequence[Mapping[str, Any]] | None = None,
) -> list[MpiResult]:
    """`evaluate` for several candidates of one problem, through `Sandbox.run_many` (the
    sandbox's pool runs them in parallel); results are in the order of `codes` (`knobs`, when
    given, holds each one's knob values)."""
    if knobs is not None and len(knobs) != len(codes):
        raise ValueError(f"{len(knobs)} sets of knob values for {len(codes)} candidates")
    results: list[MpiResult | None] = [None] * len(codes)
    pending: list[tuple[int, str, list[str]]] = []
    for i, code in enumerate(codes):
        problems = check_source(code) if check else []
        declared, bad = parse_knobs(code)
        problems += [f"knob declaration {why}" for why in bad]
        defines: list[str] = []
        try:
            defines = knob_defines(declared, knobs[i] if knobs is not None else {})
        except ValueError as exc:
            problems.append(f"knob values: {exc}")
        if problems:
            results[i] = MpiResult(
                problem=problem.name, status="rejected", source_problems=problems
            )
        else:
            pending.append((i, code, defines))
    if pending:
        built = drivers.build_for(problem, sandbox) if drivers is not None else None
        obj, refprog = (built.driver_object, built.refprog) if built else (None, None)
        lim = limits or default_limits(problem)
        requests = [
            build_request(problem, c, driver_object=obj, refprog=refprog, defines=d)
            for _, c, d in pending
        ]
        if len(requests) == 1:
            r = requests[0]
            outcomes = [sandbox.run(r.files, r.command, lim, judge=r.judge)]
        else:
            outcomes = sandbox.run_many(
                [RunRequest(r.files, r.command, lim, judge=r.judge) for r in requests]
            )
        for (i, _, _), request, outcome in zip(pending, requests, outcomes, strict=True):
            results[i] = interpret(problem, request, outcome)
    return [r for r in results if r is not None]


def interpret(problem: MpiProblem, request: MpiRequest, result: ExecResult) -> MpiResult:
    """Turn the sandbox's result of `request` (the script's sections and the judge's verdict)
    into an MpiResult."""
    parsed = parse_output(result.stdout, request.marker)
    timings = {"sandbox_s": result.wall_s}
    if parsed.compile_s is not None:
        timings["compile_s"] = parsed.compile_s
    verdict = _read_verdict(result.verdict)
    judge_error = verdict.get("error") if verdict else None
    silent = verdict is None and parsed.compile_rc == 0 and result.status != "timeout"
    if judge_error or silent:
        why = judge_error or (
            f"the judge gave no verdict (sandbox status {result.status}); "
            f"its stderr: {result.judge_stderr[-1500:]}"
        )
        return MpiResult(
            problem=problem.name,
            status="error",
            compile_output=f"the judge failed: {why}".strip(),
            timings=timings,
            sandbox_status=result.status,
        )
    if parsed.compile_rc is None:
        why = f"the sandbox ended with status {result.status} before the build finished"
        detail = (result.stderr or result.stdout)[-2000:]
        return MpiResult(
            problem=problem.name,
            status="error",
            compile_output=f"{why}\n{detail}".strip(),
            timings=timings,
            sandbox_status=result.status,
        )
    if parsed.compile_rc != 0:
        output = parsed.compile_output
        if parsed.compile_rc in _TIMEOUT_CODES:
            output += f"\n(compilation timed out after {problem.spec.timeouts.compile_s:g} s)"
        return MpiResult(
            problem=problem.name,
            status="compile_error",
            compile_output=output,
            timings=timings,
            sandbox_status=result.status,
        )
    verdict = verdict or {}  # none after a whole-call timeout: the sections explain each np
    judged = verdict.get("runs") or {}
    time_reference = verdict.get("time_reference")
    timeouts, gate = problem.spec.timeouts, problem.spec.speed_gate

    def step(stage: str, n: int, limit: float, min_speedup: float | None = None) -> NpResult:
        raw, mine = parsed.runs.get((stage, n)), judged.get(f"{stage}:{n}")
        if raw is None:
            return parse_run("", "", None, "not_run", np=n, judged=mine)
        return parse_run(
            raw.stdout,
            raw.stderr,
            raw.exit_code,
            np_status(raw, limit),
            np=n,
            judged=mine,
            time_reference=time_reference,
            wall_s=raw.wall_s,
            timeout_s=limit,
            min_speedup=min_speedup,
        )

    sn = smoke_np(problem)
    smoke = step("smoke", sn, timeouts.smoke_s)
    if smoke.wall_s is not None:
        timings["smoke_s"] = smoke.wall_s
    if not smoke.passed:
        why = f"not run: the first run (a tiny input at np={sn}) failed"
        return MpiResult(
            problem=problem.name,
            status="failed",
            compile_output=parsed.compile_output,
            runs=[NpResult(n, False, None, None, why, status="not_run") for n in problem.np],
            timings=timings,
            sandbox_status=result.status,
            smoke=smoke,
        )
    checks = {n: step("check", n, timeouts.run_s) for n in problem.np}
    all_checked = all(c.passed for c in checks.values()) and problem.spec.iterations > 0
    runs: list[NpResult] = []
    for n, check in checks.items():
        walls = [check.wall_s]
        if check.passed and (("time", n) in parsed.runs or f"time:{n}" in judged):
            gated = gate.min_speedup if gate is not None and n in gate.np else None
            timed = step("time", n, timeouts.run_s, gated)
            walls.append(timed.wall_s)
            checked = (judged.get(f"check:{n}") or {}).get("trials")
            if timed.passed:
                timed.detail = (
                    f"PASS (validated by the judge on {checked} checked and "
                    f"{len(timed.times)} timed trials)"
                )
            runs.append(timed)
        elif check.passed and all_checked:  # the timed run was due, but never ran
            why = "not run: the sandbox call stopped before the timed run"
            runs.append(NpResult(n, False, None, None, why, status="not_run"))
        elif check.passed:  # another np failed its checks: nothing was timed
            check.detail += "; not timed, since another np failed"
            runs.append(check)
        else:
            runs.append(check)
        if all(w is not None for w in walls):
            timings[f"run_np{n}_s"] = sum(w for w in walls if w is not None)
    return MpiResult(
        problem=problem.name,
        status="ok" if all(r.passed for r in runs) else "failed",
        compile_output=parsed.compile_output,
        runs=runs,
        timings=timings,
        sandbox_status=result.status,
        smoke=smoke,
    )


def _read_verdict(raw: bytes | None) -> dict[str, Any] | None:
    """The judge's JSON verdict, or None when it printed none (or not an object)."""
    if not raw:
        return None
    try:
        verdict = json.loads(raw)
    except ValueError:
        return None
    return verdict if isinstance(verdict, dict) else None
