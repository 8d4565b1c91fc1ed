"""ContainerPool accounting without Docker: lends, spares, background fills, staggered retirement.

`_start` (the only method that talks to the engine) is replaced by a fake that hands out ids, so
these tests run everywhere; the real containers are covered by test_docker.py.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from workbench.errors import EngineUnavailable
from workbench.sandbox.engine import Shape
from workbench.sandbox.pool import ContainerPool, Slot

SHAPE = Shape(memory_mb=512, cpus=1.0, pids=256, file_size_mb=64, open_files=1024)


class _Channel:
    """A supervisor whose clean-up report comes when the test says so."""

    def __init__(self) -> None:
        self.dirty = False
        self.report = threading.Event()

    def wait_clean(self, timeout_s: float) -> dict[str, Any]:
        self.report.wait(timeout_s)
        self.dirty = False
        return {"clean": True, "why": ""}

    def close(self) -> None:
        pass


class FakePool(ContainerPool):
    def __init__(self, size: int, spare: int | None = None, **kw: Any) -> None:
        super().__init__(None, "img", size=size, spare=spare, run_id="t", **kw)  # type: ignore[arg-type]
        self.events: list[str] = []
        self.start_s = 0.0
        self.remove_s = 0.0
        self.channels = False

    def _start(self, shape: Shape) -> tuple[str, Any]:
        with self._cond:
            cid = f"c{len(self.events)}"
            self.events.append(f"start {cid}")
        time.sleep(self.start_s)
        return cid, _Channel() if self.channels else None

    def _remove_now(self, slot: Slot) -> None:
        time.sleep(self.remove_s)
        with self._cond:
            self.events.append(f"removed {slot.id}")


@pytest.fixture
def pools() -> Iterator[list[FakePool]]:
    made: list[FakePool] = []
    yield made
    for pool in made:
        pool.close()


def _wait_for(cond: Any, timeout_s: float = 5) -> None:
    end = time.monotonic() + timeout_s
    while not cond():
        assert time.monotonic() < end, "timed out"
        time.sleep(0.005)


def test_lends_at_most_size_and_keeps_spares_warm(pools: list[FakePool]) -> None:
    pool = FakePool(2)
    pools.append(pool)
    assert pool.capacity == 4
    pool.prefill(SHAPE)
    _wait_for(lambda: len(pool._idle.get(SHAPE, [])) == 4)
    a, b = pool.acquire(SHAPE), pool.acquire(SHAPE)
    assert pool.lent == 2 and a.id != b.id
    with pytest.raises(EngineUnavailable, match="no sandbox container free"):
        pool.acquire(SHAPE, timeout_s=0.1)  # two idle, but two are lent already
    pool.release(a)
    assert pool.acquire(SHAPE, timeout_s=0.1).id != b.id
    assert pool.alive == 4 and pool.created == 4


def test_spare_zero_keeps_exactly_size(pools: list[FakePool]) -> None:
    pool = FakePool(1, spare=0)
    pools.append(pool)
    first = pool.acquire(SHAPE)
    pool.release(first)
    assert pool.acquire(SHAPE).id == first.id and pool.alive == 1


def test_a_settling_container_never_stalls_the_next_run(pools: list[FakePool]) -> None:
    """At parallelism 1 the next run takes the spare while the last container cleans up."""
    pool = FakePool(1)
    pools.append(pool)
    pool.channels = True
    pool.prefill(SHAPE)
    _wait_for(lambda: len(pool._idle.get(SHAPE, [])) == 2)
    a = pool.acquire(SHAPE)
    assert a.channel is not None
    a.channel.dirty = True  # a run's result came, its clean-up report not yet
    pool.release(a)
    t = time.monotonic()
    b = pool.acquire(SHAPE, timeout_s=2)
    assert b.id != a.id and time.monotonic() - t < 0.5
    a.channel.report.set()  # type: ignore[attr-defined]
    pool.release(b)
    _wait_for(lambda: len(pool._idle.get(SHAPE, [])) == 2)  # both clean and idle again


def test_retirement_is_staggered_and_the_replacement_starts_first(pools: list[FakePool]) -> None:
    pool = FakePool(2, max_runs=8)
    pools.append(pool)
    pool.prefill(SHAPE)
    _wait_for(lambda: len(pool._idle.get(SHAPE, [])) == 4)
    assert sorted(s.max_runs for s in pool._all.values()) == [5, 6, 7, 8]
    pool.remove_s = 0.3  # a slow `docker rm`
    slot = pool.acquire(SHAPE)
    pool.release(slot, recycle=True)
    _wait_for(lambda: f"removed {slot.id}" in pool.events)
    started = pool.events.index("start c4")
    assert started < pool.events.index(f"removed {slot.id}")  # the successor did not wait
    assert pool._all["c4"].max_runs == 8  # replacements take the full limit
    assert pool.alive == 4


def test_a_run_waits_for_a_fill_in_flight_instead_of_starting_another(
    pools: list[FakePool],
) -> None:
    pool = FakePool(1, spare=0)
    pools.append(pool)
    pool.start_s = 0.2
    pool.prefill(SHAPE)
    slot = pool.acquire(SHAPE)
    assert pool.created == 1 and slot.id == "c0"


def test_a_container_idle_past_its_age_is_replaced_not_lent(pools: list[FakePool]) -> None:
    """An idle container whose age is up carries an expiry label that reapers honour (another
    process's test session removed a long bench's warm containers under its runs): never lent."""
    pool = FakePool(1, spare=0)
    pools.append(pool)
    first = pool.acquire(SHAPE)
    pool.release(first)
    _wait_for(lambda: len(pool._idle.get(SHAPE, [])) == 1)
    first.created -= first.max_age_s + 1  # it idled past its age
    second = pool.acquire(SHAPE)
    assert second.id != first.id
    _wait_for(lambda: f"removed {first.id}" in pool.events)
    assert pool.alive == 1
