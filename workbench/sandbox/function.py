"""FunctionSandbox: a sandbox double whose results come from a plain function (STYLE habit 5).

For unit tests of the layers above (tasks, loop): no process is started.

Example:
    >>> sb = FunctionSandbox(lambda req: "passed" if "x.py" in req.files else "")
    >>> sb.run({"x.py": "..."}, ["python3", "x.py"]).stdout
    'passed'
    >>> len(sb.calls)
    1
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence

from workbench.sandbox.base import (
    ExecResult,
    Judge,
    Limits,
    RunRequest,
    Sandbox,
    Status,
    check_relpath,
)

__all__ = ["FunctionSandbox"]


class FunctionSandbox(Sandbox):
    """A `Sandbox` whose `run` calls ``fn(RunRequest)``.

    `fn` returns an `ExecResult`, or a str taken as the stdout of a successful run. Every request
    is recorded in `calls` (thread-safe). Paths are checked like the real sandboxes do.

    Args:
        fn: the function that plays the sandbox.
        image_id: what `image_id` reports (part of evaluation cache keys).
    """

    isolated = False
    backend = "function"

    def __init__(
        self, fn: Callable[[RunRequest], ExecResult | str], *, image_id: str = "function"
    ) -> None:
        self.fn = fn
        self.image_id = image_id
        self.calls: list[RunRequest] = []
        self._lock = threading.Lock()

    def run(
        self,
        files: Mapping[str, bytes | str],
        command: Sequence[str],
        limits: Limits | None = None,
        *,
        fetch: Sequence[str] = (),
        judge: Judge | None = None,
    ) -> ExecResult:
        """Record the request and return what `fn` says."""
        for name in [*files, *fetch, *(judge.files if judge else ())]:
            check_relpath(name)
        request = RunRequest(dict(files), list(command), limits, list(fetch), judge)
        with self._lock:
            self.calls.append(request)
        out = self.fn(request)
        return self.result(stdout=out) if isinstance(out, str) else out

    @staticmethod
    def result(
        status: Status = "ok",
        *,
        stdout: str = "",
        stderr: str = "",
        exit_code: int | None = None,
        files: dict[str, bytes] | None = None,
        wall_s: float = 0.0,
    ) -> ExecResult:
        """A made-up result; `exit_code` defaults to 0 for ``ok`` and 1 otherwise."""
        if exit_code is None and status in ("ok", "error"):
            exit_code = 0 if status == "ok" else 1
        return ExecResult(
            status=status,
            exit_code=exit_code,
            stdout=stdout,
            stderr=stderr,
            truncated=False,
            wall_s=wall_s,
            cpu_s=None,
            peak_memory_mb=None,
            files=files or {},
            isolated=False,
        )
