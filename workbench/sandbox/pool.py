"""A warm pool of hardened containers: pre-filled in the background, cleaned on every use.

The supervisor kills every leftover process after a run, sends the result, then cleans up and
proves the container clean (files, processes, IPC objects, mounts); the pool waits for that report
on its own threads before lending the container again. (`execpath`'s script wipes before each
run instead.) A container is removed and replaced in the background after `max_runs` runs, when
older than `max_age_s`, after a timeout, OOM or output-limit kill, or when it could not be proven
clean or its supervisor failed.

At most `size` containers are lent at once; `spare` more are kept warm, so that a run never waits
for another container's clean-up or replacement: with `size` callers each finishing a run at the
same moment, every one still finds a clean container. Replacements start before the old
container is removed, and retirement by runs or age is staggered over the containers, so the
pool is never replacing all of them at once. A replacement costs Docker daemon CPU (create,
start, remove), spread over the `max_runs` evaluations a container serves.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import docker
import docker.errors

from workbench.errors import EngineUnavailable, NotSetUp
from workbench.sandbox.channel import AgentChannel, agent_command
from workbench.sandbox.engine import (
    ENGINE_ERRORS,
    CgroupStats,
    Shape,
    container_kwargs,
    remove_container,
)

__all__ = ["ContainerPool", "Slot"]

log = logging.getLogger(__name__)

CLEAN_WAIT_S = 10.0  # the supervisor's clean-up budget (3 s) plus slack for a loaded machine


@dataclass
class Slot:
    """One pooled container."""

    id: str
    shape: Shape
    stats: CgroupStats
    channel: AgentChannel | None = None
    created: float = field(default_factory=time.monotonic)
    runs: int = 0
    max_runs: int = 200
    max_age_s: float = 1800
    # cgroup counters (cpu ns, peak bytes, OOM kills) read while idle, after the last clean-up:
    # a run's figures are the difference, with no read before the run on its critical path
    baseline: tuple[int | None, int | None, int | None] = (None, None, None)

    def arm(self) -> None:
        """Start a new measurement window (peak memory, CPU and OOM baselines)."""
        self.stats.reset_peak()
        self.baseline = self.stats.read()


class ContainerPool:
    """At most `size` containers lent at once and `size + spare` alive, by `Shape`; thread-safe.

    Args:
        client: the Docker client.
        image: image name or id.
        size: maximum number of containers lent at once (the parallelism the pool serves).
        spare: containers kept warm beyond `size` (default: `size`), so that clean-ups and
            replacements happen on containers no run is waiting for. 0 keeps exactly `size`.
        run_id: value of the ``workbench.run`` label.
        max_runs: recycle a container after this many runs (the first `capacity` containers'
            limits are staggered down to half, so that they are not all replaced at once).
        max_age_s: recycle a container older than this (staggered the same way).
        options: extra `container_kwargs` keywords (work_mb, tmp_mb, shm_mb, runtime).
        agent: run the in-container supervisor (fast path) instead of one `docker exec` per run.
    """

    def __init__(
        self,
        client: docker.DockerClient,
        image: str,
        *,
        size: int,
        spare: int | None = None,
        run_id: str,
        max_runs: int = 200,
        max_age_s: float = 1800,
        options: dict[str, Any] | None = None,
        agent: bool = True,
        exec_cleaner: Callable[[Slot], bool] | None = None,
    ) -> None:
        self.client = client
        self.image = image
        self.size = max(1, size)
        self.spare = self.size if spare is None else max(0, spare)
        self.capacity = self.size + self.spare
        self.run_id = run_id
        self.max_runs = max_runs
        self.max_age_s = max_age_s
        self.options = options or {}
        self.agent = agent
        self.exec_cleaner = exec_cleaner
        self._cond = threading.Condition()
        self._idle: dict[Shape, list[Slot]] = {}
        self._total = 0  # alive or being started
        self._lent = 0
        self._starting: dict[Shape, int] = {}  # background fills in flight
        self._closed = False
        self._error: Exception | None = None
        # fills and removals of a whole generation can be in flight at once
        self._workers = ThreadPoolExecutor(
            max_workers=2 * self.capacity, thread_name_prefix="workbench-pool"
        )
        self._settlers = ThreadPoolExecutor(
            max_workers=self.capacity, thread_name_prefix="workbench-settle"
        )
        self._all: dict[str, Slot] = {}
        self._seq = 0
        self.created = 0  # containers started over the pool's life (for tests and benchmarks)

    # -- filling --------------------------------------------------------------------------
    def prefill(self, shape: Shape) -> None:
        """Start filling the pool with containers of `shape` in the background."""
        with self._cond:
            self._top_up(shape)

    def _top_up(self, shape: Shape) -> None:
        """Start background fills of `shape` up to `capacity` (the caller holds the lock)."""
        while not self._closed and self._total < self.capacity:
            self._total += 1
            self._starting[shape] = self._starting.get(shape, 0) + 1
            try:
                self._workers.submit(self._fill, shape)
            except RuntimeError:  # closed meanwhile
                self._total -= 1
                self._starting[shape] -= 1
                return

    def _fill(self, shape: Shape) -> None:
        """Start one container counted in `_total` and `_starting` by `_top_up`."""
        try:
            slot = self._create(shape)
        except Exception as exc:
            with self._cond:
                if not self._closed:
                    log.warning("sandbox pool fill failed: %s", exc)
                self._total -= 1
                self._starting[shape] -= 1
                self._error = exc
                self._cond.notify_all()
            return
        with self._cond:
            self._starting[shape] -= 1
            self._idle.setdefault(shape, []).append(slot)
            self._cond.notify_all()

    def create(self, shape: Shape) -> Slot:
        """Start one container outside the pool's accounting (one-shot use; see `discard`)."""
        return self._create(shape)

    def discard(self, slot: Slot) -> None:
        """Remove a container made by `create`, now."""
        self._remove(slot)

    def _create(self, shape: Shape) -> Slot:
        cid, channel = self._start(shape)
        with self._cond:  # the first generation's limits are staggered; replacements then are too
            k = self._seq if self._seq < self.capacity else 0
            self._seq += 1
            slot = Slot(
                id=cid,
                shape=shape,
                stats=CgroupStats(cid),
                channel=channel,
                max_runs=max(1, self.max_runs - self.max_runs * k // (2 * self.capacity)),
                max_age_s=self.max_age_s * (1 - k / (2 * self.capacity)),
            )
            self.created += 1
            self._all[slot.id] = slot
            closed = self._closed
        if closed:
            self._remove(slot)
            raise EngineUnavailable("sandbox pool closed while starting a container")
        slot.arm()
        return slot

    def _start(self, shape: Shape) -> tuple[str, AgentChannel | None]:
        """Create and start one hardened container: (its id, its supervisor's channel)."""
        kwargs = container_kwargs(
            self.image,
            shape,
            run_id=self.run_id,
            expires=time.time() + self.max_age_s + 600,
            agent_command=agent_command() if self.agent else None,
            **self.options,
        )
        channel = None
        try:
            container = self.client.containers.create(**kwargs)
        except docker.errors.ImageNotFound as exc:
            raise NotSetUp(
                f"sandbox image {self.image!r} not found; run `workbench sandbox build`"
            ) from exc
        except ENGINE_ERRORS as exc:
            raise EngineUnavailable(f"cannot create a sandbox container: {exc}") from exc
        try:
            if self.agent:  # attach before start, so the ready frame is not missed
                channel = AgentChannel(self.client, container.id)
            container.start()
        except (EngineUnavailable, *ENGINE_ERRORS) as exc:
            if channel is not None:
                channel.close()
            remove_container(self.client, container.id)
            raise EngineUnavailable(f"cannot start a sandbox container: {exc}") from exc
        if channel is not None and not channel.wait_ready():
            channel.close()
            remove_container(self.client, container.id)
            raise EngineUnavailable(
                f"the sandbox supervisor did not start in {self.image!r} (it needs python3): "
                f"{' '.join(channel.errors)[-500:]}"
            )
        return container.id, channel

    def _remove_now(self, slot: Slot) -> None:
        if slot.channel is not None:
            slot.channel.close()
        remove_container(self.client, slot.id)

    def _remove(self, slot: Slot) -> None:
        self._remove_now(slot)
        with self._cond:
            self._all.pop(slot.id, None)

    # -- lending --------------------------------------------------------------------------
    def acquire(self, shape: Shape, timeout_s: float = 120) -> Slot:
        """A clean container of `shape`, waiting while `size` are lent or none is clean yet.

        Starts the container itself only when none of `shape` is idle or on its way; either
        way it tops the pool up in the background, so the next caller finds one warm.

        Raises:
            NotSetUp: the image is missing.
            EngineUnavailable: the engine failed, or nothing was free within `timeout_s`.
        """
        end = time.monotonic() + timeout_s
        with self._cond:
            while True:
                if self._closed:
                    raise EngineUnavailable("sandbox pool is closed")
                if self._lent < self.size:
                    idle = self._idle.get(shape)
                    if idle:
                        slot = idle.pop()
                        if time.monotonic() - slot.created > slot.max_age_s:
                            # idle past its age: its expiry label may be due, and any reaper
                            # (`engine.reap`, another process's) removes it under the run
                            self._total -= 1
                            self._workers.submit(self._remove, slot)
                            continue
                        self._lent += 1
                        self._top_up(shape)
                        return slot
                    if not self._starting.get(shape) and self._total < self.capacity:
                        self._total += 1
                        self._lent += 1
                        break
                    other = next((v for s, v in self._idle.items() if v and s != shape), None)
                    if not self._starting.get(shape) and other:  # make room for this shape
                        victim = other.pop()
                        self._total -= 1
                        self._workers.submit(self._remove, victim)
                        continue
                if isinstance(self._error, NotSetUp):
                    raise self._error
                remaining = end - time.monotonic()
                if remaining <= 0:
                    raise EngineUnavailable(f"no sandbox container free after {timeout_s:g} s")
                self._cond.wait(remaining)
        try:
            slot = self._create(shape)
        except BaseException:
            with self._cond:
                self._total -= 1
                self._lent -= 1
                self._cond.notify_all()
            raise
        with self._cond:
            self._top_up(shape)
        return slot

    def release(self, slot: Slot, *, recycle: bool = False) -> None:
        """Give a used container back: idle again once its clean-up is proven, else replaced.

        The supervisor cleans up after sending a run's result; waiting for its report happens
        on the pool's own threads, so no run's deadline pays for the previous run's clean-up.
        """
        with self._cond:
            self._lent -= 1
            self._cond.notify_all()
        slot.runs += 1
        old = time.monotonic() - slot.created > slot.max_age_s
        reuse = not (recycle or old or slot.runs >= slot.max_runs)
        dirty = slot.channel.dirty if slot.channel is not None else self.exec_cleaner is not None
        if reuse and dirty:
            try:
                self._settlers.submit(self._settle, slot)
                return
            except RuntimeError:  # the pool was closed meanwhile
                reuse = False
        self._put_back(slot, reuse)

    def _settle(self, slot: Slot) -> None:
        """Wait for the supervisor's clean-up report (or, without a supervisor, run the exec
        path's clean-up): idle again if clean, else replace it."""
        if slot.channel is None:
            assert self.exec_cleaner is not None
            self._put_back(slot, self.exec_cleaner(slot))
            return
        report = slot.channel.wait_clean(CLEAN_WAIT_S)
        if not report.get("clean"):
            log.info("sandbox container not reused: %s", report.get("why"))
        self._put_back(slot, bool(report.get("clean")))

    def _put_back(self, slot: Slot, reuse: bool) -> None:
        """Idle again (`reuse`), or removed and replaced in the background."""
        if reuse:
            slot.arm()
            with self._cond:
                if not self._closed:
                    self._idle.setdefault(slot.shape, []).append(slot)
                    self._cond.notify_all()
                    return
        with self._cond:  # the replacement starts now, while the old one is being removed
            if not self._closed:  # (close() has stopped counting)
                self._total -= 1
                self._top_up(slot.shape)
        try:
            self._workers.submit(self._remove, slot)
        except RuntimeError:  # the pool was closed meanwhile
            self._remove(slot)

    # -- closing --------------------------------------------------------------------------
    @property
    def alive(self) -> int:
        """Containers alive or being started (removals in flight not counted)."""
        with self._cond:
            return self._total

    @property
    def lent(self) -> int:
        """Containers lent to runs now."""
        with self._cond:
            return self._lent

    def close(self) -> None:
        """Remove every idle container now; busy ones are removed when released."""
        with self._cond:
            self._closed = True
            self._idle.clear()
            self._cond.notify_all()
        self._settlers.shutdown(wait=True, cancel_futures=True)
        self._workers.shutdown(wait=True, cancel_futures=True)
        with self._cond:
            slots = list(self._all.values())
            self._total = 0
        threads = [threading.Thread(target=self._remove, args=(s,), daemon=True) for s in slots]
        for t in threads:
            t.start()
        for t in threads:
            t.join(25)
