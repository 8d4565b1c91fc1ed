"""In-container supervisor of a pooled container (stdlib only; runs as the child of PID 1).

Why: a `docker exec` costs daemon CPU (runc is started per exec), which caps the evaluations a
machine can run per second (figures in bench/README.md). The supervisor takes requests over the
container's attached stdin instead and forks each run itself, so an evaluation costs a fork and
the program's own time.

It runs as root inside the container with only SETUID, SETGID and KILL capabilities (the container
drops all others, has no-new-privileges, a read-only root, no network and our seccomp profile).
The code runs as uid 1000 with no capabilities at all. A run may have a *judge*: a second program,
run as uid 1001 in /judge (mode 0700, so the code cannot read its files), joined to the code by one
Unix socket on fd 3 of both. Only the judge's stdout becomes the verdict; the code can neither
write to it nor signal, trace or read the judge, so it cannot forge the verdict.

After every run the supervisor kills every other process, sends the result, then cleans up out of
any run's time: as uid 1000 it empties /work, /tmp and /dev/shm (iteratively: no depth limit, no
path-length limit, permissions restored first) and removes the System V and POSIX IPC objects the
code made; as uid 1001 it empties /judge. Then it checks, as root, that nothing is left: no
process, no file, no IPC object, the same mounts as at start. A ``clean`` frame says whether the
container may be reused; the host replaces it otherwise.

The supervisor writes a run's input files and cleans up *itself*, with only its effective uid and
gid switched to the owner's (`_as_owner`): a fork per step would cost a millisecond of CPU each.
It does so only while no other process exists in the container (after a sweep proved it, or
before the run is forked), so no code can reach it while it is not root, and it switches back
(or exits) before anything else happens. The code itself always runs in a forked child with real,
effective and saved uid 1000 and no capabilities.

Protocol (host -> agent, stdin): one JSON line ``{"argv", "timeout", "tar_len", "read_cap",
"fetch", "fetch_max_bytes", "fetch_max_members", "judge": {"argv", "tar_len", "cap"} | null}``,
then `tar_len` bytes of the code's tar and the judge's tar. Agent -> host (stdout): frames
``struct(">BI") kind, length`` + payload; kinds 0 ready, 1 stdout, 2 stderr, 4 fetched tar,
6 verdict (the judge's stdout), 7 the judge's stderr, 3 result JSON (last frame of a run),
8 clean-up report JSON (after the result).
"""

from __future__ import annotations

import io
import json
import os
import select
import signal
import struct
import sys
import tarfile
import time
from collections.abc import Callable
from itertools import islice

UID = GID = 1000
JUDGE_UID = JUDGE_GID = 1001
DIRS = ("/work", "/tmp", "/dev/shm")
JUDGE_DIR = "/judge"
MODES = {"/work": 0o755, JUDGE_DIR: 0o700}  # as the container's tmpfs mounts make them
MQUEUE = "/dev/mqueue"
SYSVIPC = ("/proc/sysvipc/shm", "/proc/sysvipc/msg", "/proc/sysvipc/sem")
CLEAN_BUDGET_S = 3.0  # a slower clean-up leaves the container to be replaced (a new one is faster)
JUDGE_ERR_CAP = 65536
OUT = 1
ENV = {"PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8", "PYTHONDONTWRITEBYTECODE": "1"}
# frame kinds (see the protocol above)
KIND_OUT = 1
KIND_ERR = 2
KIND_RESULT = 3
KIND_FETCH = 4
KIND_VERDICT = 6
KIND_JERR = 7
KIND_CLEAN = 8


def _send(kind: int, payload: bytes) -> None:
    data = struct.pack(">BI", kind, len(payload)) + payload
    view = memoryview(data)
    while view:
        n = os.write(OUT, view)
        view = view[n:]


def _others() -> list[int]:
    me, found = os.getpid(), []
    for name in os.listdir("/proc"):
        if name.isdigit() and int(name) not in (1, me):
            try:
                with open(f"/proc/{name}/stat", "rb") as fh:
                    state = fh.read().rsplit(b")", 1)[1].split()[0]
            except OSError:
                continue
            if state != b"Z":
                found.append(int(name))
    return found


REAPED: dict[int, int] = {}  # pid -> wait status of children reaped by a sweep


def _reap() -> None:
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        REAPED[pid] = status


def _wait(pid: int) -> int | None:
    try:
        wpid, status = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return REAPED.pop(pid, 0)
    return status if wpid else None


def sweep() -> bool:
    """Kill every process but PID 1 and this one; True when none is left."""
    for _ in range(400):
        _reap()
        if not _others():
            return True
        try:
            os.kill(-1, signal.SIGKILL)
        except ProcessLookupError:
            pass
        time.sleep(0.005)
    return not _others()


# -- clean-up (runs in forked children, as the owner of what it removes) -----------------------
def empty_dir(top: str, deadline: float) -> None:
    """Remove everything under `top` without recursion, long paths or following links.

    Descends with chdir (so 10,000 nested directories need neither a deep stack nor a path
    longer than PATH_MAX), restoring the owner's permissions on each directory first. Reads a
    directory in batches, so a million entries cost no more memory than a few thousand.
    """
    own = os.lstat(top).st_uid == os.geteuid()
    if own:  # /work and /judge; /tmp and /dev/shm belong to root (mode 1777)
        os.chmod(top, 0o700)
    os.chdir(top)
    names: list[str] = []  # the directories we are inside, below `top`
    while time.monotonic() < deadline:
        with os.scandir(".") as it:
            batch = [(e.name, e.is_dir(follow_symlinks=False)) for e in islice(it, 4096)]
        if not batch:
            if not names:
                if own:
                    os.chmod(top, MODES.get(top, 0o700))
                return
            os.chdir("..")
            os.rmdir(names.pop())
            continue
        for name, is_dir in batch:
            if not is_dir:
                os.unlink(name)
        sub = next((name for name, is_dir in batch if is_dir), None)
        if sub is not None:
            os.chmod(sub, 0o700)
            os.chdir(sub)
            names.append(sub)
    raise TimeoutError(f"emptying {top} took longer than the clean-up budget")


def remove_ipc() -> None:
    """Remove the System V IPC objects and POSIX message queues this uid made."""
    kinds = []
    for path, ctl in zip(SYSVIPC, ("shmctl", "msgctl", "semctl"), strict=True):
        try:
            with open(path) as fh:
                rows = fh.read().splitlines()[1:]
        except OSError:
            continue
        ids = [int(r.split()[1]) for r in rows if r.split()]
        if ids:
            kinds.append((ctl, ids))
    if kinds:
        import ctypes  # only when there is something to remove: it costs an import

        libc = ctypes.CDLL(None, use_errno=True)
        for ctl, ids in kinds:
            for ident in ids:
                if ctl == "semctl":
                    libc.semctl(ident, 0, 0)  # IPC_RMID = 0
                else:
                    getattr(libc, ctl)(ident, 0, None)
    if os.path.isdir(MQUEUE):
        for name in os.listdir(MQUEUE):
            try:
                os.unlink(os.path.join(MQUEUE, name))
            except OSError:
                pass


def _as_user(uid: int, gid: int) -> None:
    os.setgroups([])
    os.setgid(gid)
    os.setuid(uid)


def _as_owner(uid: int, gid: int, umask: int, step: Callable[[], None]) -> str:
    """Run `step` with effective uid/gid `uid`/`gid`; '' when it returned, else why not.

    Only while no other process exists in the container (see the module docstring). Real and
    saved uid stay 0, so the supervisor becomes root again afterwards; if it could not, it exits
    and the host replaces the container.
    """
    old = os.umask(umask)
    os.setegid(gid)
    os.seteuid(uid)
    try:
        step()
        return ""
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"[:500]
    finally:
        try:
            os.seteuid(0)
            os.setegid(0)
            os.umask(old)
            os.chdir("/")
        except BaseException:
            os._exit(3)


def _empty(dirs: tuple[str, ...], ipc: bool, deadline: float) -> Callable[[], None]:
    def step() -> None:
        for top in dirs:
            empty_dir(top, deadline)
        if ipc:
            remove_ipc()

    return step


def _leftovers(mounts: str) -> str:
    """As root: what the clean-up left (processes, files, IPC objects, mounts); '' if nothing."""
    if _others():
        return "processes survived"
    for top in (*DIRS, MQUEUE):
        try:
            if os.path.isdir(top) and os.listdir(top):
                return f"{top} is not empty"
        except OSError as exc:
            return f"cannot list {top}: {exc.strerror}"
    for path in SYSVIPC:
        try:
            with open(path) as fh:
                if len(fh.read().splitlines()) > 1:
                    return f"IPC objects left in {path}"
        except OSError:
            continue
    if _mounts() != mounts:
        return "the mounts changed"
    return ""


def _mounts() -> str:
    try:
        with open("/proc/self/mountinfo") as fh:
            return fh.read()
    except OSError:
        return ""


def clean_up(mounts: str, judged: bool) -> dict:
    """Empty every writable place, remove IPC objects, and prove the container is clean.

    /judge (mode 0700, uid 1001) is emptied by its owner when a judge ran; root, without
    CAP_DAC_OVERRIDE, cannot list it, and the code cannot write to it.
    """
    start = time.monotonic()
    deadline = start + CLEAN_BUDGET_S
    why = "" if sweep() else "processes survived"
    why = why or _as_owner(UID, GID, 0o077, _empty(DIRS, True, deadline))
    if not why and judged:
        why = _as_owner(JUDGE_UID, JUDGE_GID, 0o077, _empty((JUDGE_DIR,), False, deadline))
    why = why or _leftovers(mounts)
    return {"clean": not why, "why": why, "s": round(time.monotonic() - start, 4)}


# -- one run ----------------------------------------------------------------------------------
def _extract(tar: bytes, top: str) -> Callable[[], None]:
    def step() -> None:
        if tar:
            _extract_now(tar, top)

    return step


def _extract_now(tar: bytes, top: str) -> None:
    with tarfile.open(fileobj=io.BytesIO(tar), mode="r:") as tf:
        for m in tf:
            if not m.isfile() or m.name.startswith("/") or ".." in m.name.split("/"):
                continue
            dest = os.path.join(top, m.name)
            if "/" in m.name:
                os.makedirs(os.path.dirname(dest), exist_ok=True)
            src = tf.extractfile(m)
            with open(dest, "wb") as fh:
                while src and (chunk := src.read(1 << 20)):
                    fh.write(chunk)
            os.chmod(dest, m.mode & 0o755)


def _start(
    argv: list[str],
    *,
    uid: int,
    gid: int,
    top: str,
    fds: dict[int, int],
    env: dict[str, str],
    oom_adj: str | None,
) -> tuple[int, int]:
    """Fork `argv` as `uid` in `top` with `fds` (target -> source); returns (pid, status fd).

    The status pipe reads ``.`` when the exec succeeded, ``.exec: <why>`` when the command could
    not be run (the caller's failure), and ``prep: <why>`` or nothing at all when the sandbox
    could not set the run up (an infrastructure failure: the process died before its command
    started). The input files are already in `top` (see `handle`).
    """
    r, w = os.pipe()  # close-on-exec: the exec itself closes it after the "."
    pid = os.fork()
    if pid != 0:
        os.close(w)
        return pid, r
    try:
        os.close(r)
        for target, source in fds.items():
            os.dup2(source, target)
        if oom_adj is not None:
            try:
                with open("/proc/self/oom_score_adj", "w") as fh:
                    fh.write(oom_adj)  # the OOM killer takes the code, never the supervisor
            except OSError:
                pass
        _as_user(uid, gid)
        os.umask(0o022 if uid == UID else 0o077)
        os.chdir(top)
        os.closerange(max(fds) + 1, w)
        os.closerange(w + 1, 65536)
        os.write(w, b".")  # set up; what follows (nothing, or why) is the exec's
        try:
            os.execvpe(argv[0], argv, env)
        except OSError as exc:
            os.write(w, f"exec: cannot run {argv[0]!r}: {exc}".encode())
            os.write(2, f"sandbox: cannot run {argv[0]!r}: {exc}\n".encode())
            os._exit(127 if isinstance(exc, FileNotFoundError) else 126)
    except BaseException as exc:
        try:
            os.write(w, f"prep: {type(exc).__name__}: {exc}"[:1000].encode())
        except OSError:
            pass
        os._exit(125)
    finally:
        os._exit(127)


def _status_of(fd: int, exec_is_ours: bool = False) -> str:
    """'' when the command started (or could not be run: its exit code says so), else why not.

    With `exec_is_ours` (the judge: our program, never the caller's code) a command that could
    not be run is a failure of the sandbox too."""
    data = b""
    while chunk := os.read(fd, 4096):
        data += chunk
    os.close(fd)
    text = data.decode(errors="replace")
    if text.startswith(".exec:") and exec_is_ours:
        return text[1:].strip()
    if text.startswith("."):
        return ""
    return text[5:].strip() if text.startswith("prep:") else "the process died while being set up"


def _child_fetch(req: dict, w_out: int, w_err: int) -> None:
    os.dup2(os.open(os.devnull, os.O_RDONLY), 0)  # not the supervisor's request stream
    _as_user(UID, GID)
    os.chdir("/work")
    budget = req["fetch_max_members"] + 1  # one more than the host keeps, so it sees the cap
    stack = list(reversed(req["fetch"]))
    with os.fdopen(w_out, "wb") as out, tarfile.open(fileobj=out, mode="w|") as tf:
        while stack and budget > 0:
            p = stack.pop()
            try:
                tf.add(p, recursive=False)  # symlinks are stored as links, never followed
                budget -= 1
                if os.path.isdir(p) and not os.path.islink(p):
                    stack.extend(os.path.join(p, n) for n in sorted(os.listdir(p), reverse=True))
            except OSError as exc:
                os.write(w_err, f"{p}: {exc.strerror}\n".encode())
    os._exit(0)


class Caps:
    """Per-stream byte caps: the code's output shares `read_cap`; the judge's are separate."""

    def __init__(self, read_cap: int, verdict_cap: int) -> None:
        self.read_cap, self.seen = read_cap, 0
        self.verdict_left = verdict_cap
        self.verdict_capped = False
        self.jerr_left = JUDGE_ERR_CAP

    def take(self, kind: int, data: bytes) -> tuple[bytes, bool]:
        """(bytes to forward, True when the code's output went over its cap)."""
        if kind == KIND_VERDICT:
            if len(data) > self.verdict_left:
                self.verdict_capped = True
                data = data[: self.verdict_left]
            self.verdict_left -= len(data)
            return data, False
        if kind == KIND_JERR:
            data = data[: self.jerr_left]
            self.jerr_left -= len(data)
            return data, False
        self.seen += len(data)
        return data, self.seen > self.read_cap


def _pump(pid: int, fds: dict[int, int], wake: int, deadline: float, caps, sink) -> dict:
    status, timed_out, capped = None, False, False
    t_end = None
    while fds or status is None:
        if status is None:
            st = _wait(pid)
            if st is not None:
                status, t_end = st, time.monotonic()
                sweep()  # the other party, and escapes holding our pipes, die here
                continue
        now = time.monotonic()
        if status is None and now >= deadline and not timed_out:
            timed_out = True
            sweep()
            continue
        wait = 0.5 if timed_out or capped else max(deadline - now, 0.001)
        ready, _, _ = select.select([*fds, wake], [], [], wait)
        for fd in ready:
            if fd == wake:
                try:
                    os.read(wake, 4096)
                except BlockingIOError:
                    pass
                continue
            data = os.read(fd, 65536)
            if not data:
                os.close(fd)
                del fds[fd]
                continue
            data, over = caps.take(fds[fd], data)
            if data:
                sink(fds[fd], data)
            if over and not capped:
                capped = True
                sweep()
    code = None
    if status is not None and not timed_out:
        code = os.waitstatus_to_exitcode(status)
        code = 128 - code if code < 0 else code
    return {"exit_code": code, "timed_out": timed_out, "capped": capped, "t_end": t_end}


def handle(req: dict, tar: bytes, judge_tar: bytes, wake: int) -> dict:
    start = time.monotonic()
    REAPED.clear()
    judge = req.get("judge")
    # the input files, written as their owners while nothing else runs (see `_as_owner`)
    prep = _as_owner(UID, GID, 0o022, _extract(tar, "/work"))
    if judge and not prep:
        prep = _as_owner(JUDGE_UID, JUDGE_GID, 0o077, _extract(judge_tar, JUDGE_DIR))
    if prep:
        return {
            "exit_code": None,
            "timed_out": False,
            "capped": False,
            "wall": time.monotonic() - start,
            "prep_error": f"writing the input files failed: {prep}",
            "clean": sweep(),
        }
    r_out, w_out = os.pipe()
    r_err, w_err = os.pipe()
    null = os.open(os.devnull, os.O_RDONLY)
    env = {**ENV, "HOME": "/work", "TMPDIR": "/tmp"}
    fds = {0: null, 1: w_out, 2: w_err}
    pipes = {r_out: KIND_OUT, r_err: KIND_ERR}
    to_close = [w_out, w_err, null]
    if judge:
        import socket  # the supervisor starts in every container: only a judged run needs it

        code_end, judge_end = socket.socketpair()
        r_ver, w_ver = os.pipe()
        r_jerr, w_jerr = os.pipe()
        fds[3] = code_end.fileno()
        jpid, jstatus = _start(
            judge["argv"],
            uid=JUDGE_UID,
            gid=JUDGE_GID,
            top=JUDGE_DIR,
            fds={0: null, 1: w_ver, 2: w_jerr, 3: judge_end.fileno()},
            env={**ENV, "HOME": JUDGE_DIR, "TMPDIR": JUDGE_DIR},
            oom_adj=None,
        )
        pipes.update({r_ver: KIND_VERDICT, r_jerr: KIND_JERR})
        to_close += [w_ver, w_jerr]
    pid, status_fd = _start(
        req["argv"], uid=UID, gid=GID, top="/work", fds=fds, env=env, oom_adj="1000"
    )
    if judge:
        code_end.close()
        judge_end.close()
    for fd in to_close:
        os.close(fd)
    prep = _status_of(status_fd)
    if judge:
        jprep = _status_of(jstatus, exec_is_ours=True)
        prep = prep or (f"the judge: {jprep}" if jprep else "")
        pid = jpid  # the run ends when the judge has spoken
    caps = Caps(req["read_cap"], int(judge.get("cap", 1 << 24)) if judge else 0)
    res = _pump(pid, pipes, wake, start + req["timeout"], caps, _send)
    res["wall"] = (res.pop("t_end") or time.monotonic()) - start
    if prep:
        res["prep_error"] = prep
    if judge:
        res["verdict_capped"] = caps.verdict_capped
    if req.get("fetch"):
        r_tar, w_tar = os.pipe()
        r_note, w_note = os.pipe()
        fpid = os.fork()
        if fpid == 0:
            try:
                os.close(r_tar)
                os.close(r_note)
                _child_fetch(req, w_tar, w_note)
            finally:
                os._exit(1)
        os.close(w_tar)
        os.close(w_note)
        notes = bytearray()

        def sink(kind: int, data: bytes) -> None:
            if kind == KIND_FETCH:
                _send(KIND_FETCH, data)
            elif len(notes) < 8192:
                notes.extend(data)

        cap = req["fetch_max_bytes"] + (1 << 20)
        fetched = _pump(
            fpid, {r_tar: KIND_FETCH, r_note: 5}, wake, time.monotonic() + 30, Caps(cap, 0), sink
        )
        res["fetch_capped"] = fetched["capped"] or fetched["timed_out"]
        res["fetch_notes"] = notes.decode(errors="replace")
    res["clean"] = sweep()
    return res


def main() -> None:
    r_wake, w_wake = os.pipe()
    os.set_blocking(r_wake, False)
    os.set_blocking(w_wake, False)
    signal.set_wakeup_fd(w_wake)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    os.setgroups([])  # no supplementary group while acting as another uid (`_as_owner`)
    stdin = sys.stdin.buffer
    mounts = _mounts()
    unclean = ""  # once a clean-up fails, the container never runs anything again
    _send(0, b"ready")
    while True:
        line = stdin.readline()
        if not line:
            return
        req = json.loads(line)
        tar = stdin.read(req["tar_len"])  # read(0) is b""
        judge_tar = stdin.read((req.get("judge") or {}).get("tar_len", 0))
        try:
            if unclean:  # the host replaces such a container; it must never run in it
                raise RuntimeError(f"the container is not clean: {unclean}")
            res = handle(req, tar, judge_tar, r_wake)
        except Exception as exc:  # report, never die: the host replaces the container
            res = {"error": f"{type(exc).__name__}: {exc}", "clean": sweep()}
        _send(KIND_RESULT, json.dumps(res).encode())
        if unclean:
            report = {"clean": False, "why": unclean}
        else:
            try:
                report = clean_up(mounts, bool(req.get("judge")))
            except Exception as exc:
                report = {"clean": False, "why": f"{type(exc).__name__}: {exc}"}
            unclean = "" if report["clean"] else report["why"] or "clean-up failed"
        _send(KIND_CLEAN, json.dumps(report).encode())


if __name__ == "__main__":
    main()
