"""In-container supervisor of a pooled container (stdlib only; runs as the child of PID 1).

Why: a `docker exec` costs about 120 ms of daemon CPU (runc is started per exec), which caps a
2-core machine near 12 evaluations/s. The supervisor takes requests over the container's attached
stdin instead and forks each run itself, so an evaluation costs a fork and the program's own time.

It runs as root inside the container with only SETUID, SETGID and KILL capabilities (the container
drops all others, has no-new-privileges, a read-only root and no network). The code runs as uid
1000 with no capabilities at all: it cannot signal, ptrace or open the fds of the supervisor, so it
cannot forge results. After every run the supervisor kills every other process (``kill(-1)``);
before each run the child wipes /work, /tmp and /dev/shm as uid 1000 and checks them.

Protocol (host -> agent, stdin): one JSON line ``{"argv", "timeout", "tar_len", "read_cap",
"fetch", "fetch_max_bytes", "fetch_max_members"}`` then `tar_len` bytes of tar. Agent -> host
(stdout): frames ``struct(">BI") kind, length`` + payload; kinds 0 ready, 1 stdout, 2 stderr,
4 fetched tar, 3 result JSON (last frame of a run).
"""

from __future__ import annotations

import io
import json
import os
import select
import signal
import stat
import struct
import sys
import tarfile
import time

UID = GID = 1000
DIRS = ("/work", "/tmp", "/dev/shm")
PREP_FAILED = 199
OUT = 1


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


def _wipe() -> str | None:
    """As uid 1000: empty the writable dirs. Returns what could not be removed."""
    for top in DIRS:
        for name in os.listdir(top):
            path = os.path.join(top, name)
            _remove(path)
            if os.path.lexists(path):
                return path
    return None


def _remove(path: str) -> None:
    try:
        st = os.lstat(path)
    except OSError:
        return
    if stat.S_ISDIR(st.st_mode):
        try:
            os.chmod(path, 0o700)
            for name in os.listdir(path):
                _remove(os.path.join(path, name))
            os.rmdir(path)
        except OSError:
            return
    else:
        try:
            os.unlink(path)
        except OSError:
            return


def _become_code_user() -> None:
    try:
        with open("/proc/self/oom_score_adj", "w") as fh:
            fh.write("1000")  # the OOM killer takes the code, never the supervisor
    except OSError:
        pass
    os.setgroups([])
    os.setgid(GID)
    os.setuid(UID)
    os.umask(0o022)


def _child_run(req: dict, tar: bytes, w_out: int, w_err: int) -> None:
    os.dup2(w_out, 1)
    os.dup2(w_err, 2)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    _become_code_user()
    left = _wipe()
    if left is not None:
        os.write(2, f"sandbox: cannot remove {left}\n".encode())
        os._exit(PREP_FAILED)
    try:
        _extract(tar)
    except (OSError, tarfile.TarError) as exc:
        os.write(2, f"sandbox: writing the input files failed: {exc}\n".encode())
        os._exit(125)
    os.chdir("/work")
    os.closerange(3, 65536)
    try:
        os.execvp(req["argv"][0], req["argv"])
    except OSError as exc:
        os.write(2, f"sandbox: cannot run {req['argv'][0]!r}: {exc}\n".encode())
        os._exit(127 if isinstance(exc, FileNotFoundError) else 126)


def _extract(tar: bytes) -> None:
    if not tar:
        return
    with tarfile.open(fileobj=io.BytesIO(tar), mode="r:") as tf:
        for m in tf:
            if not m.isfile() or m.name.startswith("/") or ".." in m.name.split("/"):
                continue
            dest = os.path.join("/work", m.name)
            os.makedirs(os.path.dirname(dest), exist_ok=True)
            src = tf.extractfile(m)
            with open(dest, "wb") as fh:
                fh.write(src.read() if src else b"")
            os.chmod(dest, m.mode & 0o755)


def _child_fetch(req: dict, w_out: int, w_err: int) -> None:
    os.dup2(os.open(os.devnull, os.O_RDONLY), 0)  # not the supervisor's request stream
    _become_code_user()
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


def _pump(pid: int, fds: dict[int, int], wake: int, deadline: float, cap: int, sink) -> dict:
    seen, status, timed_out, capped = 0, None, False, False
    t_end = None
    while fds or status is None:
        if status is None:
            st = _wait(pid)
            if st is not None:
                status, t_end = st, time.monotonic()
                sweep()  # escapes holding our pipes die here
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
            sink(fds[fd], data)
            seen += len(data)
            if seen > cap and not capped:
                capped = True
                sweep()
    code = None
    if status is not None and not timed_out:
        code = os.waitstatus_to_exitcode(status)
        code = 128 - code if code < 0 else code
    return {"exit_code": code, "timed_out": timed_out, "capped": capped, "t_end": t_end}


def handle(req: dict, tar: bytes, wake: int) -> dict:
    start = time.monotonic()
    REAPED.clear()
    r_out, w_out = os.pipe()
    r_err, w_err = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            _child_run(req, tar, w_out, w_err)
        finally:
            os._exit(127)
    os.close(w_out)
    os.close(w_err)
    res = _pump(pid, {r_out: 1, r_err: 2}, wake, start + req["timeout"], req["read_cap"], _send)
    res["wall"] = (res.pop("t_end") or time.monotonic()) - start
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
            if kind == 4:
                _send(4, data)
            elif len(notes) < 8192:
                notes.extend(data)

        cap = req["fetch_max_bytes"] + (1 << 20)
        fetched = _pump(fpid, {r_tar: 4, r_note: 5}, wake, time.monotonic() + 30, cap, sink)
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
    stdin = sys.stdin.buffer
    _send(0, b"ready")
    while True:
        line = stdin.readline()
        if not line:
            return
        req = json.loads(line)
        tar = stdin.read(req["tar_len"]) if req["tar_len"] else b""
        try:
            res = handle(req, tar, r_wake)
        except Exception as exc:  # report, never die: the host recycles on "error"
            res = {"error": f"{type(exc).__name__}: {exc}", "clean": sweep()}
        _send(3, json.dumps(res).encode())


if __name__ == "__main__":
    main()
