"""Run Python candidates against tests, or on inputs, in a `workbench.sandbox.Sandbox`.

`build_request` puts ``candidate.py``, the prompt's context and the runner script (``_runner.py``
of this package, stdlib only) in the code's work dir, and the runner with a JSON spec of the
tests in the judge's own dir (`workbench.sandbox.Judge`): the code's side (``wb_runner.py
worker``) never sees a test, hidden or public, and the judge (``wb_runner.py judge``) computes
the verdict from the values the code returns; only the judge's stdout is read back, by
`parse_result`. The sandbox's wall limit is the run's time budget plus slack, so even a run that
is killed outright becomes a `CodeResult` with status ``timeout`` or ``error``, never an
exception: the model's mistakes are results (STYLE habit 10).

Example:
    >>> from workbench.sandbox import LocalSandbox
    >>> from workbench.tasks.code import problem_from_dict, evaluate_code
    >>> p = problem_from_dict({"task_id": "t", "entry_point": "inc",
    ...     "prompt": 'def inc(x):\\n    \"\"\"x + 1\"\"\"\\n',
    ...     "public_tests": [{"input": [1], "output": 2}, {"input": [5], "output": 6}]})
    >>> with LocalSandbox() as sb:
    ...     r = evaluate_code(p, "def inc(x):\\n    return x + 2\\n", sb)
    >>> r.status, r.passed, r.tests[0].got
    ('failed', 0, '3')
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any

from workbench.errors import ConfigError
from workbench.sandbox import ExecResult, Judge, Limits, RunRequest, Sandbox
from workbench.tasks.code.problem import CodeProblem, TestCase, complete_code
from workbench.tasks.code.results import CodeResult, CodeStatus, TestResult, feedback_text
from workbench.tasks.mpi.metrics import pass_at_k

__all__ = [
    "CodeRequest",
    "build_request",
    "evaluate_code",
    "evaluate_many",
    "parse_result",
    "pass_at_k",
    "run_matrix",
    "run_on_inputs",
]

RUNNER_FILE = "wb_runner.py"
SPEC_FILE = "wb_spec.json"
GRACE_S = 1.0  # after a test's alarm, the runner waits this long before killing its process
STARTUP_S = 5.0  # sandbox wall limit = the runner's budget + this (interpreter start, slack)
MAX_TOTAL_S = 120.0
STDERR_CAP = 4000


@dataclass
class CodeRequest:
    """One sandbox call that runs a candidate against tests.

    Attributes:
        files: relative path -> text for the code's work dir: ``candidate.py``, ``prompt.py``,
            ``wb_runner.py``.
        command: the code's side, run in the work dir.
        judge: the judge: the runner and ``wb_spec.json`` (the tests), out of the code's reach.
        limits: the sandbox limits of the call (wall limit = `total_timeout_s` + slack).
        tests: the tests, in order (for names and feedback).
        total_timeout_s: the runner's own time budget for all tests.
    """

    files: dict[str, str]
    command: list[str]
    judge: Judge
    limits: Limits
    tests: list[TestCase]
    total_timeout_s: float

    def run_request(self) -> RunRequest:
        """As an item of `Sandbox.run_many`."""
        return RunRequest(
            files=self.files, command=self.command, limits=self.limits, judge=self.judge
        )


def _runner_source() -> str:
    return resources.files("workbench.tasks.code").joinpath("_runner.py").read_text("utf-8")


def make_request(
    code: str,
    entry_point: str,
    tests: Sequence[TestCase],
    *,
    context: str = "",
    test_timeout_s: float = 5.0,
    total_timeout_s: float | None = None,
    limits: Limits | None = None,
    value_cap: int = 16_000,
) -> CodeRequest:
    """The low-level builder behind `build_request` and `run_on_inputs` (a full module `code`)."""
    if test_timeout_s <= 0:
        raise ConfigError(f"test_timeout_s={test_timeout_s!r} must be positive")
    if not tests:  # still check that the code loads and defines the entry point
        tests = [TestCase("loads", code="pass")]
    if total_timeout_s is None:
        total_timeout_s = min(len(tests) * (test_timeout_s + GRACE_S) + 1.0, MAX_TOTAL_S)
    lim = (limits or Limits()).replace(timeout_s=total_timeout_s + STARTUP_S)
    spec = {
        "entry_point": entry_point,
        "context": context,
        "tests": [t.to_dict() for t in tests],
        "test_timeout_s": test_timeout_s,
        "total_timeout_s": total_timeout_s,
        "grace_s": GRACE_S,
        "memory_mb": max(int(lim.memory_mb) - 96, 64),
        "stdout_cap": 2000,
        "text_cap": 2500,
        "value_cap": value_cap,
    }
    runner = _runner_source()
    files = {"candidate.py": code, "prompt.py": context, RUNNER_FILE: runner}
    judge = Judge(
        files={RUNNER_FILE: runner, SPEC_FILE: json.dumps(spec)},
        command=["python3", "-I", RUNNER_FILE, "judge", SPEC_FILE],
    )
    return CodeRequest(
        files=files,
        command=["python3", "-I", RUNNER_FILE, "worker"],
        judge=judge,
        limits=lim,
        tests=list(tests),
        total_timeout_s=total_timeout_s,
    )


def build_request(
    problem: CodeProblem,
    code: str,
    tests: str = "public",
    *,
    test_timeout_s: float = 5.0,
    total_timeout_s: float | None = None,
    limits: Limits | None = None,
) -> CodeRequest:
    """Files and command that run `code` against `problem`'s tests in a sandbox.

    Args:
        problem: the problem.
        code: the candidate: a full module, or a body completing the prompt (see
            `complete_code`).
        tests: ``public``, ``hidden`` or ``all``.
        test_timeout_s: per-test limit (an alarm, then a kill 1 s later).
        total_timeout_s: the runner's budget for all tests (default: enough for every test to
            time out, at most 120 s); tests left when it is spent are reported ``NotRun``.
        limits: sandbox limits (memory etc.); `timeout_s` is set from the budget.

    Raises:
        ConfigError: a bad `tests` or timeout value.
    """
    return make_request(
        complete_code(problem, code),
        problem.entry_point,
        problem.tests(tests),
        context=problem.context,
        test_timeout_s=test_timeout_s,
        total_timeout_s=total_timeout_s,
        limits=limits,
    )


def _no_report(request: CodeRequest, result: ExecResult) -> CodeResult:
    status: CodeStatus = "timeout" if result.status == "timeout" else "error"
    if result.status == "oom":
        status = "oom"
    why = {
        "timeout": f"the run hit the sandbox's wall limit ({request.limits.timeout_s:g} s)",
        "oom": "the run ran out of memory",
        "output_limit": "the run printed too much",
    }.get(result.status, f"the judge gave no verdict (exit code {result.exit_code})")
    tests = [
        TestResult(t.name, False, "NotRun", why, phase="not_run", source=t.source())
        for t in request.tests
    ]
    stderr = (result.stderr + result.judge_stderr)[-STDERR_CAP:]
    return CodeResult(
        status=status,
        tests=tests,
        feedback=f"The tests could not run: {why}." + (f"\n{stderr}" if stderr.strip() else ""),
        wall_s=result.wall_s,
        load_error=None,
        sandbox_status=result.status,
        stderr=stderr,
    )


def _status(tests: list[TestResult], load_error: str | None) -> CodeStatus:
    failed = [t for t in tests if not t.passed]
    if load_error:
        return "error"
    if not failed:
        return "ok"
    kinds = {t.error_type for t in failed}
    if kinds <= {"Timeout", "NotRun"}:
        return "timeout"
    if kinds <= {"MemoryError", "NotRun"}:
        return "oom"
    if len(failed) == len(tests) and all(t.phase in ("load", "not_run") for t in failed):
        return "error"
    return "failed"


def parse_result(request: CodeRequest, result: ExecResult) -> CodeResult:
    """Turn the sandbox's result of `request` into a `CodeResult`."""
    report: dict[str, Any] | None = None
    try:
        report = json.loads(result.verdict) if result.verdict else None
    except ValueError:
        report = None
    if not isinstance(report, dict):
        return _no_report(request, result)
    load = report.get("load_error")
    load_error = f"{load['error_type']}: {load['message']}" if load else None
    by_name = {t.name: t for t in request.tests}
    tests = [
        TestResult.from_report(d, by_name[d["name"]].source() if d.get("name") in by_name else "")
        for d in report.get("tests", [])
    ]
    if load_error:
        tests = [
            TestResult(t.name, False, "NotRun", "the code did not compile", phase="load")
            for t in request.tests
        ]
    return CodeResult(
        status=_status(tests, load_error),
        tests=tests,
        feedback=feedback_text(tests, load_error),
        wall_s=result.wall_s,
        load_error=load_error,
        sandbox_status=result.status,
        stderr=result.stderr[-STDERR_CAP:],
    )


def _with_limits(options: dict[str, Any], sandbox: Sandbox) -> dict[str, Any]:
    """Default to the sandbox's own limits (its warm pool is shaped by them)."""
    own = getattr(sandbox, "limits", None)
    if options.get("limits") is None and isinstance(own, Limits):
        return {**options, "limits": own}
    return options


def evaluate_code(
    problem: CodeProblem,
    code: str,
    sandbox: Sandbox,
    tests: str = "public",
    **options: Any,
) -> CodeResult:
    """Run `code` against `problem`'s tests in `sandbox`.

    Args:
        problem: the problem.
        code: the candidate (full module or body completion).
        sandbox: where to run it.
        tests: ``public``, ``hidden`` or ``all``.
        **options: `build_request`'s keyword options (timeouts, limits; the sandbox's own
            `limits` by default, with the wall limit set from the time budget).

    Returns:
        The status, per-test results, pass rate and feedback text.
    """
    request = build_request(problem, code, tests, **_with_limits(options, sandbox))
    result = sandbox.run(request.files, request.command, request.limits, judge=request.judge)
    return parse_result(request, result)


def evaluate_many(
    items: Sequence[tuple[CodeProblem, str]],
    sandbox: Sandbox,
    tests: str = "public",
    **options: Any,
) -> list[CodeResult]:
    """`evaluate_code` for many (problem, code) pairs at once, over the sandbox's pool."""
    options = _with_limits(options, sandbox)
    requests = [build_request(p, c, tests, **options) for p, c in items]
    results = sandbox.run_many([r.run_request() for r in requests])
    return [parse_result(q, r) for q, r in zip(requests, results, strict=True)]


def _input_tests(entry_point: str, inputs: Sequence[str | Sequence[Any]]) -> list[TestCase]:
    tests = []
    for i, item in enumerate(inputs):
        if isinstance(item, str):
            call = item
        else:
            call = f"{entry_point}({', '.join(repr(a) for a in item)})"
        tests.append(TestCase(f"input_{i}", call=call))
    return tests


def _outcome(t: TestResult | None) -> dict[str, Any]:
    if t is None:
        return {"status": "crash", "value": None, "error": "no result"}
    if t.passed:
        return {"status": "ok", "value": t.value, "error": None}
    status = "timeout" if t.error_type == "Timeout" else "crash"
    return {"status": status, "value": None, "error": f"{t.error_type}: {t.message}"}


def run_matrix(
    codes: Sequence[str],
    entry_point: str,
    inputs: Sequence[str | Sequence[Any]],
    sandbox: Sandbox,
    *,
    context: str = "",
    timeout_s: float = 5.0,
) -> list[list[dict[str, Any]]]:
    """Run every candidate on every input (FunCoder's consensus matrix), one sandbox call each.

    Args:
        codes: full modules, each defining `entry_point`.
        entry_point: the function to call.
        inputs: each a Python expression (``"f([1, 2], 3)"``) or a list of positional args.
        sandbox: where to run.
        context: definitions loaded before each candidate (e.g. `CodeProblem.context`).
        timeout_s: per-input limit.

    Returns:
        ``matrix[i][j]`` for candidate i on input j: ``{"status": "ok"|"crash"|"timeout",
        "value": JSON value (``{"__repr__": ...}`` when JSON cannot hold it), "error": str|None}``
        -- the shape of `workbench.optimizers.codegen.funcoder.Outcome.from_dict`.
    """
    tests = _input_tests(entry_point, inputs)
    limits = _with_limits({}, sandbox).get("limits")
    requests = [
        make_request(
            c, entry_point, tests, context=context, test_timeout_s=timeout_s, limits=limits
        )
        for c in codes
    ]
    results = sandbox.run_many([r.run_request() for r in requests])
    matrix = []
    for request, result in zip(requests, results, strict=True):
        parsed = parse_result(request, result)
        by_name = {t.name: t for t in parsed.tests}
        matrix.append([_outcome(by_name.get(t.name)) for t in tests])
    return matrix


def run_on_inputs(
    code: str,
    entry_point: str,
    inputs: Sequence[str | Sequence[Any]],
    sandbox: Sandbox,
    *,
    context: str = "",
    timeout_s: float = 5.0,
) -> list[dict[str, Any]]:
    """One candidate on each input; see `run_matrix` for the arguments and the result shape."""
    return run_matrix([code], entry_point, inputs, sandbox, context=context, timeout_s=timeout_s)[0]
