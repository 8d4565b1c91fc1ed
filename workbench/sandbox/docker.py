"""DockerSandbox: untrusted code in hardened containers from a warm pool.

A run is one request to the container's supervisor (`agent.py`) over its attached stdin: the
input files travel as a tar, the supervisor forks the command as uid 1000 (after wiping and
checking /work, /tmp and /dev/shm), streams stdout/stderr back, kills it at the time limit,
kills every leftover process afterwards, and returns the fetched files as a tar that the host
reads with `tario.safe_extract`. Images without python3 use `execpath` instead (one
`docker exec` per run, which costs daemon CPU: runc starts per exec). Peak memory, CPU time and
OOM kills come from the host's cgroup files when readable (research note §0 and §D).
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import threading
import time
import uuid
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor

import docker
import docker.errors

from workbench.errors import ConfigError, EngineUnavailable, NotSetUp, SandboxFailure
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
from workbench.sandbox.engine import ENGINE_ERRORS, Shape, engine_alive, reap
from workbench.sandbox.execpath import (
    HOST_SLACK_S,
    KILL_GRACE_S,
    PREP_FAILED,
    clean_up,
    run_exec,
)
from workbench.sandbox.image import default_image
from workbench.sandbox.pool import ContainerPool, Slot
from workbench.sandbox.tario import (
    DEFAULT_MAX_BYTES,
    DEFAULT_MAX_MEMBERS,
    JUDGE_UID,
    pack,
    safe_extract,
)

__all__ = ["DockerSandbox", "allow_docker", "docker_allowed", "docker_client"]

log = logging.getLogger(__name__)

_start_reap_done = threading.Event()
_docker_allowed = threading.Event()
_docker_allowed.set()
BUILD_HINT = "run `workbench sandbox build`"


def allow_docker(flag: bool) -> None:
    """Switch Docker use on or off for this process (the test suite switches it off, STYLE 7)."""
    if flag:
        _docker_allowed.set()
    else:
        _docker_allowed.clear()


def docker_allowed() -> bool:
    """Whether `DockerSandbox` may talk to the engine (see `allow_docker`)."""
    return _docker_allowed.is_set()


def docker_client(timeout_s: float = 60) -> docker.DockerClient:
    """A Docker client for the local engine.

    Raises:
        NotSetUp: no engine answers.
    """
    try:
        client = docker.from_env(timeout=int(timeout_s))
        client.ping()
    except (docker.errors.DockerException, *ENGINE_ERRORS) as exc:
        raise NotSetUp(
            f"no Docker engine answers ({exc}); install docker.io, start dockerd, then "
            f"{BUILD_HINT} (or use the local sandbox: backend: local)"
        ) from exc
    return client


def result_recycles(result: ExecResult | None) -> bool:
    """Whether a container must be replaced after this run (killed runs leave it suspect)."""
    return result is None or result.status in ("timeout", "oom", "output_limit")


def _shape(limits: Limits) -> Shape:
    return Shape(
        memory_mb=int(limits.memory_mb),
        cpus=float(limits.cpus),
        pids=int(limits.pids),
        file_size_mb=int(limits.file_size_mb),
        open_files=int(limits.open_files),
    )


class DockerSandbox(Sandbox):
    """Hardened containers: no network, read-only root, uid 1000, no capabilities, limits.

    Args:
        image: image name; by default the tag `workbench sandbox build` makes.
        limits: default limits of a run.
        pool_size: runs at once, each in its own warm container (default: the number of cores).
        spare: containers kept warm beyond `pool_size` (default: `pool_size`), so that no run
            waits for another container's clean-up or replacement; 0 keeps exactly
            `pool_size` containers.
        pooled: False runs every command in a fresh container removed right after (one-shot).
        max_runs: recycle a container after this many runs. Every run's clean-up is proven
            and a container that fails it is never used again, so this is defence in depth;
            a replacement costs Docker daemon CPU (see `ContainerPool`).
        work_mb, tmp_mb, shm_mb: sizes of the /work, /tmp and /dev/shm tmpfs mounts.
        runtime: an OCI runtime such as ``runsc`` (gVisor), when installed.
        client: a docker client (default: from the environment).

    Raises:
        NotSetUp: no engine, or the image is missing.

    Example:
        >>> with DockerSandbox() as sb:  # doctest: +SKIP
        ...     sb.run({"a.py": "print(6*7)"}, ["python3", "a.py"]).stdout
        '42\\n'
    """

    isolated = True
    backend = "docker"

    def __init__(
        self,
        image: str | None = None,
        *,
        limits: Limits | None = None,
        pool_size: int | None = None,
        spare: int | None = None,
        pooled: bool = True,
        max_runs: int = 200,
        work_mb: int = 256,
        tmp_mb: int = 64,
        shm_mb: int = 64,
        runtime: str | None = None,
        agent: bool | None = None,
        client: docker.DockerClient | None = None,
    ) -> None:
        if not docker_allowed():
            raise NotSetUp(
                "Docker use is switched off in this process (tests: mark the test `docker` "
                "and use the `docker_sandbox` fixture)"
            )
        self.client = client or docker_client()
        self.image = image or default_image()
        try:
            self.image_id = self.client.images.get(self.image).id
        except docker.errors.ImageNotFound as exc:
            raise NotSetUp(f"sandbox image {self.image!r} not found; {BUILD_HINT}") from exc
        except ENGINE_ERRORS as exc:
            raise NotSetUp(f"Docker engine error looking up {self.image!r}: {exc}") from exc
        self.limits = limits or Limits()
        self.pooled = pooled
        self.run_id = uuid.uuid4().hex[:12]
        if not _start_reap_done.is_set():
            _start_reap_done.set()
            gone = reap(self.client)
            if gone:
                log.info("removed %d leftover sandbox containers", len(gone))
            atexit.register(reap, self.client, owner_pid=os.getpid())
        self.pool = ContainerPool(
            self.client,
            self.image,
            size=pool_size or os.cpu_count() or 2,
            spare=spare,
            run_id=self.run_id,
            max_runs=max_runs,
            options={"work_mb": work_mb, "tmp_mb": tmp_mb, "shm_mb": shm_mb, "runtime": runtime},
            agent=self._has_python(runtime) if agent is None else agent,
            exec_cleaner=lambda slot: clean_up(self.client, slot),
        )
        if pooled:
            self.pool.prefill(_shape(self.limits))
        self._closed = False
        atexit.register(self.close)

    def _has_python(self, runtime: str | None) -> bool:
        """Whether the image can run the supervisor (always true for the built image)."""
        if self.image == default_image():
            return True
        # create + start + remove by hand: `containers.run(remove=True)` leaves the container
        # behind when it cannot start (no python3 is exactly that case)
        container = None
        try:
            container = self.client.containers.create(
                self.image,
                ["python3", "-c", "pass"],
                network_mode="none",
                user="65534:65534",
                runtime=runtime,
                labels={"workbench.probe": self.run_id},
            )
            container.start()
            ok = container.wait(timeout=60).get("StatusCode") == 0
        except (docker.errors.DockerException, *ENGINE_ERRORS):
            ok = False
        finally:
            if container is not None:
                with contextlib.suppress(docker.errors.DockerException, *ENGINE_ERRORS):
                    container.remove(force=True)
        if not ok:
            log.info("image %s has no python3: one docker exec per run (slower)", self.image)
        return ok

    def run(
        self,
        files: Mapping[str, bytes | str],
        command: Sequence[str],
        limits: Limits | None = None,
        *,
        fetch: Sequence[str] = (),
        judge: Judge | None = None,
    ) -> ExecResult:
        """Run `command` in /work of a clean container; see `Sandbox.run`.

        A container that could not take the run (its input files could not be written, its
        supervisor failed) is replaced and the run tried once more on a fresh one; a second
        failure raises `SandboxFailure`, so it is never taken for the code's result.
        """
        lim = limits or self.limits
        tar = pack(files) if files else None
        judge_tar = pack(judge.files, uid=JUDGE_UID) if judge is not None else None
        fetch_paths = [check_relpath(p) for p in fetch]
        shape = _shape(lim)
        why = ""
        for attempt in range(2):
            slot = self.pool.acquire(shape) if self.pooled else self.pool.create(shape)
            result, why = None, "the run raised"
            try:
                result, why = self._run_in(slot, tar, command, lim, fetch_paths, judge, judge_tar)
            finally:
                if self.pooled:
                    self.pool.release(slot, recycle=bool(why) or result_recycles(result))
                else:
                    self.pool.discard(slot)
            if not why and result is not None:
                return result
            log.warning("sandbox container unusable (%s); attempt %d of 2", why, attempt + 1)
        raise SandboxFailure(f"the sandbox could not run the code on two fresh containers: {why}")

    def run_many(self, requests: Sequence[RunRequest]) -> list[ExecResult]:
        """Run a batch over the pool, `pool.size` at a time; results in request order."""
        if len(requests) <= 1:
            return super().run_many(requests)
        with ThreadPoolExecutor(max_workers=self.pool.size) as ex:
            futures = [
                ex.submit(self.run, r.files, r.command, r.limits, fetch=r.fetch, judge=r.judge)
                for r in requests
            ]
            return [f.result() for f in futures]

    def _run_in(
        self,
        slot: Slot,
        tar: bytes | None,
        command: Sequence[str],
        lim: Limits,
        fetch: list[str],
        judge: Judge | None,
        judge_tar: bytes | None,
    ) -> tuple[ExecResult, str]:
        """(result, why the container failed the run: '' when it did not)."""
        if slot.channel is not None:
            return self._run_agent(slot, tar, command, lim, fetch, judge, judge_tar)
        if judge is not None:
            raise ConfigError(
                f"this sandbox runs {self.image!r} without its supervisor (one docker exec per "
                "run, for images without python3), so it cannot run a judge; use the image "
                "`workbench sandbox build` makes"
            )
        result = run_exec(self.client, slot, tar, command, lim, fetch)
        broken = result.exit_code == PREP_FAILED and result.stderr.startswith("sandbox: ")
        return result, result.stderr[-300:] if broken else ""

    def _run_agent(
        self,
        slot: Slot,
        tar: bytes | None,
        command: Sequence[str],
        lim: Limits,
        fetch: list[str],
        judge: Judge | None,
        judge_tar: bytes | None,
    ) -> tuple[ExecResult, str]:
        assert slot.channel is not None
        out, err = OutputCapture(int(lim.output_bytes)), OutputCapture(int(lim.output_bytes))
        cpu0, _, oom0 = slot.baseline  # read while the container was idle (`Slot.arm`)
        start = time.monotonic()
        reply = slot.channel.request(
            command,
            tar or b"",
            timeout_s=lim.timeout_s,
            read_cap=2 * int(lim.output_bytes),
            fetch=fetch,
            fetch_max_bytes=DEFAULT_MAX_BYTES,
            fetch_max_members=DEFAULT_MAX_MEMBERS,
            deadline=start + lim.timeout_s + KILL_GRACE_S + HOST_SLACK_S,
            on_stdout=out.add,
            on_stderr=err.add,
            judge_argv=list(judge.command) if judge is not None else None,
            judge_tar=judge_tar or b"",
            verdict_cap=judge.verdict_cap if judge is not None else 0,
        )
        cpu1, peak, oom1 = slot.stats.read()
        oom = None if oom0 is None or oom1 is None else oom1 > oom0
        res = reply.result or {}
        notes = []
        failed = ""
        if reply.result is None or "error" in res:
            slot.channel.broken = True
            if not reply.deadline_hit and reply.result is None and not engine_alive(self.client):
                raise EngineUnavailable("the Docker engine went away during a sandbox run")
            why = res.get("error") or " ".join(reply.agent_errors)[-500:] or "no answer"
            if not reply.deadline_hit:
                failed = f"the container's supervisor failed: {why}"
            err.add(f"\nsandbox: the container's supervisor failed: {why}\n".encode())
            notes.append("sandbox supervisor failed; the container was replaced")
        elif res.get("prep_error"):
            failed = f"the container could not take the run: {res['prep_error']}"
        elif not res.get("clean", True):
            slot.channel.broken = True  # leftover processes: replace the container
        wall = res.get("wall", time.monotonic() - start)
        result = ExecResult(
            status=classify(
                res.get("exit_code"),
                wall,
                lim.timeout_s,
                deadline_hit=bool(res.get("timed_out")) or reply.deadline_hit,
                capped=bool(res.get("capped")),
                oom=oom,
            ),
            exit_code=res.get("exit_code"),
            stdout=out.text(),
            stderr=err.text(),
            truncated=out.truncated or err.truncated or bool(res.get("capped")),
            wall_s=wall,
            cpu_s=(cpu1 - cpu0) / 1e9 if cpu0 is not None and cpu1 is not None else None,
            peak_memory_mb=peak / 2**20 if peak is not None else None,
            isolated=True,
            notes=notes,
            verdict=reply.verdict,
            judge_stderr=reply.judge_stderr.decode(errors="replace"),
        )
        if res.get("verdict_capped"):
            result.notes.append("the judge's verdict was cut at its cap")
        if fetch and reply.result is not None:
            got = safe_extract(
                reply.fetched, max_bytes=DEFAULT_MAX_BYTES, max_members=DEFAULT_MAX_MEMBERS
            )
            result.files = got.files
            result.notes.extend(got.notes)
            if res.get("fetch_capped"):
                result.notes.append(f"fetch stopped after {len(reply.fetched)} bytes")
            if res.get("fetch_notes"):
                result.notes.append("fetch: " + res["fetch_notes"].strip()[:2000])
        return result, failed

    def close(self) -> None:
        """Remove this sandbox's containers."""
        if self._closed:
            return
        self._closed = True
        self.pool.close()
        atexit.unregister(self.close)
