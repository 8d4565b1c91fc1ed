"""The MPI judge (`workbench/tasks/mpi/_judge.py`) in process: no MPI, no Docker, no compiler.

`compare` and `read_records` are pure. The protocol tests run `Judge.serve` in a thread with the
expected outputs set by hand (instead of `prepare()`, which needs the reference program) and play
the ranks from the test over plain Unix sockets, byte for byte as `wb_driver.hpp` does.
"""

from __future__ import annotations

import os
import shutil
import socket
import struct
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import pytest

from workbench.tasks.mpi import _judge
from workbench.tasks.mpi._judge import Output, compare, read_records

pytestmark = pytest.mark.timeout(60)

IO_S = 5.0  # every blocking socket call of a test gives up after this long
REAL_THREADS = _judge.threads
SPEC = {
    "np": [1, 2],
    "checks": [{"seed": 5, "sizes": [40, 3], "label": ""}],
    "timed": {"count": 2, "sizes": [40, 3]},
    "run_s": 5,
}


# -- the wire format ------------------------------------------------------------------------------


def pack(kind: str, values: list[float] | list[int]) -> bytes:
    return struct.pack(f"<{len(values)}{'d' if kind == 'd' else 'q'}", *values)


def record(
    name: str,
    kind: str,
    values: list[float] | list[int],
    *,
    rtol: float = 1e-9,
    atol: float = 1e-9,
    count: int | None = None,
) -> bytes:
    """One 'O' record as `wb::detail::put_output` writes it (`count` may lie about the data)."""
    raw = name.encode()
    n = len(values) if count is None else count
    head = b"O" + struct.pack("<H", len(raw)) + raw
    meta = kind.encode() + struct.pack("<ddQ", rtol, atol, n)
    return head + meta + pack(kind, values)


def encode(o: Output) -> bytes:
    """`o` as a record of the reference program's output."""
    raw = o.name.encode()
    meta = o.kind.encode() + struct.pack("<ddQ", o.rtol, o.atol, o.count)
    return b"O" + struct.pack("<H", len(raw)) + raw + meta + o.data


def out(
    name: str, kind: str, values: list[float] | list[int], rtol: float = 1e-9, atol: float = 1e-9
) -> Output:
    return Output(name, kind, rtol, atol, len(values), pack(kind, values))


def values(trial: int, rank: int) -> tuple[list[float], int]:
    """What rank `rank` must send in trial `trial`: y (3 floats) and n (an integer)."""
    return [trial * 10.0 + rank + 0.5 * i for i in range(3)], 100 * trial + rank


def expected_outputs(trial: int, rank: int) -> list[Output]:
    y, n = values(trial, rank)
    return [out("y", "d", y), out("n", "i", [n])]


def right(trial: int, rank: int) -> bytes:
    y, n = values(trial, rank)
    return record("y", "d", y) + record("n", "i", [n], rtol=0.0, atol=0.0)


# -- compare --------------------------------------------------------------------------------------


def test_compare_equal_bytes() -> None:
    want = out("y", "d", [1.0, -2.0, 3.5])
    assert compare(out("y", "d", [1.0, -2.0, 3.5]), want) == ""
    assert compare(out("y", "d", []), out("y", "d", [])) == ""


def test_compare_floats_within_tolerance() -> None:
    want = out("y", "d", [1.0, 1000.0, 0.0], rtol=1e-6, atol=1e-9)
    assert compare(out("y", "d", [1.0 + 5e-7, 1000.0 - 5e-4, 5e-10]), want) == ""
    # just beyond atol + rtol * |want| on the middle element
    error = compare(out("y", "d", [1.0, 1000.0 - 2e-3, 0.0]), want)
    assert error.startswith("y[1] = 999.998, expected 1000.0")


def test_compare_reports_the_first_wrong_element_and_the_count() -> None:
    want = [float(i) for i in range(10)]
    got = list(want)
    got[3], got[7] = 9.0, -1.0
    error = compare(out("y", "d", got), out("y", "d", want))
    assert error == "y[3] = 9.0, expected 3.0 (2 of 10 elements wrong)"


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), float("-inf")])
def test_compare_refuses_non_finite_values(bad: float) -> None:
    want = out("y", "d", [1.0, 2.0], rtol=1e300, atol=1e300)  # any finite value would do
    assert compare(out("y", "d", [1.0, 5.0]), want) == ""
    assert compare(out("y", "d", [1.0, bad]), want) == (
        f"y[1] = {bad!r}, expected 2.0 (1 of 2 elements wrong)"
    )


def test_compare_refuses_an_infinity_of_the_wrong_sign() -> None:
    inf = float("inf")
    assert compare(out("y", "d", [inf]), out("y", "d", [inf])) == ""  # the same bytes
    assert (
        compare(out("y", "d", [-inf]), out("y", "d", [inf], rtol=1.0)) == "y = -inf, expected inf"
    )


def test_compare_size_mismatch() -> None:
    error = compare(out("y", "d", [1.0, 2.0]), out("y", "d", [1.0, 2.0, 3.0]))
    assert error == "y has size 2, expected 3"


def test_compare_integers_exactly() -> None:
    want = out("idx", "i", [1, 2, 3], rtol=0.5, atol=10.0)  # tolerances do not apply to integers
    error = compare(out("idx", "i", [1, 2, 4]), want)
    assert error == "idx[2] = 4, expected 3 (1 of 3 elements wrong)"
    big = 2**62
    # as doubles these would be equal
    assert (
        compare(out("k", "i", [big + 1]), out("k", "i", [big])) == f"k = {big + 1}, expected {big}"
    )


def test_compare_scalar_message_has_no_index() -> None:
    assert compare(out("x", "d", [2.5]), out("x", "d", [1.0])) == "x = 2.5, expected 1.0"


# -- read_records ---------------------------------------------------------------------------------


def test_read_records_round_trip() -> None:
    rank0 = [out("y", "d", [1.0, 2.5, -3.0], rtol=1e-6, atol=1e-12), out("n", "i", [7], 0, 0)]
    rank1 = [out("y", "d", [], rtol=1e-6, atol=1e-12), out("n", "i", [-(2**40)], 0, 0)]
    data = b""
    for outputs in (rank0, [], rank1):
        for o in outputs:
            data += encode(o)
        data += b"D"
    assert read_records(data) == [rank0, [], rank1]
    assert read_records(b"") == []
    name = "résultat"  # names are UTF-8
    assert read_records(record(name, "d", [1.0]) + b"D")[0][0].name == name


def test_read_records_refuses_stray_bytes() -> None:
    with pytest.raises(ValueError, match="unexpected byte b'X' at 0"):
        read_records(b"X")


# -- leftovers: the /proc probes ------------------------------------------------------------------


def test_threads_counts_the_threads_of_a_process() -> None:
    before = _judge.threads(os.getpid())
    assert before >= 1
    release = threading.Event()
    extra = threading.Thread(target=release.wait, args=(IO_S,))
    extra.start()
    try:
        assert _judge.threads(os.getpid()) == before + 1
    finally:
        release.set()
        extra.join(IO_S)
    assert _judge.threads(2**22 + 12345) == 0  # no such process


def test_children_finds_a_child_process() -> None:
    child = subprocess.Popen(["sleep", "30"])
    try:
        assert child.pid in _judge.children({os.getpid()})
        assert child.pid not in _judge.children({child.pid})
    finally:
        child.kill()
        child.wait(IO_S)


# -- the protocol ---------------------------------------------------------------------------------


class Rank:
    """One rank of the candidate program, played by hand."""

    def __init__(self, path: str, rank: int, size: int) -> None:
        self.rank = rank
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(IO_S)
        self.sock.connect(path)
        self.send(b"H" + struct.pack("<ii", rank, size))

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def read(self, n: int) -> bytes:
        """Up to `n` bytes: fewer only when the judge closed the connection."""
        data = b""
        while len(data) < n:
            chunk = self.sock.recv(n - len(data))
            if not chunk:
                break
            data += chunk
        return data

    def seed(self) -> int:
        return self.trial()[0]

    def trial(self) -> tuple[int, list[int]]:
        """The seed and sizes of the trial the judge announces."""
        msg = self.read(10)
        assert msg[:1] == b"T", f"rank {self.rank} expected a trial, got {msg!r}"
        seed, k = struct.unpack("<QB", msg[1:])
        return seed, list(struct.unpack(f"<{k}q", self.read(8 * k)))

    def closed(self) -> bool:
        """True when the judge closed the connection (nothing more to read)."""
        return self.read(1) == b""

    def close(self) -> None:
        self.sock.close()


@dataclass
class Served:
    """A judge serving in a thread; the test plays the script on its end of fd 3 (reading
    the judge's steps, saying ``next``) and the ranks."""

    judge: _judge.Judge
    path: str
    script: socket.socket
    thread: threading.Thread
    errors: list[BaseException] = field(default_factory=list)
    ranks: list[Rank] = field(default_factory=list)
    current: str | None = None  # the judge's last word to the script
    said: bytes = b""

    def line(self) -> str:
        """The judge's next line to the script."""
        self.script.settimeout(IO_S)
        while b"\n" not in self.said:
            chunk = self.script.recv(256)
            assert chunk, "the judge closed the script's socket"
            self.said += chunk
        line, self.said = self.said.split(b"\n", 1)
        self.current = line.decode()
        return self.current

    def next(self) -> str:
        """The script's run of the current step is over: the judge's next step (or 'end')."""
        if self.current is None:  # the first step, named at once
            self.line()
        self.script.sendall(b"next\n")
        return self.line()

    def at(self, stage: str, n: int) -> Served:
        """Say ``next`` until the judge names the step (stage, n)."""
        if self.current is None:
            self.line()
        while not (self.current or "").startswith(f"run {stage} {n} "):
            assert self.current != "end", f"the cascade ended before {stage} {n}"
            self.next()
        return self

    def connect(self, rank: int, size: int) -> Rank:
        r = Rank(self.path, rank, size)
        self.ranks.append(r)
        return r

    def wait_result(self, key: str) -> dict:
        """The result of the step `key` ("<stage>:<np>") once the judge has one (the judge
        may send nothing then)."""
        deadline = time.monotonic() + IO_S
        while time.monotonic() < deadline:
            run = self.judge.runs.get(key)
            if run is not None and run.result is not None:
                return run.result
            time.sleep(0.01)
        raise AssertionError(f"the judge gave {key} no result within {IO_S} s")

    def stop(self) -> dict:
        """Close the script's end (the script is done), wait for serve, return the verdict."""
        self.script.close()
        self.thread.join(IO_S)
        assert not self.thread.is_alive(), "serve did not return after the script closed fd 3"
        assert not self.errors, f"serve raised {self.errors[0]!r}"
        return self.judge.verdict()


def make_judge(spec: dict) -> _judge.Judge:
    judge = _judge.Judge(spec)
    nps = {*judge.nps, *([judge.smoke_np] if judge.smoke_np is not None else [])}
    judge.expected = {
        n: {t: [expected_outputs(t, r) for r in range(n)] for t in range(len(judge.trials))}
        for n in nps
    }
    return judge


@pytest.fixture
def no_leftovers(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every rank is this test process: keep its thread count and children out of the verdict."""
    monkeypatch.setattr(_judge, "threads", lambda pid: 1)
    monkeypatch.setattr(_judge, "children", lambda pids: [])


@pytest.fixture
def serve(no_leftovers: None) -> Iterator[Callable[..., Served]]:
    started: list[Served] = []
    where = tempfile.mkdtemp(prefix="wbj-", dir="/tmp")  # short: a socket path has 108 bytes

    def start(spec: dict | None = None) -> Served:
        judge = make_judge(spec or SPEC)
        path = os.path.join(where, f"s{len(started)}")
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        listener.bind(path)
        listener.listen(16)
        ours, theirs = socket.socketpair()
        served = Served(judge, path, ours, threading.Thread(target=lambda: None))

        def run() -> None:
            try:
                judge.serve(theirs, listener)
            except BaseException as e:  # reported by stop()
                served.errors.append(e)
            finally:
                theirs.close()
                listener.close()

        served.thread = threading.Thread(target=run, daemon=True)
        served.thread.start()
        started.append(served)
        return served

    yield start
    for served in started:
        for r in served.ranks:
            r.close()
        served.script.close()
        served.thread.join(IO_S)
    shutil.rmtree(where, ignore_errors=True)


def play(ranks: list[Rank], trial: int, send: Callable[[int, int], bytes] = right) -> list[int]:
    """One honest trial at every rank; returns the seeds the judge announced."""
    seeds = [r.seed() for r in ranks]
    for r in ranks:
        r.send(b"R")
    for r in ranks:
        assert r.read(1) == b"G"
    for r in ranks:
        r.send(send(trial, r.rank) + b"D")
    return seeds


TWO_CHECKS = {
    **SPEC,
    "checks": [
        {"seed": 5, "sizes": [40, 3], "label": ""},
        {"seed": 6, "sizes": [40, 3], "label": "trial 1"},
    ],
}
SMOKE = {"np": 2, "seed": 9, "sizes": [4, 3], "label": "a tiny input: n=4, m=3", "s": 1}


def test_honest_ranks_pass_every_step_of_the_cascade(serve: Callable[..., Served]) -> None:
    s = serve()
    assert s.line() == "run check 1 5"  # no smoke trial in this spec: the checks first
    one = [s.connect(0, 1)]
    seeds = play(one, 0)
    assert one[0].read(1) == b"F"
    assert s.next() == "run check 2 5"
    two = [s.connect(1, 2), s.connect(0, 2)]  # ranks may connect in any order
    assert play(two, 0) == seeds * 2  # the same seed at every np
    assert [r.read(1) for r in two] == [b"F", b"F"]
    assert s.next() == "run time 1 5"  # every np passed its checks: now the timed trials
    one = [s.connect(0, 1)]
    seeds += [play(one, t)[0] for t in (1, 2)]
    assert one[0].read(1) == b"F"
    assert s.next() == "run time 2 5"
    two = [s.connect(0, 2), s.connect(1, 2)]
    for t in (1, 2):
        assert play(two, t) == [seeds[t]] * 2
    assert [r.read(1) for r in two] == [b"F", b"F"]
    assert s.next() == "end"
    verdict = s.stop()
    assert list(verdict) == ["check:1", "check:2", "time:1", "time:2"]  # the order they ran
    assert seeds[0] == 5 and seeds == [t.seed for t in s.judge.trials]  # problem.yaml's, fresh
    assert len(set(seeds)) == 3
    for n in (1, 2):
        v = verdict[f"check:{n}"]
        assert (v["passed"], v["reason"], v["trials"], v["times"]) == (True, "passed", 1, [])
        v = verdict[f"time:{n}"]
        assert (v["passed"], v["reason"], v["trials"], v["stage"], v["np"]) == (
            True,
            "passed",
            2,
            "time",
            n,
        )
        assert len(v["times"]) == 2
        assert v["time_candidate"] == pytest.approx(_judge.median(v["times"]))
        assert v["time_candidate"] > 0


def test_the_median_of_the_timed_trials() -> None:
    assert _judge.median([3.0, 1.0, 100.0]) == 3.0  # one slow outlier does not move it
    assert _judge.median([1.0, 2.0]) == 1.5


def test_nothing_is_timed_unless_every_np_passed_its_checks(serve: Callable[..., Served]) -> None:
    s = serve()
    one = [s.at("check", 1).connect(0, 1)]
    play(one, 0)
    assert one[0].read(1) == b"F"
    assert s.next() == "run check 2 5"
    two = [s.connect(0, 2), s.connect(1, 2)]
    play(two, 0, lambda trial, rank: right(trial + 1, rank))  # wrong at np=2
    assert [r.read(1) for r in two] == [b"F", b"F"]
    assert s.next() == "end"  # no step of the timed stage
    verdict = s.stop()
    assert list(verdict) == ["check:1", "check:2"]
    assert verdict["check:1"]["passed"] and verdict["check:2"]["reason"] == "wrong"


def test_a_failed_smoke_run_ends_the_cascade(serve: Callable[..., Served]) -> None:
    s = serve({**SPEC, "smoke": SMOKE})
    assert s.line() == "run smoke 2 1"  # the tiny input first, with its short limit
    ranks = [s.connect(0, 2), s.connect(1, 2)]
    assert [r.trial() for r in ranks] == [(9, [4, 3])] * 2
    for r in ranks:
        r.send(b"R")
    for r in ranks:
        assert r.read(1) == b"G"
    for r in ranks:
        r.send(right(1, r.rank) + b"D")  # not trial 0's answer
    assert [r.read(1) for r in ranks] == [b"F", b"F"]
    assert s.next() == "end"  # no check, no timed run
    verdict = s.stop()
    assert list(verdict) == ["smoke:2"]
    v = verdict["smoke:2"]
    assert (v["passed"], v["reason"], v["stage"]) == (False, "wrong", "smoke")
    assert v["detail"].startswith("on rank 0 at np=2 (a tiny input: n=4, m=3): y[0] = 10.0")


def test_a_smoke_run_that_hangs_is_cut_at_its_own_limit(serve: Callable[..., Served]) -> None:
    s = serve({**SPEC, "smoke": {**SMOKE, "s": 0.3}})
    assert s.line() == "run smoke 2 0.3"
    alone = s.connect(0, 2)
    assert alone.closed()
    assert s.next() == "end"
    v = s.stop()["smoke:2"]
    assert (v["passed"], v["reason"]) == (False, "timeout")
    assert v["detail"] == "no answer from every rank within 0.3 s (before every rank connected)"


def test_a_passed_smoke_run_leads_to_the_checks(serve: Callable[..., Served]) -> None:
    s = serve({**SPEC, "smoke": SMOKE})
    ranks = [s.at("smoke", 2).connect(0, 2), s.connect(1, 2)]
    assert play(ranks, 0) == [9, 9]
    assert [r.read(1) for r in ranks] == [b"F", b"F"]
    assert s.next() == "run check 1 5"
    one = s.connect(0, 1)
    assert one.seed() == 5  # the checked trial, not the tiny one again
    verdict = s.stop()
    assert verdict["smoke:2"]["passed"] and verdict["smoke:2"]["trials"] == 1
    assert verdict["check:1"]["reason"] == "ended"


def test_messages_split_across_reads_are_reassembled(serve: Callable[..., Served]) -> None:
    class Dribble(Rank):
        def send(self, data: bytes) -> None:
            for i in range(len(data)):
                self.sock.sendall(data[i : i + 1])
                time.sleep(0.0005)

    s = serve(TWO_CHECKS)
    rank = Dribble(s.path, 0, 1)
    s.ranks.append(rank)
    for t in range(2):
        play([rank], t)
    assert rank.read(1) == b"F"
    assert s.stop()["check:1"]["passed"]


def test_a_wrong_value_in_a_timed_trial_fails(serve: Callable[..., Served]) -> None:
    def memoized(trial: int, rank: int) -> bytes:  # trial 0's answer again: right only once
        return right(0, rank)

    s = serve({**SPEC, "np": [2]})
    ranks = [s.at("check", 2).connect(0, 2), s.connect(1, 2)]
    play(ranks, 0)
    assert [r.read(1) for r in ranks] == [b"F", b"F"]
    ranks = [s.at("time", 2).connect(0, 2), s.connect(1, 2)]
    play(ranks, 1, memoized)
    assert [r.read(1) for r in ranks] == [b"F", b"F"]  # told to finish: they end cleanly
    v = s.stop()["time:2"]
    assert (v["passed"], v["reason"], v["trials"], v["time_candidate"]) == (False, "wrong", 1, None)
    assert v["detail"] == (
        "on rank 0 at np=2 (timed trial 1, a fresh input): y[0] = 0.0, expected 10.0 "
        "(3 of 3 elements wrong)"
    )


def test_a_wrong_value_on_one_rank_in_trial_zero(serve: Callable[..., Served]) -> None:
    def rank1_off(trial: int, rank: int) -> bytes:
        y, n = values(trial, rank)
        return record("y", "d", y) + record("n", "i", [n + (rank == 1)])

    s = serve()
    ranks = [s.at("check", 2).connect(0, 2), s.connect(1, 2)]
    play(ranks, 0, rank1_off)
    assert [r.read(1) for r in ranks] == [b"F", b"F"]
    v = s.stop()["check:2"]
    assert v["reason"] == "wrong" and not v["passed"]
    assert v["detail"] == "on rank 1 at np=2: n = 2, expected 1"  # trial 0: no "fresh input"


def test_done_without_the_outputs_fails(serve: Callable[..., Served]) -> None:
    s = serve()
    rank = s.connect(0, 1)
    play([rank], 0, lambda trial, r: right(trial, r)[: len(record("y", "d", [0.0] * 3))])
    assert rank.read(1) == b"F"
    v = s.stop()["check:1"]
    assert (v["passed"], v["reason"]) == (False, "wrong")
    assert v["detail"] == "rank 0 sent 1 outputs, expected 2"


def test_done_with_no_output_at_all_fails(serve: Callable[..., Served]) -> None:
    s = serve()
    rank = s.connect(0, 1)
    play([rank], 0, lambda trial, r: b"")
    assert rank.read(1) == b"F"
    v = s.stop()["check:1"]
    assert (v["passed"], v["reason"], v["detail"]) == (
        False,
        "wrong",
        "rank 0 sent 0 outputs, expected 2",
    )


@pytest.mark.parametrize("count", [4, 10**12])
def test_a_wrong_size_fails_before_the_data_is_read(
    serve: Callable[..., Served], count: int
) -> None:
    s = serve()
    rank = s.connect(0, 1)
    rank.seed()
    rank.send(b"R")
    assert rank.read(1) == b"G"
    rank.send(record("y", "d", [], count=count))  # the header alone: no data follows
    assert rank.read(1) == b"F"  # judged on the header alone
    v = s.stop()["check:1"]
    assert (v["passed"], v["reason"]) == (False, "wrong")
    assert v["detail"] == f"on rank 0 at np=1: y has size {count}, expected 3"


def test_a_second_claim_of_a_rank_fails_the_np(serve: Callable[..., Served]) -> None:
    s = serve()
    first = s.at("check", 2).connect(0, 2)
    second = s.connect(0, 2)
    assert first.closed()  # the np failed: its ranks are cut off
    assert second.closed()  # and so is the impostor
    verdict = s.stop()
    assert verdict["check:1"]["reason"] == "not_run"
    v = verdict["check:2"]
    assert (v["passed"], v["reason"]) == (False, "protocol")
    assert v["detail"] == "at np=2, rank 0 was claimed twice"


def test_a_second_claim_during_the_trials_fails_the_np(serve: Callable[..., Served]) -> None:
    s = serve()
    honest = s.connect(0, 1)
    honest.seed()
    s.connect(0, 1)
    assert honest.closed()
    v = s.stop()["check:1"]
    assert (v["passed"], v["reason"]) == (False, "protocol")


def test_a_rank_out_of_range_fails_the_np(serve: Callable[..., Served]) -> None:
    s = serve()
    s.at("check", 2).connect(0, 2)
    s.connect(2, 2)
    v = s.wait_result("check:2")
    assert (v["passed"], v["reason"]) == (False, "protocol")
    assert v["detail"] == "at np=2, rank 2 is not a rank"
    s.stop()


@pytest.mark.parametrize(
    ("message", "detail"),
    [
        (record("y", "d", [0.0, 0.5, 1.0]), "rank 0 sent an output outside the timed call"),
        (b"RR", "rank 0 said ready twice in a trial"),
        (b"D", "rank 0 said done before its call"),
        (b"Z", "rank 0 sent b'Z', not a message"),
    ],
)
def test_protocol_breaks_before_go(
    serve: Callable[..., Served], message: bytes, detail: str
) -> None:
    s = serve()
    ranks = [s.at("check", 2).connect(0, 2), s.connect(1, 2)]
    for r in ranks:
        r.seed()
    ranks[0].send(message)  # rank 1 is still making its inputs: nobody has been told go
    assert ranks[0].closed() and ranks[1].closed()
    v = s.stop()["check:2"]
    assert (v["passed"], v["reason"], v["detail"]) == (False, "protocol", detail)


def test_an_unexpected_output_name_is_a_protocol_break(serve: Callable[..., Served]) -> None:
    s = serve()
    rank = s.connect(0, 1)
    rank.seed()
    rank.send(b"R")
    assert rank.read(1) == b"G"
    rank.send(record("z", "d", [0.0, 0.5, 1.0]))
    assert rank.closed()
    v = s.stop()["check:1"]
    assert v["reason"] == "protocol"
    assert v["detail"] == "on rank 0 at np=1: got output 'z', expected 'y'"


def test_more_outputs_than_checked_is_a_protocol_break(serve: Callable[..., Served]) -> None:
    s = serve()
    rank = s.connect(0, 1)
    rank.seed()
    rank.send(b"R")
    assert rank.read(1) == b"G"
    rank.send(right(0, 0) + record("n", "i", [1]))
    assert rank.closed()
    v = s.stop()["check:1"]
    assert (v["reason"], v["detail"]) == (
        "protocol",
        "rank 0 sent more outputs than the driver checks",
    )


def test_a_rank_that_ends_mid_trial(serve: Callable[..., Served]) -> None:
    s = serve(TWO_CHECKS)
    ranks = [s.at("check", 2).connect(0, 2), s.connect(1, 2)]
    play(ranks, 0)
    ranks[0].seed()
    ranks[1].seed()
    ranks[0].send(b"R")
    ranks[1].close()  # crashed before it was ready
    v = s.wait_result("check:2")
    assert (v["passed"], v["reason"], v["trials"]) == (False, "ended", 2)
    assert v["detail"] == "rank 1 ended (crashed or exited) before its run was over"
    assert s.stop()["check:2"] == v


def test_a_step_nobody_reached_is_not_run(serve: Callable[..., Served]) -> None:
    s = serve()
    rank = s.connect(0, 1)
    play([rank], 0)
    assert rank.read(1) == b"F"
    assert s.next() == "run check 2 5"
    assert s.next() == "end"  # nobody came at np=2: nothing is timed
    verdict = s.stop()
    assert verdict["check:1"]["passed"]
    assert verdict["check:2"] == {
        "stage": "check",
        "np": 2,
        "passed": False,
        "reason": "not_run",
        "detail": "no rank reached the judge at np=2",
        "time_candidate": None,
        "times": [],
        "trials": 0,
    }


def test_nothing_connected_at_all(serve: Callable[..., Served]) -> None:
    s = serve()
    assert [s.line(), s.next(), s.next()] == ["run check 1 5", "run check 2 5", "end"]
    verdict = s.stop()
    assert [verdict[k]["reason"] for k in ("check:1", "check:2")] == ["not_run", "not_run"]
    assert not any(v["passed"] for v in verdict.values())
    assert list(serve().stop()) == ["check:1"]  # a script that stopped at once: one step


def test_the_next_np_closes_one_still_running(serve: Callable[..., Served]) -> None:
    s = serve()
    stuck = s.connect(0, 1)
    stuck.seed()  # then hangs (mpirun's timeout will kill it) and the script moves on
    ranks = [s.at("check", 2).connect(0, 2), s.connect(1, 2)]
    play(ranks, 0)
    assert [r.read(1) for r in ranks] == [b"F", b"F"]
    late = s.connect(0, 1)  # a late rank of the closed np is turned away
    assert late.closed()
    verdict = s.stop()
    assert (verdict["check:1"]["passed"], verdict["check:1"]["reason"]) == (False, "ended")
    assert verdict["check:1"]["detail"] == "the run at np=1 stopped before it was over"
    assert verdict["check:2"]["passed"]


def test_a_size_that_is_not_the_steps_is_turned_away(serve: Callable[..., Served]) -> None:
    s = serve()
    stranger = s.connect(0, 3)
    assert stranger.closed()
    early = s.connect(0, 2)  # np=2 is a step, but not yet
    assert early.closed()
    rank = s.connect(0, 1)
    play([rank], 0)
    assert rank.read(1) == b"F"
    assert s.stop()["check:1"]["passed"]


def test_a_missing_rank_times_out(serve: Callable[..., Served]) -> None:
    s = serve({**SPEC, "run_s": 0.3})
    alone = s.at("check", 2).connect(0, 2)
    assert alone.closed()  # cut off at the deadline
    v = s.stop()["check:2"]
    assert (v["passed"], v["reason"]) == (False, "timeout")
    assert v["detail"] == "no answer from every rank within 0.3 s (before every rank connected)"


def test_a_hung_trial_times_out(serve: Callable[..., Served]) -> None:
    s = serve({**TWO_CHECKS, "run_s": 0.5})
    rank = s.connect(0, 1)
    play([rank], 0)
    rank.seed()
    rank.send(b"R")
    assert rank.read(1) == b"G"  # then never done
    assert rank.closed()
    v = s.stop()["check:1"]
    assert (v["passed"], v["reason"]) == (False, "timeout")
    assert v["detail"] == "no answer from every rank within 0.5 s (in trial 1)"


def test_a_thread_left_running_is_a_leftover(
    serve: Callable[..., Served], monkeypatch: pytest.MonkeyPatch
) -> None:
    counts = {"now": 1}
    monkeypatch.setattr(_judge, "threads", lambda pid: counts["now"])
    s = serve(TWO_CHECKS)
    rank = s.connect(0, 1)
    play([rank], 0)
    rank.seed()
    counts["now"] = 2  # the first call started a thread that is still there
    rank.send(b"R")
    assert rank.read(1) == b"F"  # no go: the trial is not timed
    v = s.stop()["check:1"]
    assert (v["passed"], v["reason"], v["times"]) == (False, "leftover", [])
    assert v["detail"].startswith("rank 0 has 2 threads after the function returned, 1 before")


def test_a_thread_left_after_the_last_trial_is_a_leftover(
    serve: Callable[..., Served], monkeypatch: pytest.MonkeyPatch
) -> None:
    counts = {"now": 1}
    monkeypatch.setattr(_judge, "threads", lambda pid: counts["now"])
    s = serve(TWO_CHECKS)
    rank = s.connect(0, 1)
    play([rank], 0)
    rank.seed()
    rank.send(b"R")
    assert rank.read(1) == b"G"
    counts["now"] = 3
    rank.send(right(1, 0) + b"D")
    assert rank.read(1) == b"F"
    v = s.stop()["check:1"]
    assert (v["passed"], v["reason"]) == (False, "leftover")


def test_a_child_process_left_running_is_a_leftover(
    serve: Callable[..., Served], monkeypatch: pytest.MonkeyPatch
) -> None:
    kids: list[int] = []
    monkeypatch.setattr(_judge, "children", lambda pids: list(kids))
    s = serve(TWO_CHECKS)
    rank = s.connect(0, 1)
    play([rank], 0)
    rank.seed()
    kids.append(4242)
    rank.send(b"R")
    assert rank.read(1) == b"F"
    v = s.stop()["check:1"]
    assert (v["passed"], v["reason"]) == (False, "leftover")
    assert v["detail"].startswith("a rank left 1 child process(es) running after the function")


def test_any_new_process_of_the_codes_user_is_a_leftover(
    serve: Callable[..., Served], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Run as another user (the sandbox), a process that forked twice and left its parents
    (no rank's child any more) is still seen: it is a new process of the code's user."""
    procs = {100, 101}
    monkeypatch.setattr(_judge.Judge, "_code_uid", staticmethod(lambda run: 1000))
    monkeypatch.setattr(
        _judge, "processes_of", lambda uid, ns=None: set(procs) if uid == 1000 else set()
    )
    s = serve(TWO_CHECKS)
    rank = s.connect(0, 1)
    play([rank], 0)
    rank.seed()
    procs.add(4243)  # a daemon, re-parented away from the rank
    rank.send(b"R")
    assert rank.read(1) == b"F"
    v = s.stop()["check:1"]
    assert (v["passed"], v["reason"]) == (False, "leftover")


def test_honest_ranks_pass_with_the_real_thread_count(
    serve: Callable[..., Served], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The real /proc probe: the peer is this test process, whose threads stay the same."""
    monkeypatch.setattr(_judge, "threads", REAL_THREADS)
    s = serve(TWO_CHECKS)
    rank = s.connect(0, 1)
    for t in range(2):
        play([rank], t)
    assert rank.read(1) == b"F"
    assert s.stop()["check:1"]["passed"]


def test_processes_of_a_user_can_be_kept_to_one_pid_namespace() -> None:
    """On a host, other runs of the same user live in other PID namespaces: left out."""
    me, ns = os.getpid(), _judge.pid_namespace(os.getpid())
    assert me in _judge.processes_of(os.getuid())
    assert ns is not None  # a process may always read its own
    assert me in _judge.processes_of(os.getuid(), ns)
    assert _judge.processes_of(os.getuid(), "pid:[0]") == set()


def test_each_trial_announces_its_sizes_and_edge_cases_are_named(
    serve: Callable[..., Served],
) -> None:
    """Checked trials at the main sizes and at an edge case, then timed ones (issue 17)."""
    spec = {
        **SPEC,
        "np": [2],
        "checks": [
            {"seed": 5, "sizes": [40, 3], "label": ""},
            {"seed": 6, "sizes": [1, 3], "label": "edge case n=1"},
        ],
        "timed": {"count": 1, "sizes": [40, 3]},
    }
    s = serve(spec)
    ranks = [s.at("check", 2).connect(0, 2), s.connect(1, 2)]
    announced = [r.trial() for r in ranks]
    assert announced == [(5, [40, 3])] * 2
    for r in ranks:
        r.send(b"R")
    for r in ranks:
        assert r.read(1) == b"G"
    for r in ranks:
        r.send(right(0, r.rank) + b"D")
    edge = [r.trial() for r in ranks]
    assert edge == [(6, [1, 3])] * 2
    for r in ranks:
        r.send(b"R")
    for r in ranks:
        assert r.read(1) == b"G"
    ranks[0].send(right(1, 0) + b"D")
    ranks[1].send(right(0, 1) + b"D")  # rank 1 answers the edge case wrong
    result = s.wait_result("check:2")
    assert (result["passed"], result["reason"]) == (False, "wrong")
    assert "on rank 1 at np=2 (edge case n=1):" in result["detail"]
    assert result["times"] == []  # checked trials are not timed


def test_trial_arguments_of_the_reference_program() -> None:
    assert _judge.Trial(7, [100, 3]).arg() == "7:100,3"
    assert _judge.Trial(7, []).arg() == "7"
    msg = _judge.Trial(2**40, [5]).message()
    assert msg == b"T" + struct.pack("<QBq", 2**40, 1, 5)
