"""Compile each problem's driver once per sandbox image, then only the candidate per evaluation.

The driver (with the reference and ``<sstream>``) is about three quarters of the compile time of
a candidate. `DriverCache` builds ``driver.o`` in a sandbox call that contains **no candidate
code** (so no candidate can tamper with the object that judges it) and keeps it in memory, keyed
by the problem's sources, its compile flags and the sandbox's `image_id`.
"""

from __future__ import annotations

import hashlib
import logging
import shlex
import threading

from workbench.sandbox import Limits, Sandbox
from workbench.tasks.mpi.problem import MpiProblem
from workbench.tasks.mpi.runner import compile_flags, problem_files

__all__ = ["DriverCache"]

log = logging.getLogger(__name__)


class DriverCache:
    """``driver.o`` per (problem sources, flags, sandbox image), built on first use.

    Thread-safe; a build that fails is remembered as None and evaluation falls back to compiling
    the driver with each candidate.

    Example:
        >>> cache = DriverCache()
        >>> len(cache)
        0
    """

    def __init__(self) -> None:
        self._objects: dict[str, bytes | None] = {}
        self._lock = threading.Lock()
        self.builds = 0

    def __len__(self) -> int:
        return len(self._objects)

    @staticmethod
    def key(problem: MpiProblem, image_id: str) -> str:
        """What the object depends on: every input file, the flags and the image."""
        h = hashlib.sha256()
        for name, content in sorted(problem_files(problem).items()):
            data = content.encode() if isinstance(content, str) else content
            h.update(name.encode() + b"\0" + data + b"\0")
        h.update(shlex.join(compile_flags(problem)).encode() + b"\0" + image_id.encode())
        return h.hexdigest()

    def object_for(self, problem: MpiProblem, sandbox: Sandbox) -> bytes | None:
        """The driver object for `problem` in `sandbox`'s image, building it if needed."""
        key = self.key(problem, sandbox.image_id)
        with self._lock:
            if key in self._objects:
                return self._objects[key]
            obj = self._build(problem, sandbox)
            self._objects[key] = obj
            return obj

    def _build(self, problem: MpiProblem, sandbox: Sandbox) -> bytes | None:
        self.builds += 1
        command = [*compile_flags(problem), "-c", "driver.cpp", "-o", "driver.o"]
        timeout = problem.spec.timeouts.compile_s + 10
        limits = Limits(timeout_s=timeout, memory_mb=problem.spec.memory_mb)
        result = sandbox.run(problem_files(problem), command, limits, fetch=["driver.o"])
        obj = result.files.get("driver.o")
        if result.status != "ok" or not obj:
            log.warning(
                "building the driver of %s failed (%s): %s",
                problem.name,
                result.status,
                result.stderr[-2000:],
            )
            return None
        return obj
