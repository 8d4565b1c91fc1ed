"""Host side of the in-container supervisor (`agent.py`): one attached stream per container."""

from __future__ import annotations

import functools
import json
import socket
import struct
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

import docker

from workbench.errors import EngineUnavailable
from workbench.sandbox.engine import ENGINE_ERRORS

__all__ = ["AgentChannel", "AgentReply", "agent_command"]


def agent_command() -> list[str]:
    """The container command that runs the supervisor (``python3 -I -S -c <agent.py>``)."""
    return ["python3", "-I", "-S", "-c", _agent_source()]


@functools.cache
def _agent_source() -> str:
    return resources.files(__package__).joinpath("agent.py").read_text()


@dataclass
class AgentReply:
    """What the supervisor said about one run. `result` is None when the channel broke.

    `verdict` is the judge's stdout (None without a judge), `judge_stderr` its stderr.
    """

    result: dict[str, Any] | None
    fetched: bytes = b""
    deadline_hit: bool = False
    agent_errors: list[str] = field(default_factory=list)
    verdict: bytes | None = None
    judge_stderr: bytes = b""


class AgentChannel:
    """The attached stdin/stdout of one container's supervisor; one request at a time."""

    def __init__(self, client: docker.DockerClient, container_id: str) -> None:
        try:
            self._sock = client.api.attach_socket(
                container_id, params={"stdin": 1, "stdout": 1, "stderr": 1, "stream": 1}
            )
        except ENGINE_ERRORS as exc:
            raise EngineUnavailable(f"cannot attach to a sandbox container: {exc}") from exc
        self._raw: socket.socket = getattr(self._sock, "_sock", self._sock)
        self._docker_buf = b""  # docker's multiplexed stream, not yet demuxed
        self._out = b""  # the supervisor's stdout, not yet parsed into frames
        self.errors: list[str] = []
        self.broken = False
        self.dirty = False  # a run's result came, its clean-up report not yet

    def wait_ready(self, timeout_s: float = 30) -> bool:
        """Wait for the supervisor's ready frame."""
        frame = self._next_frame(time.monotonic() + timeout_s)
        return frame is not None and frame[0] == 0

    def request(
        self,
        argv: Sequence[str],
        tar: bytes,
        *,
        timeout_s: float,
        read_cap: int,
        fetch: Sequence[str],
        fetch_max_bytes: int,
        fetch_max_members: int,
        deadline: float,
        on_stdout: Callable[[bytes], None],
        on_stderr: Callable[[bytes], None],
        judge_argv: Sequence[str] | None = None,
        judge_tar: bytes = b"",
        verdict_cap: int = 1 << 24,
    ) -> AgentReply:
        """Send one run and collect its frames until the result (or `deadline`)."""
        if self.dirty:
            raise AssertionError("a container was reused before its clean-up report")
        judge = None
        if judge_argv is not None:
            judge = {"argv": list(judge_argv), "tar_len": len(judge_tar), "cap": verdict_cap}
        head = {
            "argv": list(argv),
            "timeout": timeout_s,
            "tar_len": len(tar),
            "read_cap": read_cap,
            "fetch": list(fetch),
            "fetch_max_bytes": fetch_max_bytes,
            "fetch_max_members": fetch_max_members,
            "judge": judge,
        }
        try:
            self._raw.settimeout(max(deadline - time.monotonic(), 0.01))
            self._raw.sendall(json.dumps(head).encode() + b"\n" + tar + judge_tar)
        except OSError as exc:
            self.broken = True
            return AgentReply(None, agent_errors=[f"send failed: {exc}"])
        fetched, verdict, judge_err = bytearray(), bytearray(), bytearray()
        while True:
            frame = self._next_frame(deadline)
            if frame is None:
                self.broken = True
                return AgentReply(None, bytes(fetched), time.monotonic() >= deadline, self.errors)
            kind, payload = frame
            if kind == 1:
                on_stdout(payload)
            elif kind == 2:
                on_stderr(payload)
            elif kind == 4:
                fetched += payload
            elif kind == 6:
                verdict += payload
            elif kind == 7:
                judge_err += payload
            elif kind == 3:
                self.dirty = True
                return AgentReply(
                    json.loads(payload),
                    bytes(fetched),
                    False,
                    self.errors,
                    verdict=bytes(verdict) if judge is not None else None,
                    judge_stderr=bytes(judge_err),
                )

    def wait_clean(self, timeout_s: float) -> dict[str, Any]:
        """The supervisor's clean-up report of the last run: ``{"clean": bool, "why": str}``.

        A container whose report does not come within `timeout_s`, or says it is not clean, must
        not run anything again (the caller replaces it).
        """
        frame = self._next_frame(time.monotonic() + timeout_s)
        if frame is None or frame[0] != 8:
            self.broken = True
            return {"clean": False, "why": "no clean-up report" if frame is None else "bad frame"}
        report = json.loads(frame[1])
        self.dirty = not report.get("clean")
        if self.dirty:
            self.broken = True
        return report

    def _next_frame(self, deadline: float) -> tuple[int, bytes] | None:
        while True:
            if len(self._out) >= 5:
                kind, size = struct.unpack(">BI", self._out[:5])
                if len(self._out) >= 5 + size:
                    payload = self._out[5 : 5 + size]
                    self._out = self._out[5 + size :]
                    return kind, payload
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            try:
                self._raw.settimeout(remaining)
                chunk = self._raw.recv(1 << 18)
            except (TimeoutError, OSError):
                return None
            if not chunk:
                return None
            self._docker_buf += chunk
            while len(self._docker_buf) >= 8:
                stream, size = struct.unpack(">BxxxL", self._docker_buf[:8])
                if len(self._docker_buf) < 8 + size:
                    break
                data = self._docker_buf[8 : 8 + size]
                self._docker_buf = self._docker_buf[8 + size :]
                if stream == 2:  # the supervisor's own stderr: a crash report
                    if len(self.errors) < 50:
                        self.errors.append(data.decode(errors="replace"))
                else:
                    self._out += data

    def close(self) -> None:
        """Close the stream (the supervisor keeps running until the container is removed)."""
        for obj in (self._sock, self._raw):
            try:
                obj.close()
            except Exception:
                pass
