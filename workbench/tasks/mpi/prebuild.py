"""Compile each problem's driver once per sandbox image, then only the candidate per evaluation.

The driver (with the reference and ``<sstream>``) is about three quarters of the compile time of
a candidate. `DriverCache` builds ``driver.o`` (the candidate program's side of the driver) and
the judge's reference program ``refprog`` in one sandbox call that contains **no candidate code**
(so no candidate can tamper with what judges it) and keeps both in memory, keyed by the problem's
sources, its compile flags and the sandbox's `image_id`.
"""

from __future__ import annotations

import hashlib
import logging
import shlex
import threading
from dataclasses import dataclass

from workbench.sandbox import Limits, Sandbox
from workbench.tasks.mpi.problem import MpiProblem
from workbench.tasks.mpi.runner import compile_flags, problem_files, reference_command

__all__ = ["DriverCache", "Prebuilt"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Prebuilt:
    """What `DriverCache` builds for one problem and image."""

    driver_object: bytes
    refprog: bytes


class DriverCache:
    """``driver.o`` and ``refprog`` per (problem sources, flags, sandbox image), built on first
    use.

    Thread-safe; a build that fails is remembered as None and evaluation falls back to compiling
    the driver with each candidate.

    Example:
        >>> cache = DriverCache()
        >>> len(cache)
        0
    """

    def __init__(self) -> None:
        self._objects: dict[str, Prebuilt | None] = {}
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
        flags = shlex.join(reference_command(problem))
        h.update(flags.encode() + b"\0" + image_id.encode())
        return h.hexdigest()

    def build_for(self, problem: MpiProblem, sandbox: Sandbox) -> Prebuilt | None:
        """The driver object and reference program for `problem` in `sandbox`'s image,
        building them if needed; None when the build failed."""
        key = self.key(problem, sandbox.image_id)
        with self._lock:
            if key in self._objects:
                return self._objects[key]
            obj = self._build(problem, sandbox)
            self._objects[key] = obj
            return obj

    def _build(self, problem: MpiProblem, sandbox: Sandbox) -> Prebuilt | None:
        self.builds += 1
        candidate_side = [*compile_flags(problem), "-c", "driver.cpp", "-o", "driver.o"]
        script = f"{shlex.join(candidate_side)} && {shlex.join(reference_command(problem))}"
        script += " && mv refprog.bin refprog"
        timeout = 2 * problem.spec.timeouts.compile_s + 10
        limits = Limits(timeout_s=timeout, memory_mb=problem.spec.memory_mb)
        result = sandbox.run(
            problem_files(problem), ["sh", "-c", script], limits, fetch=["driver.o", "refprog"]
        )
        obj, refprog = result.files.get("driver.o"), result.files.get("refprog")
        if result.status != "ok" or not obj or not refprog:
            log.warning(
                "building the driver of %s failed (%s): %s",
                problem.name,
                result.status,
                result.stderr[-2000:],
            )
            return None
        return Prebuilt(driver_object=obj, refprog=refprog)
