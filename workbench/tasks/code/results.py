"""What one run of a Python candidate against its tests showed, and the feedback for a model."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Literal

from workbench.contracts import Evaluation

__all__ = ["CodeResult", "CodeStatus", "TestResult", "feedback_text"]

CodeStatus = Literal["ok", "failed", "timeout", "oom", "error"]
FEEDBACK_CAP = 4000
MAX_DETAILED = 5


@dataclass
class TestResult:
    """One test's outcome.

    Attributes:
        name: the test's name.
        passed: the test ran and held.
        error_type: ``AssertionError``, ``Timeout``, ``Crash`` (killed by a signal), ``Exit``,
            ``SystemExit``, ``MemoryError``, ``NotRun``, any exception name; None when passed.
        message: one line about the failure.
        traceback: the candidate's and the test's frames only, capped.
        expected: repr of the expected value (comparison tests), capped.
        got: repr of the value the candidate produced, capped.
        stdout: what the candidate printed during the test, capped.
        phase: where it stopped: ``load`` (defining the code), ``setup``, ``test``, ``not_run``.
        duration_s: wall time of the test's process.
        source: the test's code, for feedback.
        value: the JSON-ready return value (value-recording runs: `run_on_inputs`).
        value_truncated: the value was too large and `value` holds its digest.
    """

    __test__ = False

    name: str
    passed: bool
    error_type: str | None = None
    message: str = ""
    traceback: str = ""
    expected: str | None = None
    got: str | None = None
    stdout: str = ""
    phase: str = "test"
    duration_s: float = 0.0
    source: str = ""
    value: Any = None
    value_truncated: bool = False

    @classmethod
    def from_report(cls, data: dict[str, Any], source: str = "") -> TestResult:
        """From one entry of the runner's JSON report (unknown keys ignored)."""
        names = {f.name for f in dataclasses.fields(cls)}
        values = {k: v for k, v in data.items() if k in names and v is not None}
        return cls(**{"name": "?", "passed": False, **values, "source": source})

    def summary(self) -> dict[str, Any]:
        """``{"name", "passed", "message"}`` as `workbench.contracts.Evaluation.tests` wants."""
        msg = self.message if not self.error_type else f"{self.error_type}: {self.message}"
        return {"name": self.name, "passed": self.passed, "message": msg if not self.passed else ""}


@dataclass
class CodeResult:
    """A candidate's run against a set of tests.

    Attributes:
        status: ``ok`` (every test passed), ``failed`` (some failed), ``timeout`` (every failure
            was a timeout, or the whole run timed out), ``oom`` (every failure was out of
            memory), ``error`` (the code did not compile or load, or the harness got no report).
        tests: per-test results, in order.
        feedback: text for a model: failing tests with expected vs got and tracebacks, capped.
        wall_s: the sandbox run's wall time.
        load_error: why the code could not be loaded, if so.
        sandbox_status: the sandbox's own status (``ok`` even when tests failed).
        stderr: the runner's stderr, capped (harness problems only; the candidate's output is
            captured per test).
    """

    status: CodeStatus
    tests: list[TestResult] = field(default_factory=list)
    feedback: str = ""
    wall_s: float = 0.0
    load_error: str | None = None
    sandbox_status: str = "ok"
    stderr: str = ""

    @property
    def passed(self) -> int:
        """Number of passing tests."""
        return sum(t.passed for t in self.tests)

    @property
    def total(self) -> int:
        """Number of tests."""
        return len(self.tests)

    @property
    def pass_rate(self) -> float:
        """Fraction of tests passed (0.0 with no tests)."""
        return self.passed / self.total if self.tests else 0.0

    def to_evaluation(self, candidate_id: str) -> Evaluation:
        """As the loop's `Evaluation`: primary score ``pass_rate`` (maximize), per-test summaries,
        the feedback text, and the sandbox wall time as ``eval_s``."""
        return Evaluation(
            candidate_id=candidate_id,
            status=self.status,
            scores={
                "pass_rate": self.pass_rate,
                "passed": float(self.passed),
                "total": float(self.total),
            },
            primary="pass_rate",
            direction="maximize",
            tests=[t.summary() for t in self.tests],
            output=self.stderr,
            timings={"eval_s": self.wall_s},
            feedback=self.feedback,
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON form (with the derived counts)."""
        data = dataclasses.asdict(self)
        data.update(passed=self.passed, total=self.total, pass_rate=self.pass_rate)
        return data


def _indent(text: str, pad: str = "    ") -> str:
    return "\n".join(pad + line for line in text.rstrip().splitlines())


def feedback_text(tests: list[TestResult], load_error: str | None = None) -> str:
    """Failing tests with expected vs got, tracebacks and output, capped for a model's prompt."""
    if load_error:
        return f"The code could not be loaded:\n{_indent(load_error)}"[:FEEDBACK_CAP]
    failed = [t for t in tests if not t.passed]
    if not failed:
        return f"All {len(tests)} tests passed."
    if all(t.phase == "load" for t in failed) and len(failed) == len(tests):
        first = failed[0]
        why = first.traceback or f"{first.error_type}: {first.message}"
        return f"The code failed while being defined (before any test ran):\n{_indent(why)}"[
            :FEEDBACK_CAP
        ]
    parts = [f"Passed {len(tests) - len(failed)} of {len(tests)} tests."]
    for t in failed[:MAX_DETAILED]:
        head = f"FAILED {t.name}: {t.source}" if t.source else f"FAILED {t.name}"
        lines = [head if len(head) <= 400 else head[:400] + " ..."]
        if t.expected is not None or t.got is not None:
            lines.append(f"    expected: {t.expected}\n    got:      {t.got}")
        elif t.traceback:
            lines.append(_indent(t.traceback))
        else:
            lines.append(f"    {t.error_type}: {t.message}")
        if t.stdout.strip():
            lines.append("    printed:\n" + _indent(t.stdout[:500], "      "))
        parts.append("\n".join(lines))
    if len(failed) > MAX_DETAILED:
        parts.append(f"... and {len(failed) - MAX_DETAILED} more failing tests.")
    text = "\n".join(parts)
    return text if len(text) <= FEEDBACK_CAP else text[: FEEDBACK_CAP - 20] + "\n... [truncated]"
