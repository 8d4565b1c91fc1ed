"""LocalSandbox: a subprocess with rlimits a reliability guard, NOT a security boundary.

For machines without Docker. The command runs in its own session and process group, under
``prlimit`` (address space, CPU time, processes, file size, open files), without network when
``unshare -n`` is allowed, and as ``nobody`` when Workbench runs as root (so the process limit
counts). At the wall-clock limit the whole group is killed; afterwards every process that still
carries the run's marker in its environment (e.g. a ``setsid`` + double-fork escape) is killed
too. The environment is built from an allow-list, so host secrets never reach the code. Every
result says ``isolated=False``.
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import uuid
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import IO

from workbench.errors import ConfigError
from workbench.sandbox.base import (
    ExecResult,
    Limits,
    OutputCapture,
    RunRequest,
    Sandbox,
    check_relpath,
    classify,
)
from workbench.sandbox.tario import DEFAULT_MAX_BYTES, DEFAULT_MAX_MEMBERS, safe_extract

__all__ = ["LocalSandbox"]

log = logging.getLogger(__name__)

NOBODY = 65534
MARKER = "WORKBENCH_SANDBOX_RUN"
OOM_HINTS = ("MemoryError", "std::bad_alloc", "Cannot allocate memory", "out of memory")


def _probe(cmd: list[str]) -> bool:
    try:
        return subprocess.run(cmd, capture_output=True, timeout=10).returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False


def _public_path(path: str) -> str:
    """The PATH entries any user can search (``nobody`` cannot enter /root/.pyenv)."""
    keep = []
    for entry in path.split(os.pathsep):
        p = Path(entry)
        try:
            ok = (
                p.is_absolute()
                and p.is_dir()
                and all(os.stat(a).st_mode & 0o001 for a in [p, *p.parents])
            )
        except OSError:
            ok = False
        if ok and entry not in keep:
            keep.append(entry)
    return os.pathsep.join(keep) or "/usr/bin:/bin"


class LocalSandbox(Sandbox):
    """Runs commands as host subprocesses under rlimits. Not a security boundary.

    Args:
        limits: default limits of a run.
        workers: parallel runs in `run_many` (default: the number of cores).
        network: allow network access (default False: ``unshare -n`` when the host allows it).
        root_dir: where the per-run temp dirs go (default: the system temp dir).

    Example:
        >>> with LocalSandbox() as sb:
        ...     sb.run({"a.py": "print(6*7)"}, ["python3", "a.py"]).stdout
        '42\\n'
    """

    image_id = "local"
    isolated = False

    def __init__(
        self,
        limits: Limits | None = None,
        *,
        workers: int | None = None,
        network: bool = False,
        root_dir: str | Path | None = None,
    ) -> None:
        self.limits = limits or Limits()
        self.workers = workers or os.cpu_count() or 2
        self.root_dir = Path(root_dir) if root_dir else None
        self.drop_to: int | None = NOBODY if os.geteuid() == 0 else None
        self.unshare: list[str] = []
        if not network:
            for cand in (
                ["unshare", "-n"],
                ["unshare", "--map-current-user", "-n"],
                ["unshare", "-r", "-n"],
            ):
                if shutil.which("unshare") and _probe([*cand, "true"]):
                    self.unshare = [*cand, "--"]
                    break
            else:
                log.warning("LocalSandbox: `unshare -n` is not allowed here; code has network")
        if shutil.which("prlimit") is None:
            raise ConfigError(
                "LocalSandbox needs `prlimit` (util-linux): apt-get install util-linux"
            )
        if self.drop_to is not None and shutil.which("setpriv") is None:
            raise ConfigError("LocalSandbox needs `setpriv` (util-linux) when run as root")

    # -- one run --------------------------------------------------------------------------
    def run(
        self,
        files: Mapping[str, bytes | str],
        command: Sequence[str],
        limits: Limits | None = None,
        *,
        fetch: Sequence[str] = (),
    ) -> ExecResult:
        """Run `command` in a fresh temp dir; see `Sandbox.run`."""
        lim = limits or self.limits
        fetch_paths = [check_relpath(p) for p in fetch]
        work = Path(tempfile.mkdtemp(prefix="wb-sandbox-", dir=self.root_dir))
        try:
            self._write(work, files)
            result = self._execute(work, list(command), lim)
            if fetch_paths:
                self._fetch(work, fetch_paths, result)
            return result
        finally:
            shutil.rmtree(work, ignore_errors=True)

    def run_many(self, requests: Sequence[RunRequest]) -> list[ExecResult]:
        """Run a batch, `workers` at a time; results in request order."""
        if len(requests) <= 1:
            return super().run_many(requests)
        with ThreadPoolExecutor(max_workers=self.workers) as ex:
            futures = [
                ex.submit(self.run, r.files, r.command, r.limits, fetch=r.fetch) for r in requests
            ]
            return [f.result() for f in futures]

    def _write(self, work: Path, files: Mapping[str, bytes | str]) -> None:
        (work / ".tmp").mkdir()
        for name, content in files.items():
            path = work / check_relpath(name)
            path.parent.mkdir(parents=True, exist_ok=True)
            data = content.encode() if isinstance(content, str) else bytes(content)
            path.write_bytes(data)
            if data.startswith(b"#!"):
                path.chmod(0o755)
        if self.drop_to is not None:
            for dirpath, _, names in os.walk(work):
                os.chown(dirpath, self.drop_to, self.drop_to)
                for n in names:
                    os.chown(os.path.join(dirpath, n), self.drop_to, self.drop_to)

    def _argv(self, lim: Limits, command: list[str]) -> list[str]:
        mem = int(lim.memory_mb) * 2**20
        fsize = int(lim.file_size_mb) * 2**20
        cpu = int(lim.timeout_s) + 2
        nproc = int(lim.pids) + (self._count_uid(self.drop_to) if self.drop_to is not None else 0)
        argv = [
            "prlimit",
            f"--as={mem}",
            f"--cpu={cpu}",
            f"--fsize={fsize}",
            f"--nofile={int(lim.open_files)}",
            "--core=0",
        ]
        if self.drop_to is not None:  # root ignores RLIMIT_NPROC; nobody does not
            argv += [
                f"--nproc={nproc}",
                "--",
                *self.unshare,
                "setpriv",
                f"--reuid={self.drop_to}",
                f"--regid={self.drop_to}",
                "--clear-groups",
            ]
        else:
            argv += [f"--nproc={nproc + self._count_uid(os.getuid())}", "--", *self.unshare]
        return [*argv, "--", *command] if argv[-1] != "--" else [*argv, *command]

    @staticmethod
    def _count_uid(uid: int) -> int:
        n = 0
        for d in Path("/proc").iterdir():
            if d.name.isdigit():
                try:
                    if d.stat().st_uid == uid:
                        n += 1
                except OSError:
                    pass
        return n

    def _execute(self, work: Path, command: list[str], lim: Limits) -> ExecResult:
        nonce = uuid.uuid4().hex
        path = os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin")
        env = {
            "PATH": _public_path(path) if self.drop_to is not None else path,
            "HOME": str(work),
            "TMPDIR": str(work / ".tmp"),
            "LANG": "C.UTF-8",
            "PYTHONDONTWRITEBYTECODE": "1",
            MARKER: nonce,
        }
        out, err = OutputCapture(int(lim.output_bytes)), OutputCapture(int(lim.output_bytes))
        read_cap = 2 * int(lim.output_bytes)
        seen = [0]
        capped = threading.Event()
        start = time.monotonic()
        try:
            proc = subprocess.Popen(
                self._argv(lim, command),
                cwd=work,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                start_new_session=True,
            )
        except OSError as exc:
            return ExecResult(
                status="error",
                exit_code=127,
                stdout="",
                stderr=f"sandbox: {exc}",
                truncated=False,
                wall_s=time.monotonic() - start,
                cpu_s=None,
                peak_memory_mb=None,
                isolated=False,
            )
        lock = threading.Lock()

        def pump(stream: IO[bytes], cap: OutputCapture) -> None:
            while chunk := stream.read1(65536):  # type: ignore[attr-defined]
                with lock:
                    cap.add(chunk)
                    seen[0] += len(chunk)
                    over = seen[0] > read_cap
                if over and not capped.is_set():
                    capped.set()
                    self._kill_group(proc.pid)
            stream.close()

        readers = [
            threading.Thread(target=pump, args=(proc.stdout, out), daemon=True),
            threading.Thread(target=pump, args=(proc.stderr, err), daemon=True),
        ]
        for t in readers:
            t.start()
        waited: dict[str, object] = {}

        def wait() -> None:
            _, status, usage = os.wait4(proc.pid, 0)
            waited["status"], waited["usage"] = status, usage

        waiter = threading.Thread(target=wait, daemon=True)
        waiter.start()
        waiter.join(lim.timeout_s)
        deadline_hit = waiter.is_alive()
        if deadline_hit:
            self._kill_group(proc.pid)
            waiter.join(10)
        wall = time.monotonic() - start
        self._kill_group(proc.pid)  # children left in the group
        self._kill_marked(nonce)  # and escapes that left it (setsid)
        for t in readers:
            t.join(5)
        proc.returncode = 0  # reaped by os.wait4 above; keep Popen from waiting again
        code: int | None = None
        cpu = peak = None
        if "status" in waited:
            code = os.waitstatus_to_exitcode(waited["status"])  # type: ignore[arg-type]
            code = 128 - code if code < 0 else code
            usage = waited["usage"]
            cpu = usage.ru_utime + usage.ru_stime  # type: ignore[attr-defined]
            peak = usage.ru_maxrss / 1024  # type: ignore[attr-defined]
        oom = code not in (0, None) and any(h in err.text()[-4096:] for h in OOM_HINTS)
        return ExecResult(
            status=classify(
                code,
                wall,
                lim.timeout_s,
                deadline_hit=deadline_hit,
                capped=capped.is_set(),
                oom=oom,
            ),
            exit_code=None if deadline_hit else code,
            stdout=out.text(),
            stderr=err.text(),
            truncated=out.truncated or err.truncated or capped.is_set(),
            wall_s=wall,
            cpu_s=cpu,
            peak_memory_mb=peak,
            isolated=False,
            notes=["LocalSandbox is not a security boundary"],
        )

    @staticmethod
    def _kill_group(pgid: int) -> None:
        try:
            os.killpg(pgid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass

    @staticmethod
    def _kill_marked(nonce: str) -> None:
        needle = f"{MARKER}={nonce}".encode()
        for _ in range(5):
            found = False
            for d in Path("/proc").iterdir():
                if not d.name.isdigit():
                    continue
                try:
                    if needle in (d / "environ").read_bytes():
                        os.kill(int(d.name), signal.SIGKILL)
                        found = True
                except (OSError, ValueError):
                    continue
            if not found:
                return
            time.sleep(0.02)

    def _fetch(self, work: Path, paths: list[str], result: ExecResult) -> None:
        proc = subprocess.run(
            ["tar", "-c", "-f", "-", "-C", str(work), "--", *paths],
            capture_output=True,
            timeout=60,
        )
        got = safe_extract(
            proc.stdout, max_bytes=DEFAULT_MAX_BYTES, max_members=DEFAULT_MAX_MEMBERS
        )
        result.files = got.files
        result.notes.extend(got.notes)
        if proc.stderr:
            result.notes.append("fetch: " + proc.stderr.decode(errors="replace").strip()[:2000])
