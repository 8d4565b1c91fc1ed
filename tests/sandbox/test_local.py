"""`LocalSandbox` contains every descendant: an escape that leaves the process group, the
session and its environment marker still dies with the run (PID namespace)."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import threading
import time
import uuid
from pathlib import Path

import pytest

from tests.fixtures.needs import missing
from workbench.sandbox import Limits, LocalSandbox

# Double fork + setsid, then execve with an empty environment: no process group, no session and
# no marker in /proc/<pid>/environ are left to find it by. The grandchild's stdio goes to
# /dev/null, so no pipe of the run ties it to the run either.
ESCAPE = r"""
import os, sys, time
tag, sleep, linger = sys.argv[1], sys.argv[2], float(sys.argv[3])
r, w = os.pipe()
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        null = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(null, fd)
        os.write(w, b"go")
        os.execve(sleep, ["sleep", tag], {})
    os._exit(0)
os.read(r, 2)
time.sleep(linger)
print("parent done", flush=True)
"""


def _pids_running(tag: str) -> list[int]:
    """Host pids of ``sleep <tag>`` processes that have not exited."""
    want = b"sleep\0" + tag.encode() + b"\0"
    found = []
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            if (d / "cmdline").read_bytes() == want and _alive(int(d.name)):
                found.append(int(d.name))
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")  # a zombie is dead; only its parent has not reaped it


def _host_allows_pid_namespaces() -> bool:
    """Probed apart from the sandbox, so a sandbox that does not use one fails, not skips."""
    unshare = ["unshare", "--pid", "--fork", "--kill-child"]
    for user in ([], ["--map-current-user"], ["-r"]):
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            if subprocess.run([*unshare, *user, "true"], timeout=10).returncode == 0:
                return True
    return False


@pytest.fixture
def contained(local_sandbox: LocalSandbox) -> LocalSandbox:
    if not _host_allows_pid_namespaces():
        missing("this host allows no PID namespace (unshare --pid), so escapes are not contained")
    return local_sandbox


@pytest.mark.parametrize(
    ("linger", "timeout_s", "status"),
    [(1.0, 10, "ok"), (30.0, 2, "timeout")],
    ids=["command-exits", "deadline-kill"],
)
def test_an_escape_with_an_empty_environment_dies_with_the_run(
    contained: LocalSandbox, linger: float, timeout_s: float, status: str
) -> None:
    tag = f"4321.{uuid.uuid4().int % 10**6:06d}"  # a unique duration names the escaped sleep
    sleep = shutil.which("sleep")
    assert sleep is not None
    seen: list[int] = []
    stop = threading.Event()

    def watch() -> None:  # records the escape's host pid while the run is on
        while not stop.is_set() and not seen:
            seen.extend(_pids_running(tag))
            time.sleep(0.01)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        res = contained.run(
            {"escape.py": ESCAPE},
            ["python3", "escape.py", tag, sleep, str(linger)],
            Limits(timeout_s=timeout_s),
        )
    finally:
        stop.set()
        watcher.join(5)
    try:
        assert res.status == status, res.stderr
        assert seen, "the escape never started, so this test proves nothing"
        assert not [pid for pid in seen if _alive(pid)], "the escaped process outlived the run"
        assert "containment: pid namespace" in res.notes
    finally:
        for pid in _pids_running(tag):
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)


def test_the_namespace_init_is_transparent_and_named_in_the_notes(
    contained: LocalSandbox,
) -> None:
    res = contained.run({}, ["sh", "-c", "echo $$; echo err >&2; exit 3"])
    assert (res.status, res.exit_code, res.stderr) == ("error", 3, "err\n")
    assert res.stdout == "2\n"  # pid 1 is the namespace's init; the command is its child
    assert "containment: pid namespace" in res.notes
    segv = contained.run({}, ["python3", "-c", "import os; os.kill(os.getpid(), 11)"])
    assert (segv.status, segv.exit_code, segv.stdout, segv.stderr) == ("error", 139, "", "")
