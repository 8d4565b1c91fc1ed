"""The sandbox contract: `Sandbox.run(files, command, limits) -> ExecResult`.

Every execution of generated code goes through a `Sandbox`. Implementations are siblings of this
module: `DockerSandbox` (hardened containers in a warm pool), `LocalSandbox` (a subprocess with
rlimits: a reliability guard, not a security boundary) and `FunctionSandbox` (a double driven by a
plain function, for other layers' unit tests).
"""

from __future__ import annotations

import base64
import dataclasses
import math
import posixpath
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Literal

from workbench.errors import ConfigError

__all__ = [
    "STATUSES",
    "ExecResult",
    "Judge",
    "Limits",
    "OutputCapture",
    "RunRequest",
    "Sandbox",
    "Status",
    "check_relpath",
    "classify",
]

Status = Literal["ok", "error", "timeout", "oom", "output_limit"]
STATUSES: tuple[str, ...] = ("ok", "error", "timeout", "oom", "output_limit")


_WHOLE_LIMITS = frozenset({"memory_mb", "pids", "output_bytes", "file_size_mb", "open_files"})


@dataclass
class Limits:
    """Resource limits of one run. Defaults suit a unit-test-sized program.

    Attributes:
        timeout_s: wall-clock limit; the whole process tree is killed after it.
        memory_mb: memory (RAM + swap) limit.
        cpus: CPU share (Docker CFS quota; LocalSandbox ignores it).
        pids: maximum number of processes and threads.
        output_bytes: stdout and stderr are each kept up to this many bytes (head + tail);
            a program printing more than twice this in total is killed (status ``output_limit``).
        file_size_mb: largest file the program may write.
        open_files: maximum open file descriptors.
    """

    timeout_s: float = 10
    memory_mb: int = 512
    cpus: float = 1.0
    pids: int = 128
    output_bytes: int = 1_048_576
    file_size_mb: int = 64
    open_files: int = 256

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            ok = isinstance(value, int | float) and not isinstance(value, bool)
            if not ok or not math.isfinite(value) or value <= 0:
                raise ConfigError(
                    f"sandbox limit {f.name}={value!r} must be a finite positive number"
                )
            if f.name in _WHOLE_LIMITS and value != int(value):
                raise ConfigError(f"sandbox limit {f.name}={value!r} must be a whole number")

    def replace(self, **overrides: Any) -> Limits:
        """A copy with some fields changed; unknown names raise ConfigError."""
        names = {f.name for f in dataclasses.fields(self)}
        unknown = sorted(set(overrides) - names)
        if unknown:
            raise ConfigError(f"unknown sandbox limit(s) {unknown}; known: {sorted(names)}")
        return dataclasses.replace(self, **overrides)

    def to_dict(self) -> dict[str, float]:
        """JSON form."""
        return dataclasses.asdict(self)


@dataclass
class ExecResult:
    """What one run did.

    `status` is ``ok`` (exit 0), ``error`` (other exit code), ``timeout`` (wall limit hit),
    ``oom`` (memory limit hit) or ``output_limit`` (killed for printing too much). `files` holds
    the files the caller asked for with ``fetch``; `notes` says what the sandbox refused or capped
    (e.g. a symlink in the returned files). `isolated` is False when the run was not inside a
    security boundary (LocalSandbox).

    With a `Judge`, `status`, `exit_code` and `wall_s` are the judge's (the run ends when it
    exits), `stdout` and `stderr` are still the code's, `verdict` is what the judge printed
    (None when the run had no judge) and `judge_stderr` its diagnostics.
    """

    status: Status
    exit_code: int | None
    stdout: str
    stderr: str
    truncated: bool
    wall_s: float
    cpu_s: float | None
    peak_memory_mb: float | None
    files: dict[str, bytes] = field(default_factory=dict)
    isolated: bool = True
    notes: list[str] = field(default_factory=list)
    verdict: bytes | None = None
    judge_stderr: str = ""

    @property
    def ok(self) -> bool:
        """True when the command exited 0 within its limits."""
        return self.status == "ok"

    def to_dict(self, *, files: bool = True) -> dict[str, Any]:
        """JSON form; files and the verdict are base64 (files omitted with ``files=False``)."""
        data = dataclasses.asdict(self)
        if self.verdict is not None:
            data["verdict"] = base64.b64encode(self.verdict).decode()
        if files:
            data["files"] = {k: base64.b64encode(v).decode() for k, v in self.files.items()}
        else:
            data.pop("files")
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ExecResult:
        """Inverse of `to_dict` (files, when present, are base64)."""
        values = dict(data)
        values["files"] = {k: base64.b64decode(v) for k, v in values.get("files", {}).items()}
        if values.get("verdict") is not None:
            values["verdict"] = base64.b64decode(values["verdict"])
        return cls(**values)


@dataclass(frozen=True)
class Judge:
    """The program that decides a run's verdict, out of the code's reach.

    It runs beside the code's command, in a directory of its own holding `files` that the code
    cannot read, as a user the code cannot signal, trace or impersonate. The two processes share
    one Unix stream socket, on file descriptor 3 of each: the judge sends the code its work and
    reads back what the code produced, treating every byte as untrusted. Only the judge's stdout
    becomes `ExecResult.verdict`, and the run ends when the judge exits.

    Attributes:
        files: relative path -> content, written to the judge's directory (its working dir).
        command: the judge's argv.
        verdict_cap: bytes of the judge's stdout kept.
    """

    files: Mapping[str, bytes | str]
    command: Sequence[str]
    verdict_cap: int = 16 * 1024 * 1024


@dataclass
class RunRequest:
    """One item of `Sandbox.run_many`: the arguments of `Sandbox.run`."""

    files: Mapping[str, bytes | str]
    command: Sequence[str]
    limits: Limits | None = None
    fetch: Sequence[str] = ()
    judge: Judge | None = None


def check_relpath(path: str) -> str:
    """Normalise a path inside the work dir; refuse absolute paths and ``..``.

    A backslash is an ordinary character of a file name in the sandbox (``a\\b.txt`` is one
    file, not ``a/b.txt``), and any Unicode name is kept as it is; a name that is not valid
    UTF-8 (lone surrogates, from undecodable bytes) is refused, since it cannot be written back.

    Raises:
        ConfigError: the path would leave the work dir, or is not valid UTF-8.
    """
    norm = posixpath.normpath(path)
    if not path or path.startswith("/") or norm == ".." or norm.startswith("../") or "\x00" in path:
        raise ConfigError(f"sandbox file path {path!r} must be relative and stay inside /work")
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:
        raise ConfigError(f"sandbox file path {path!r} is not valid UTF-8") from None
    return norm


class OutputCapture:
    """Keep the head and tail of a byte stream within a cap.

    Stores the first ``cap - tail`` bytes and the last ``tail`` bytes; counts the rest.
    """

    def __init__(self, cap: int, tail: int | None = None) -> None:
        self.cap = max(cap, 0)
        self.tail_cap = min(tail if tail is not None else 65_536, self.cap // 4)
        self.head_cap = self.cap - self.tail_cap
        self.head = bytearray()
        self.tail = bytearray()
        self.seen = 0

    def add(self, data: bytes) -> None:
        """Record the next chunk."""
        self.seen += len(data)
        room = self.head_cap - len(self.head)
        if room > 0:
            self.head += data[:room]
            data = data[room:]
        if data and self.tail_cap:
            self.tail += data
            if len(self.tail) > self.tail_cap:
                del self.tail[: len(self.tail) - self.tail_cap]

    @property
    def truncated(self) -> bool:
        """True when bytes were dropped."""
        return self.seen > len(self.head) + len(self.tail)

    def text(self) -> str:
        """The kept bytes, decoded with replacement, with a marker where bytes were dropped."""
        head = self.head.decode("utf-8", errors="replace")
        if not self.truncated:
            return head + self.tail.decode("utf-8", errors="replace")
        dropped = self.seen - len(self.head) - len(self.tail)
        tail = self.tail.decode("utf-8", errors="replace")
        return f"{head}\n... [{dropped} bytes truncated] ...\n{tail}"


class Sandbox(ABC):
    """Runs commands on files under resource limits. Use as a context manager.

    Subclasses implement `run`; `run_many` runs a batch (in order of the requests) and `close`
    releases resources. `image_id` identifies the execution environment in evaluation cache keys.
    """

    image_id: str = "unknown"
    isolated: bool = True
    backend: str = "unknown"  # "docker", "local", "function": which backend ran a result

    @abstractmethod
    def run(
        self,
        files: Mapping[str, bytes | str],
        command: Sequence[str],
        limits: Limits | None = None,
        *,
        fetch: Sequence[str] = (),
        judge: Judge | None = None,
    ) -> ExecResult:
        """Write `files` under the work dir, run `command` there, return what happened.

        Args:
            files: relative path -> content (str is UTF-8 encoded).
            command: argv, run in the work dir (no shell unless you ask for one).
            limits: per-run limits; the sandbox's defaults when None.
            fetch: relative paths (files or directories) to copy back into `ExecResult.files`.
            judge: a program that decides the verdict beside the code (see `Judge`).

        Raises:
            SandboxFailure: the sandbox could not run it, even on a fresh container.
        """

    def run_many(self, requests: Sequence[RunRequest]) -> list[ExecResult]:
        """Run a batch; results are in the order of `requests`."""
        return [
            self.run(r.files, r.command, r.limits, fetch=r.fetch, judge=r.judge) for r in requests
        ]

    def close(self) -> None:
        """Release containers, temp dirs, threads. Idempotent."""
        return None

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def classify(
    exit_code: int | None,
    wall_s: float,
    timeout_s: float,
    *,
    deadline_hit: bool = False,
    capped: bool = False,
    oom: bool | None = None,
) -> Status:
    """Turn how a run ended into a status.

    `timeout -k` exits 124 (TERM worked) or 137 (KILL was needed) when the limit fired; an OOM
    kill also shows as 137, so 137 counts as a timeout only when the run lasted the whole limit.
    `oom` is the sandbox's own evidence (the cgroup's OOM-kill counter); None when unknown, in
    which case a SIGKILL before the deadline is taken to be the OOM killer's.
    """
    if capped:
        return "output_limit"
    if oom:
        return "oom"
    if deadline_hit or (exit_code in (124, 137) and wall_s >= timeout_s):
        return "timeout"
    if exit_code == 137 and oom is None:
        return "oom"
    return "ok" if exit_code == 0 else "error"
