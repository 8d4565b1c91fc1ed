"""LocalSandbox: a subprocess with rlimits a reliability guard, NOT a security boundary.

Used only when named (``backend: local``). The command runs in its own session and process
group, under ``prlimit`` (address space, CPU time, processes, file size, open files), without
network when ``unshare -n`` is allowed, and as ``nobody`` when Workbench runs as root (so the
process limit counts).

Every descendant is contained in a PID namespace when the host allows one (``unshare --pid
--fork --kill-child``, as root or through a user namespace): a small bash is the namespace's
init, and when it ends (the command exited, or the group was killed at the deadline) the kernel
kills everything left in the namespace, including a ``setsid`` + double-fork escape that cleared
its environment. Without a PID namespace the fallback is a sweep for the run's marker in
``/proc/*/environ``, which such an escape evades; each result's notes say which containment ran.
The environment is built from an allow-list, so host secrets never reach the code. Every result
says ``isolated=False``.
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import socket
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
    Judge,
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
# PID 1 of the run's namespace: runs the command in a child, reaps orphans, and exits with the
# command's status (128+N after signal N), which tears the namespace down. The command gets the
# real stderr back from a free fd that bash picks ({err}, never one the caller passes on); the
# shell's own stderr is /dev/null, so its "Segmentation fault"-style reports stay out of it.
PID1 = [
    "/bin/bash",
    "-c",
    'exec {err}>&2 2>/dev/null; (exec 2>&"$err" {err}>&-; exec "$@"); exit $?',
]
PID_NAMESPACE = ["--pid", "--fork", "--kill-child"]
OOM_HINTS = ("MemoryError", "std::bad_alloc", "Cannot allocate memory", "out of memory")


def _put(top: Path, files: Mapping[str, bytes | str]) -> None:
    """Write `files` under `top`; contents starting with ``#!`` are made executable."""
    for name, content in files.items():
        path = top / check_relpath(name)
        path.parent.mkdir(parents=True, exist_ok=True)
        data = content.encode() if isinstance(content, str) else bytes(content)
        path.write_bytes(data)
        if data.startswith(b"#!"):
            path.chmod(0o755)


def _on_fd3(fd: int) -> list[str]:
    """A prefix that moves inherited descriptor `fd` to 3, then runs the rest of the argv.

    bash, since POSIX sh only names descriptors 0-9 in redirections; python3 where bash is not.
    """
    if fd == 3:
        return []
    if shutil.which("bash"):
        return ["bash", "-c", f'exec 3<&{fd} {fd}<&-; exec "$@"', "bash"]
    move = "import os,sys;os.dup2(int(sys.argv[1]),3);os.close(int(sys.argv[1]));"
    return ["python3", "-c", move + "os.execvp(sys.argv[2],sys.argv[2:])", str(fd)]


def _namespace_inits(pid: int) -> list[int]:
    """Children of `pid` that live in another PID namespace: the init of a run's namespace."""
    try:
        ours = os.readlink("/proc/self/ns/pid")
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return []
    inits = []
    for child in children:
        try:
            if os.readlink(f"/proc/{child}/ns/pid") != ours:
                inits.append(int(child))
        except OSError:
            continue
    return inits


def _wait_ended(pid: int, timeout_s: float) -> None:
    """Wait until `pid` has exited (gone, or a zombie), for at most `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            return
        if state in ("Z", "X"):
            return
        time.sleep(0.002)


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
    backend = "local"

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
        self.containment = "marker sweep"
        if not self._contain_in_pid_namespace(network) and not network:  # no network, at least
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

    def _contain_in_pid_namespace(self, network: bool) -> bool:
        """Use the first PID namespace the host allows (root, then user namespaces)."""
        if shutil.which("unshare") is None or not Path(PID1[0]).exists():
            log.warning("LocalSandbox: no PID namespace (no unshare); escapes may outlive a run")
            return False
        net = [] if network else ["-n"]
        for user in ([], ["--map-current-user"], ["-r"]):
            for proc in (["--mount-proc"], []):  # its own /proc: no view of host processes
                cand = ["unshare", *user, *net, *PID_NAMESPACE, *proc]
                if _probe([*cand, "--", *PID1, "wb-init", "true"]):
                    self.unshare = [*cand, "--", *PID1, "wb-init"]
                    self.containment = "pid namespace"
                    return True
        log.warning(
            "LocalSandbox: `unshare --pid` is not allowed here; only processes that keep the "
            "run's environment marker are killed after a run"
        )
        return False

    # -- one run --------------------------------------------------------------------------
    def run(
        self,
        files: Mapping[str, bytes | str],
        command: Sequence[str],
        limits: Limits | None = None,
        *,
        fetch: Sequence[str] = (),
        judge: Judge | None = None,
    ) -> ExecResult:
        """Run `command` in a fresh temp dir; see `Sandbox.run`."""
        lim = limits or self.limits
        fetch_paths = [check_relpath(p) for p in fetch]
        work = Path(tempfile.mkdtemp(prefix="wb-sandbox-", dir=self.root_dir))
        try:
            self._write(work, files)
            if judge is not None:
                result = self._run_judged(work, list(command), lim, judge)
            else:
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
                ex.submit(self.run, r.files, r.command, r.limits, fetch=r.fetch, judge=r.judge)
                for r in requests
            ]
            return [f.result() for f in futures]

    def _write(self, work: Path, files: Mapping[str, bytes | str]) -> None:
        (work / ".tmp").mkdir()
        _put(work, files)
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
                "--",
            ]
        else:
            argv += [f"--nproc={nproc + self._count_uid(os.getuid())}", "--", *self.unshare]
        return [*argv, *command]

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

    def _run_judged(self, work: Path, command: list[str], lim: Limits, judge: Judge) -> ExecResult:
        """The code and its judge side by side, joined by a socket on fd 3 of each.

        The judge runs as this process's user in a 0700 temp dir; the code runs as ``nobody``
        when Workbench runs as root, so it cannot read the judge's files then. Without root
        both share one user: a reliability guard, not a boundary (as every local run).
        """
        jdir = Path(tempfile.mkdtemp(prefix="wb-judge-", dir=self.root_dir))
        ours, theirs = socket.socketpair()
        try:
            _put(jdir, judge.files)
            env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(jdir)}
            env.update(LANG="C.UTF-8", PYTHONDONTWRITEBYTECODE="1", TMPDIR=str(jdir))
            start = time.monotonic()
            proc = subprocess.Popen(
                [*_on_fd3(ours.fileno()), *judge.command],
                cwd=jdir,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                pass_fds=(ours.fileno(),),
                start_new_session=True,
            )
            ours.close()
            verdict, jerr = bytearray(), OutputCapture(65536)

            def read_verdict() -> None:
                assert proc.stdout is not None
                while chunk := proc.stdout.read1(65536):  # type: ignore[attr-defined]
                    verdict.extend(chunk[: max(judge.verdict_cap - len(verdict), 0)])

            def read_jerr() -> None:
                assert proc.stderr is not None
                while chunk := proc.stderr.read1(65536):  # type: ignore[attr-defined]
                    jerr.add(chunk)

            readers = [threading.Thread(target=f, daemon=True) for f in (read_verdict, read_jerr)]
            for t in readers:
                t.start()
            result = self._execute(
                work, [*_on_fd3(theirs.fileno()), *command], lim, pass_fds=(theirs.fileno(),)
            )
            theirs.close()
            try:
                proc.wait(max(lim.timeout_s - (time.monotonic() - start), 0) + 1)
                judge_timeout = False
            except subprocess.TimeoutExpired:
                self._kill_group(proc.pid)
                proc.wait(10)
                judge_timeout = True
            for t in readers:
                t.join(5)
            code = proc.returncode if proc.returncode >= 0 else 128 - proc.returncode
            result.verdict = bytes(verdict)
            result.judge_stderr = jerr.text()
            result.wall_s = time.monotonic() - start
            if judge_timeout:
                result.status, result.exit_code = "timeout", None
            elif result.status not in ("output_limit", "oom"):
                result.status, result.exit_code = ("ok" if code == 0 else "error"), code
            return result
        finally:
            ours.close()
            theirs.close()
            shutil.rmtree(jdir, ignore_errors=True)

    def _execute(
        self, work: Path, command: list[str], lim: Limits, pass_fds: tuple[int, ...] = ()
    ) -> ExecResult:
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
                pass_fds=pass_fds,
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
        if self.containment == "marker sweep":  # a PID namespace died with its init already
            self._kill_marked(nonce)  # escapes that left the group (setsid) but kept the marker
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
            notes=["LocalSandbox is not a security boundary", f"containment: {self.containment}"],
        )

    def _kill_group(self, pgid: int) -> None:
        """SIGKILL a process group. A run in a PID namespace: return once the namespace's init
        has ended, which the kernel allows only after every process in it is dead."""
        inits = _namespace_inits(pgid) if self.containment == "pid namespace" else []
        try:
            os.killpg(pgid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        for pid in inits:
            _wait_ended(pid, timeout_s=5.0)

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
            # --no-unquote: GNU tar would read a backslash in a name as an escape
            ["tar", "-c", "-f", "-", "--no-unquote", "-C", str(work), "--"]
            + [p.encode("utf-8") for p in paths],
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
