"""Running workflow code in the sandbox: trainable-function calls and test commands.

:class:`SandboxExecutor` is a ``@bundle`` executor: each call of a trainable function ships its
current source and JSON arguments to the sandbox, and the result (or the error, as a
:class:`~workbench.trace.RemoteError` with its line) comes back into the graph. A result that
holds numpy arrays or scalars comes back as lists and numbers.
:func:`parse_test_output` reads pytest or unittest summaries into per-test results.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from workbench.sandbox import Limits
from workbench.trace import CodeCall, RemoteError

__all__ = ["RUNNER", "SandboxExecutor", "parse_test_output"]

RUNNER = r"""
import asyncio, json, sys, traceback
call = json.load(open("_call.json"))
out = {}


def plain(value):
    # numpy arrays and scalars (anything with tolist) travel as lists and numbers
    if callable(getattr(value, "tolist", None)):
        return value.tolist()
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


try:
    ns = {"__name__": "candidate"}
    exec(compile(call["source"], "<candidate>", "exec"), ns)
    result = ns[call["name"]](*call["args"], **call["kwargs"])
    if call["is_async"]:
        result = asyncio.run(result)
    out = {"ok": True, "value": json.loads(json.dumps(result, default=plain))}
except BaseException as exc:
    line = None
    if isinstance(exc, SyntaxError) and exc.filename == "<candidate>":
        line = exc.lineno
    for frame in traceback.extract_tb(exc.__traceback__):
        if frame.filename == "<candidate>":
            line = frame.lineno
    out = {"ok": False, "type": type(exc).__name__, "message": str(exc)[:2000], "line": line}
print("\n@@RESULT@@" + json.dumps(out, default=repr))
"""


class SandboxExecutor:
    """Runs ``CodeCall``s in a sandbox (``sandbox()`` returns the run's ``Sandbox``).

    Args:
        sandbox: Returns the sandbox to run in (opened lazily by the run).
        timeout_s: Time limit per call.
    """

    def __init__(self, sandbox: Callable[[], Any], timeout_s: float = 60) -> None:
        self.sandbox = sandbox
        self.timeout_s = timeout_s

    def __call__(self, call: CodeCall) -> Any:
        try:
            payload = json.dumps(
                {
                    "name": call.name,
                    "source": call.source,
                    "args": list(call.args),
                    "kwargs": call.kwargs,
                    "is_async": call.is_async,
                }
            )
        except TypeError as exc:
            msg = f"arguments of {call.name} must be JSON to run in the sandbox: {exc}"
            raise TypeError(msg) from None
        files = {"_call.json": payload, "_runner.py": RUNNER}
        res = self.sandbox().run(files, ["python3", "_runner.py"], Limits(timeout_s=self.timeout_s))
        marker = res.stdout.rfind("@@RESULT@@")
        if res.status != "ok" or marker < 0:
            detail = (res.stderr or res.stdout or "").strip()[-500:]
            raise RemoteError(res.status.capitalize() + "Error", f"the sandbox run ended: {detail}")
        out = json.loads(res.stdout[marker + len("@@RESULT@@") :])
        if not out["ok"]:
            raise RemoteError(out["type"], out["message"], out.get("line"))
        return out["value"]


_PYTEST_LINE = re.compile(r"^(?:\S+::)?(\S+?)\s+(PASSED|FAILED|ERROR)\b", re.MULTILINE)
_UNITTEST_LINE = re.compile(r"^(\w+) \([\w.]+\)(?: \.\.\.|\n.*?\.\.\.) (ok|FAIL|ERROR)\b", re.M)
_COUNTS = re.compile(r"(\d+) (passed|failed|errors?)\b")
_RAN = re.compile(r"^Ran (\d+) tests?", re.MULTILINE)
_UNITTEST_FAILED = re.compile(r"^FAILED \(([^)]*)\)", re.MULTILINE)


def parse_test_output(text: str, exit_code: int | None) -> tuple[int, int, list[dict[str, Any]]]:
    """Read a pytest (``-q``/``-v``) or unittest (``-v``) run.

    Returns:
        ``(passed, total, tests)`` where ``tests`` holds ``{"name", "passed", "message"}`` for
        each test named in verbose output. When no summary is found, the run counts as one
        test that passed when the command exited 0.
    """
    tests: list[dict[str, Any]] = []
    for m in _PYTEST_LINE.finditer(text):
        tests.append({"name": m.group(1), "passed": m.group(2) == "PASSED", "message": ""})
    for m in _UNITTEST_LINE.finditer(text):
        tests.append({"name": m.group(1), "passed": m.group(2) == "ok", "message": ""})
    ran = _RAN.search(text)
    if ran is not None:  # unittest
        total = int(ran.group(1))
        bad = 0
        if failed := _UNITTEST_FAILED.search(text):
            bad = sum(int(n) for n in re.findall(r"(?:failures|errors)=(\d+)", failed.group(1)))
        return total - bad, total, tests
    counts: dict[str, int] = {}
    for n, kind in _COUNTS.findall(text):
        counts[kind.rstrip("s") if kind.startswith("error") else kind] = int(n)
    if counts:
        total = sum(counts.values())
        return counts.get("passed", 0), total, tests
    if tests:
        return sum(t["passed"] for t in tests), len(tests), tests
    return int(exit_code == 0), 1, tests
