"""What one evaluation of an MPI candidate showed: per-np results and the whole."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = ["STAGES", "MpiResult", "MpiStatus", "NpResult", "NpStatus", "Stage"]

# Per np: the sandbox's statuses, plus "not_run" when the whole sandbox call stopped before it.
NpStatus = Literal["ok", "error", "timeout", "oom", "output_limit", "not_run"]
# Whole candidate: "ok" = validated at every np.
MpiStatus = Literal["ok", "failed", "compile_error", "rejected", "error"]

_FEEDBACK_CAP = 6000


TOO_SLOW = "correct, but too slow"  # how a run under the problem's speed gate is told (parse)
Stage = Literal["contract", "build", "smoke", "run", "correctness", "speed", "sandbox"]
STAGES: tuple[Stage, ...] = (
    "sandbox",
    "contract",
    "build",
    "smoke",
    "run",
    "correctness",
    "speed",
)


def _run_stage(run: NpResult) -> Stage:
    """The stage a failed run at one np stopped at (see `MpiResult.stage`)."""
    if run.detail.startswith(TOO_SLOW):
        return "speed"
    if run.status != "ok" or run.detail.startswith(("timed out", "crashed", "not run")):
        return "run"
    return "correctness"


@dataclass
class NpResult:
    """One run of the compiled candidate at one number of ranks.

    Attributes:
        np: number of MPI ranks.
        passed: the judge validated every trial at this np and the run ended cleanly.
        time_candidate: the median seconds of the candidate's call over the timed trials, as
            the judge measured it (after a pass), else None.
        time_reference: the median seconds of the serial reference on the same inputs,
            measured by the judge (after a pass), else None.
        detail: one line for the model: the judge's verdict, or why the run did not finish.
        status: how the run ended (``ok`` means exit code 0, not that it validated).
        exit_code: mpirun's exit code (124 = timeout), None when it never ran.
        wall_s: wall time of the mpirun, as measured inside the sandbox.
        stdout: what the run printed (capped).
        stderr: what the run wrote to stderr (capped).
        times: each timed trial's seconds (their spread tells noise from a real difference).
    """

    np: int
    passed: bool
    time_candidate: float | None
    time_reference: float | None
    detail: str
    status: NpStatus = "ok"
    exit_code: int | None = None
    wall_s: float | None = None
    stdout: str = ""
    stderr: str = ""
    times: list[float] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return dataclasses.asdict(self)


@dataclass
class MpiResult:
    """Everything one evaluation of a candidate showed.

    Attributes:
        problem: the problem's name.
        status: ``ok`` (validated at every np), ``failed`` (built but some np failed),
            ``compile_error``, ``rejected`` (the source check refused it; nothing ran) or
            ``error`` (the sandbox call itself failed before compiling).
        source_problems: what `check_source` found.
        compile_output: compiler messages (capped), also when the build succeeded.
        runs: one NpResult per np of the problem, in the problem's order (its checked trials,
            then, once every np passed them, its timed trials).
        timings: ``compile_s``, ``smoke_s``, ``run_np<N>_s`` per np and ``sandbox_s`` (the
            whole call).
        sandbox_status: the status of the sandbox call.
        smoke: the cascade's first run, the tiny input at np 2 (None when it never started:
            the build failed); when it fails, no other run starts.
    """

    problem: str
    status: MpiStatus
    source_problems: list[str] = field(default_factory=list)
    compile_output: str = ""
    runs: list[NpResult] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    sandbox_status: str = ""
    smoke: NpResult | None = None

    @property
    def passed(self) -> bool:
        """True when the candidate validated at every np (ParEval's correctness)."""
        return self.status == "ok"

    @property
    def np_pass_rate(self) -> float:
        """The fraction of the problem's nps at which it validated (0 with no run)."""
        return sum(r.passed for r in self.runs) / len(self.runs) if self.runs else 0.0

    @property
    def stage(self) -> Stage | None:
        """The first stage of the cascade the candidate failed (None: it passed every one).

        ``contract`` (the source check refused it), ``build`` (it did not compile), ``smoke``
        (the tiny first run at np 2 failed: nothing else ran), ``run`` (a crash, a timeout or a
        run that never finished at some np), ``correctness`` (wrong
        outputs, a broken protocol, work left running), ``speed`` (correct, but under the
        problem's speed gate); ``sandbox`` when the evaluation itself could not run.
        """
        if self.status == "ok":
            return None
        if self.status in ("rejected", "compile_error", "error"):
            return {"rejected": "contract", "compile_error": "build"}.get(self.status, "sandbox")
        if self.smoke is not None and not self.smoke.passed:
            return "smoke"
        failed = [_run_stage(r) for r in self.runs if not r.passed]
        return min(failed, key=STAGES.index) if failed else "correctness"

    @property
    def compiled(self) -> bool:
        """True when the build succeeded (for build@k)."""
        return self.status in ("ok", "failed")

    def run(self, np: int) -> NpResult | None:
        """The result at `np`, if that np was part of the problem."""
        return next((r for r in self.runs if r.np == np), None)

    def reference_time(self) -> float | None:
        """T*: the fastest serial-reference time seen in any run (None if none passed)."""
        times = [r.time_reference for r in self.runs if r.time_reference]
        return min(times) if times else None

    def speedup(self, np: int | None = None) -> float:
        """T* / candidate time at `np` (default: the largest np); 0.0 unless `passed`.

        A failed candidate has speedup 0, as in ParEval's speedup@k.
        """
        if not self.passed or not self.runs:
            return 0.0
        run = self.run(np) if np is not None else max(self.runs, key=lambda r: r.np)
        t_ref = self.reference_time()
        if run is None or not run.time_candidate or not t_ref:
            return 0.0
        return t_ref / run.time_candidate

    def best_speedup(self) -> float:
        """The largest speedup over the nps (ParEval's ``_max`` variant); 0.0 unless `passed`."""
        return max((self.speedup(r.np) for r in self.runs), default=0.0)

    @property
    def feedback(self) -> str:
        """What the model should read: why it was not run, compiler errors, or per-np results."""
        if self.status == "rejected":
            text = "The code was not compiled or run:\n" + "\n".join(
                f"- {p}" for p in self.source_problems
            )
        elif self.status == "error":
            text = "The evaluation could not run: " + (self.compile_output or self.sandbox_status)
        elif self.status == "compile_error":
            text = "Compilation failed (mpicxx -O2 -std=c++17 -Wall):\n"
            text += self.compile_output.strip()
        elif self.smoke is not None and not self.smoke.passed:
            lines = [
                f"The first run, a tiny input at np={self.smoke.np}, failed: {self.smoke.detail}",
                "No other run was started.",
            ]
            lines += self._warnings()
            text = "\n".join(lines)
        else:
            lines = [f"{'All' if self.passed else 'Not all'} runs validated."]
            for r in self.runs:
                if r.passed:
                    t_ref = self.reference_time() or 0.0
                    sp = t_ref / r.time_candidate if r.time_candidate else 0.0
                    lines.append(
                        f"np={r.np}: PASS, {r.time_candidate or 0:.6f} s "
                        f"(serial reference {t_ref:.6f} s, speedup {sp:.2f}x)"
                    )
                else:
                    lines.append(f"np={r.np}: {r.detail}")
            if not self.passed:
                lines += self._warnings()
            text = "\n".join(lines)
        if len(text) > _FEEDBACK_CAP:
            text = text[:_FEEDBACK_CAP] + "\n... [feedback truncated]"
        return text

    def _warnings(self) -> list[str]:
        """The compiler's warnings, as hints for a failed candidate (such as a variable used
        uninitialized)."""
        warnings = [w for w in self.compile_output.splitlines() if "warning:" in w]
        if not warnings:
            return []
        return ["Compiler warnings:", *[f"- {w.strip()}" for w in warnings[:10]]]

    def to_dict(self) -> dict[str, Any]:
        """JSON form (with the derived `passed`, `speedup` and `feedback`)."""
        data = dataclasses.asdict(self)
        data["passed"] = self.passed
        data["speedup"] = self.speedup()
        data["stage"] = self.stage
        data["feedback"] = self.feedback
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> MpiResult:
        """Inverse of `to_dict` (derived keys are ignored)."""
        names = {f.name for f in dataclasses.fields(cls)}
        values = {k: v for k, v in data.items() if k in names}
        values["runs"] = [NpResult(**r) for r in values.get("runs", [])]
        if values.get("smoke") is not None:
            values["smoke"] = NpResult(**values["smoke"])
        return cls(**values)
