"""Reading the run script's output (per-step sections, statuses) and one step's result.

`parse_output` splits what ``run.sh`` printed into the compile section and one `RawRun` per step
of the cascade (a stage at an np); `np_status` says how a run ended; `parse_run` joins that with
the judge's verdict for the step (the judge, not the program's output, decides a pass) into an
`NpResult`.
"""

from __future__ import annotations

import re
import signal
from dataclasses import dataclass, field
from typing import Any

from workbench.tasks.mpi.results import TOO_SLOW, NpResult, NpStatus

__all__ = [
    "STDERR_CAP",
    "STDOUT_CAP",
    "ParsedOutput",
    "RawRun",
    "np_status",
    "parse_output",
    "parse_run",
]

STDOUT_CAP = 32_000  # bytes of one run's stdout kept; more is a flood
STDERR_CAP = 16_000


@dataclass
class RawRun:
    """One step's section of the script output (a stage at an np), before interpretation."""

    np: int
    exit_code: int | None
    wall_s: float | None
    stdout: str
    stderr: str
    stdout_bytes: int = 0
    stderr_bytes: int = 0
    stage: str = "check"


@dataclass
class ParsedOutput:
    """The compile section and the runs found in the script's output, by (stage, np)."""

    compile_rc: int | None = None
    compile_output: str = ""
    compile_s: float | None = None
    runs: dict[tuple[str, int], RawRun] = field(default_factory=dict)


_HEADER = re.compile(r"(COMPILE_END|RUN|STDERR|END|COMPILE)\b ?(.*)")


def _fields(text: str) -> dict[str, str]:
    return dict(kv.split("=", 1) for kv in text.split() if "=" in kv)


def _num(value: str | None) -> float | None:
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def _strip_section(body: str) -> str:
    # The script prints "\n" before each marker so that a marker always starts a line.
    return body[:-1] if body.endswith("\n") else body


def parse_output(stdout: str, marker: str) -> ParsedOutput:
    """Split the script's stdout into the compile section and one `RawRun` per step seen."""
    parsed = ParsedOutput()
    chunks = stdout.split(marker + " ")
    current: RawRun | None = None
    for chunk in chunks[1:]:
        header, _, body = chunk.partition("\n")
        m = _HEADER.match(header)
        if not m:
            continue
        kind, f = m.group(1), _fields(m.group(2))
        if kind == "COMPILE":
            parsed.compile_output = _strip_section(body)
        elif kind == "COMPILE_END":
            parsed.compile_rc = int(f["rc"]) if f.get("rc", "").lstrip("-").isdigit() else None
            start, end = _num(f.get("start")), _num(f.get("end"))
            parsed.compile_s = end - start if start is not None and end is not None else None
        elif kind == "RUN":
            np = int(f["np"]) if f.get("np", "").isdigit() else 0
            stage = f.get("stage", "check")
            start, end = _num(f.get("start")), _num(f.get("end"))
            rc = f.get("rc", "")
            current = RawRun(
                np=np,
                exit_code=int(rc) if rc.lstrip("-").isdigit() else None,
                wall_s=end - start if start is not None and end is not None else None,
                stdout=_strip_section(body),
                stderr="",
                stdout_bytes=int(f.get("out", "0") or 0),
                stderr_bytes=int(f.get("err", "0") or 0),
                stage=stage,
            )
            parsed.runs[stage, np] = current
        elif kind == "STDERR" and current is not None:
            current.stderr = _strip_section(body)
    return parsed


def np_status(raw: RawRun, run_s: float) -> NpStatus:
    """How one np's run ended, from its exit code, wall time and output sizes."""
    if raw.stdout_bytes > STDOUT_CAP or raw.stderr_bytes > STDERR_CAP:
        return "output_limit"
    # timeout(1) exits 124 only when the limit was hit; 137 (its SIGKILL) is ambiguous.
    if raw.exit_code == 124 or (
        raw.exit_code == 137 and (raw.wall_s is None or raw.wall_s >= run_s - 0.5)
    ):
        return "timeout"
    if raw.exit_code == 0:
        return "ok"
    if raw.exit_code in (9, 137):  # SIGKILL that was not our timeout: the memory limit
        return "oom"
    return "error"


_EXIT_STRING = re.compile(r"EXIT STRING:\s*(.+)")
_BANNER = re.compile(r"^(=+|=\s.*|\s*)$")


def _crash_detail(exit_code: int | None, stderr: str) -> str:
    m = _EXIT_STRING.search(stderr)
    if m:
        why = m.group(1).strip()
    elif exit_code is not None and 0 < exit_code < 65:
        try:
            why = f"{signal.Signals(exit_code).name} or exit({exit_code})"
        except ValueError:
            why = f"exit({exit_code})"
    else:
        why = f"exit code {exit_code}"
    lines = [ln for ln in stderr.splitlines() if not _BANNER.match(ln)]
    tail = "\n".join(lines[-12:])[-1200:]
    return f"crashed ({why})" + (f"; stderr:\n{tail}" if tail else "")


def parse_run(
    stdout: str,
    stderr: str,
    exit_code: int | None,
    status: NpStatus,
    *,
    np: int,
    judged: dict[str, Any] | None = None,
    time_reference: float | None = None,
    wall_s: float | None = None,
    timeout_s: float | None = None,
    min_speedup: float | None = None,
) -> NpResult:
    """One np's result: the judge's verdict for it (`judged`, from ``_judge.py``) and how the
    run ended (`status`, from the script's untrusted sections, used only to explain a failure).

    A run passes only if the judge validated every trial and the run then ended with status
    ``ok``; nothing the program printed can make it pass. The times are the judge's. With
    `min_speedup` (the problem's speed gate at this np), a validated run whose speedup over
    the reference is lower fails as too slow (its times kept).
    """
    verdict = judged or {}
    reason = verdict.get("reason")
    passed = False
    if reason in ("wrong", "protocol", "leftover"):  # what the judge saw matters most
        detail = ("wrong result: " if reason == "wrong" else "") + str(verdict.get("detail"))
    elif status == "timeout" or reason == "timeout":
        limit = f" after {timeout_s:g} s" if timeout_s else ""
        detail = (
            f"timed out{limit} (a deadlock? every rank must make the same collective calls "
            "and every send needs a matching receive)"
        )
    elif status == "output_limit":
        detail = f"printed more than {STDOUT_CAP} bytes and was stopped; do not print output"
    elif status == "oom":
        detail = "killed by SIGKILL, most likely for exceeding the memory limit"
    elif status == "not_run":
        detail = "not run: the sandbox call stopped before this np"
    elif status == "error":
        detail = _crash_detail(exit_code, stderr)
    elif verdict.get("passed"):
        passed = True
        trials = verdict.get("trials")
        detail = f"PASS (validated by the judge on {trials} trials)"
    elif verdict:
        detail = f"{verdict.get('detail')} (did the function end the program?)"
    else:
        detail = "the judge gave no verdict for this np"
    slow = False
    mine = verdict.get("time_candidate")
    if passed and min_speedup is not None and mine and time_reference:
        speedup = time_reference / mine
        if speedup < min_speedup:
            passed, slow = False, True
            detail = (
                f"{TOO_SLOW}: speedup {speedup:.2f} over the serial reference "
                f"(reference {time_reference * 1e3:.3g} ms, this code {mine * 1e3:.3g} ms), "
                f"below the problem's gate of {min_speedup:g} at np={np}: divide the work "
                "among the ranks instead of repeating it"
            )
    return NpResult(
        np=np,
        passed=passed,
        time_candidate=mine if passed or slow else None,
        time_reference=time_reference if (passed or slow) and mine else None,
        detail=detail,
        status=status,
        exit_code=exit_code,
        wall_s=wall_s,
        stdout=stdout,
        stderr=stderr,
        times=[float(t) for t in verdict.get("times") or []] if passed or slow else [],
    )
