"""Low-level Docker pieces: hardened container spec, exec with a deadline, cgroup stats, reaper.

Why it looks like this (research note §0): docker-py's exec has no timeout and abandoning a
stream leaves the process running, so we drive `exec_create` + a raw exec socket ourselves, with
our own deadline, and always close the socket. `put_archive` does not work on a read-only root
with tmpfs, so files travel as tar over the exec's stdin/stdout.
"""

from __future__ import annotations

import os
import socket
import struct
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import docker
import docker.errors
import requests
from docker.types import LogConfig, Ulimit

from workbench.errors import EngineUnavailable
from workbench.sandbox.seccomp import PROFILE_JSON

__all__ = [
    "CODE_USER",
    "KEEPER_USER",
    "LABEL_EXPIRES",
    "LABEL_HOST",
    "LABEL_PID",
    "LABEL_RUN",
    "CgroupStats",
    "ExecOutcome",
    "Shape",
    "container_kwargs",
    "engine_alive",
    "exec_stream",
    "reap",
    "remove_container",
]

CODE_USER = "1000:1000"
KEEPER_USER = "65534:65534"
LABEL_RUN = "workbench.run"
LABEL_EXPIRES = "workbench.expires"
LABEL_PID = "workbench.pid"
LABEL_HOST = "workbench.host"
ENGINE_ERRORS = (docker.errors.APIError, requests.exceptions.ConnectionError, ConnectionError)


@dataclass(frozen=True)
class Shape:
    """The container-level limits; containers in the pool are reused only for the same shape."""

    memory_mb: int
    cpus: float
    pids: int
    file_size_mb: int
    open_files: int


def container_kwargs(
    image: str,
    shape: Shape,
    *,
    run_id: str,
    expires: float,
    work_mb: int = 256,
    tmp_mb: int = 64,
    shm_mb: int = 64,
    runtime: str | None = None,
    agent_command: list[str] | None = None,
) -> dict[str, Any]:
    """`containers.create` arguments for one hardened, idle container (research note §A2).

    Without `agent_command` the keeper is ``sleep infinity`` as uid 65534 and runs happen by
    `docker exec` as uid 1000. With it, the keeper is the supervisor (`agent.py`): root inside
    the container with only SETUID, SETGID and KILL, fed through the attached stdin.
    """
    fsize = shape.file_size_mb * 1024 * 1024
    kwargs: dict[str, Any] = {
        "image": image,
        "command": ["sleep", "infinity"],
        "user": KEEPER_USER,  # not the code's uid: the sweep `kill -9 -1` must not reach it
        "init": True,
        "network_mode": "none",
        "read_only": True,
        "cap_drop": ["ALL"],
        # our own allow-list (seccomp.py); docker-py sends the JSON text, not a path
        "security_opt": ["no-new-privileges", f"seccomp={PROFILE_JSON}"],
        "mem_limit": f"{shape.memory_mb}m",
        "memswap_limit": f"{shape.memory_mb}m",
        "nano_cpus": int(shape.cpus * 1e9),
        "pids_limit": shape.pids,
        "ulimits": [
            Ulimit(name="fsize", soft=fsize, hard=fsize),
            Ulimit(name="nofile", soft=shape.open_files, hard=shape.open_files),
        ],
        "tmpfs": {
            "/work": f"rw,exec,nosuid,nodev,size={work_mb}m,uid=1000,gid=1000,mode=0755",
            "/tmp": f"rw,exec,nosuid,nodev,size={tmp_mb}m,mode=1777",
            # the judge's files: only uid 1001 may enter (see `Judge`, agent.py)
            "/judge": f"rw,exec,nosuid,nodev,size={tmp_mb}m,uid=1001,gid=1001,mode=0700",
        },
        "shm_size": f"{shm_mb}m",
        "environment": {"HOME": "/work", "TMPDIR": "/tmp", "PYTHONDONTWRITEBYTECODE": "1"},
        "working_dir": "/work",
        "hostname": "sandbox",
        "labels": {
            LABEL_RUN: run_id,
            LABEL_EXPIRES: str(int(expires)),
            LABEL_PID: str(os.getpid()),
            LABEL_HOST: socket.gethostname(),
        },
        "log_config": LogConfig(type="json-file", config={"max-size": "1m", "max-file": "1"}),
    }
    if runtime:
        kwargs["runtime"] = runtime
    if agent_command:
        kwargs.update(
            command=agent_command,
            user="0:0",
            cap_add=["SETUID", "SETGID", "KILL"],
            stdin_open=True,
            log_config=LogConfig(type="none", config={}),
        )
    return kwargs


@dataclass
class ExecOutcome:
    """How one exec ended. `exit_code` is None when we stopped waiting for it."""

    exit_code: int | None
    wall_s: float
    deadline_hit: bool = False
    capped: bool = False


def exec_stream(
    client: docker.DockerClient,
    container_id: str,
    cmd: Sequence[str],
    *,
    deadline: float,
    stdin: bytes | None = None,
    on_stdout: Callable[[bytes], None],
    on_stderr: Callable[[bytes], None],
    read_cap: int | None = None,
    user: str = CODE_USER,
) -> ExecOutcome:
    """Run `cmd` in the container, feeding `stdin`, demuxing output, until EOF or `deadline`.

    Args:
        deadline: `time.monotonic()` value after which we close the stream and give up.
        read_cap: stop reading (and close) once this many output bytes were seen.

    Raises:
        EngineUnavailable: the Docker engine stopped answering.
    """
    api = client.api
    start = time.monotonic()
    try:
        eid = api.exec_create(
            container_id,
            list(cmd),
            stdin=stdin is not None,
            stdout=True,
            stderr=True,
            user=user,
            workdir="/work",
        )["Id"]
        sock = api.exec_start(eid, socket=True)
    except ENGINE_ERRORS as exc:
        raise EngineUnavailable(f"Docker engine failed during exec: {exc}") from exc
    raw: socket.socket = getattr(sock, "_sock", sock)
    outcome = ExecOutcome(exit_code=None, wall_s=0.0)
    seen = 0
    try:
        raw.settimeout(max(deadline - time.monotonic(), 0.01))
        if stdin is not None:
            raw.sendall(stdin)
        try:
            raw.shutdown(socket.SHUT_WR)  # the command's stdin sees EOF
        except OSError:
            pass
        buf = b""
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                outcome.deadline_hit = True
                break
            raw.settimeout(remaining)
            try:
                chunk = raw.recv(65536)
            except TimeoutError:
                outcome.deadline_hit = True
                break
            if not chunk:
                break
            buf += chunk
            while len(buf) >= 8:
                kind, size = struct.unpack(">BxxxL", buf[:8])
                if len(buf) < 8 + size:
                    break
                payload, buf = buf[8 : 8 + size], buf[8 + size :]
                (on_stderr if kind == 2 else on_stdout)(payload)
                seen += size
            if read_cap is not None and seen > read_cap:
                outcome.capped = True
                break
    except TimeoutError:
        outcome.deadline_hit = True
    except OSError as exc:
        if not engine_alive(client):
            raise EngineUnavailable(f"Docker engine went away during exec: {exc}") from exc
    finally:
        for obj in (sock, raw):
            try:
                obj.close()
            except Exception:
                pass
    outcome.wall_s = time.monotonic() - start
    if not (outcome.deadline_hit or outcome.capped):
        outcome.exit_code = _exit_code(api, eid)
    return outcome


def _exit_code(api: Any, eid: str) -> int | None:
    try:
        for _ in range(200):
            info = api.exec_inspect(eid)
            if not info.get("Running"):
                return info.get("ExitCode")
            time.sleep(0.005)
    except ENGINE_ERRORS as exc:
        raise EngineUnavailable(f"Docker engine failed during exec inspect: {exc}") from exc
    return None


def engine_alive(client: docker.DockerClient) -> bool:
    try:
        client.ping()
    except Exception:
        return False
    return True


class CgroupStats:
    """CPU time, peak memory and OOM kills of one container, read from the host's cgroup files.

    Works when the host's /sys/fs/cgroup is readable (root on the Docker host, cgroup v1 or v2).
    When it is not, every reading is None and statuses fall back to exit codes and elapsed time.
    """

    def __init__(self, container_id: str, root: Path = Path("/sys/fs/cgroup")) -> None:
        self.mem = self._find(root, container_id, ("memory", ""), "memory.max_usage_in_bytes")
        self.v2 = None
        if self.mem is None:
            self.v2 = self._find(root, container_id, ("",), "memory.peak") or self._find(
                root, container_id, ("",), "memory.events"
            )
        self.cpu = self._find(root, container_id, ("cpuacct", "cpu,cpuacct"), "cpuacct.usage")

    @staticmethod
    def _find(root: Path, cid: str, ctrls: tuple[str, ...], probe: str) -> Path | None:
        for ctrl in ctrls:
            base = root / ctrl if ctrl else root
            for rel in (f"docker/{cid}", f"system.slice/docker-{cid}.scope"):
                if (base / rel / probe).exists():
                    return base / rel
        return None

    def reset_peak(self) -> None:
        """Start a new peak-memory window (cgroup v1 only; v2's memory.peak is lifetime)."""
        if self.mem is not None:
            try:
                (self.mem / "memory.max_usage_in_bytes").write_text("0")
            except OSError:
                pass

    def read(self) -> tuple[int | None, int | None, int | None]:
        """(cpu nanoseconds, peak memory bytes, OOM-kill count); None where unreadable."""
        cpu = _read_int(self.cpu / "cpuacct.usage") if self.cpu else None
        if self.mem is not None:
            peak = _read_int(self.mem / "memory.max_usage_in_bytes")
            ooms = _read_key(self.mem / "memory.oom_control", "oom_kill")
        elif self.v2 is not None:
            peak = _read_int(self.v2 / "memory.peak")
            ooms = _read_key(self.v2 / "memory.events", "oom_kill")
            cpu_us = _read_key(self.v2 / "cpu.stat", "usage_usec")
            cpu = cpu_us * 1000 if cpu_us is not None else None
        else:
            peak = ooms = None
        return cpu, peak, ooms


def _read_int(path: Path) -> int | None:
    try:
        return int(path.read_text().strip())
    except (OSError, ValueError):
        return None


def _read_key(path: Path, key: str) -> int | None:
    try:
        for line in path.read_text().splitlines():
            name, _, value = line.partition(" ")
            if name == key:
                return int(value)
    except (OSError, ValueError):
        return None
    return None


def remove_container(client: docker.DockerClient, container_id: str, timeout_s: float = 20) -> bool:
    """Force-remove a container, giving up after `timeout_s` (`docker kill` itself can hang)."""
    done = threading.Event()

    def _rm() -> None:
        try:
            client.api.remove_container(container_id, force=True, v=True)
        except docker.errors.NotFound:
            pass
        except Exception:
            return
        done.set()

    thread = threading.Thread(target=_rm, name="workbench-rm", daemon=True)
    thread.start()
    thread.join(timeout_s)
    return done.is_set()


REAP_GRACE_S = 86_400  # past its expiry, a container of a live process here is an orphan


def reap(
    client: docker.DockerClient,
    *,
    owner_pid: int | None = None,
    now: float | None = None,
) -> list[str]:
    """Remove leftover workbench containers and return their ids.

    With `owner_pid`, removes that process's containers (used at exit). Without it, removes
    the containers whose owner process on this host is gone, and those past their expiry: a
    container made from another host that shares the engine (its owner cannot be asked) at
    once, one whose owner here is alive only `REAP_GRACE_S` after it (a pid reused by another
    process); a live run's container is never taken from under it.
    """
    now = time.time() if now is None else now
    try:
        found = client.api.containers(all=True, filters={"label": LABEL_RUN})
    except ENGINE_ERRORS:
        return []
    removed = []
    for info in found:
        labels = info.get("Labels") or {}
        try:
            pid = int(labels.get(LABEL_PID, "0"))
            expires = float(labels.get(LABEL_EXPIRES, "0"))
        except ValueError:
            pid, expires = 0, 0.0
        here = labels.get(LABEL_HOST, socket.gethostname()) == socket.gethostname()
        if owner_pid is not None:
            doomed = here and pid == owner_pid
        elif here:
            doomed = not _pid_alive(pid) or expires + REAP_GRACE_S < now
        else:
            doomed = expires < now
        if doomed and remove_container(client, info["Id"]):
            removed.append(info["Id"])
    return removed


def _pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
