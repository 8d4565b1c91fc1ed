"""The judge of an MPI candidate: runs beside it in the sandbox, out of its reach (stdlib only).

The sandbox starts this file as the run's `Judge` (its own user, its own directory holding the
problem's driver, reference and this spec), joined to the candidate's shell script by a socket on
fd 3. The candidate program is the problem's driver linked with the candidate; it decides nothing.

1. Build the reference program (``-DWB_JUDGE``: the same driver, the reference instead of the
   candidate) unless it came prebuilt, and ask it for the expected outputs of every rank: of the
   tiny smoke trial at its np, and at every np of the checked trials (problem.yaml's seeds and
   sizes, its edge cases included: spec ``checks``) and the timed trials at the main sizes with
   fresh random seeds.
2. Wait for the script's ``built`` line (the candidate compiled; no candidate code has run yet),
   time the reference on the timed trials' inputs while nothing else runs, then send the script
   the path of a listening Unix socket in a directory of the judge's own.
3. The judge runs the cascade: it tells the script each step, ``run <stage> <np> <seconds>``,
   and the script runs ``mpirun`` at that np under that limit and says ``next``. The stages:
   ``smoke`` (the tiny trial at np 2, a short limit), then ``check`` at every np (the checked
   trials), then ``time`` at every np (the timed trials). A failed smoke run ends the cascade; a
   failed check anywhere means no step of ``time`` runs; then the judge says ``end``.
4. Each rank connects and says its rank and size. For each trial of its step the judge sends
   the seed and the trial's sizes, waits
   until every rank has made its inputs (``R``), says ``go`` to all, and stops the clock at the
   last rank's ``done``; the outputs each rank sent in between are compared with the reference
   program's, element by element, after the clock stopped. A rank may not leave threads or child
   processes running after the function returned (work outside the timed window): run as
   another user, any new process of the code's user since the ranks connected counts.
5. When the script closes fd 3, print the verdict (JSON) on stdout and exit: each step's
   result by ``<stage>:<np>``, in the order they ran; a timed step's time is the median of its
   trials, with their spread.

Everything a rank sends is untrusted: sizes are checked against the expected outputs before any
data is buffered, a rank that breaks the protocol fails its np, and nothing the candidate prints or
exits with reaches the verdict.
"""

from __future__ import annotations

import json
import math
import os
import secrets
import selectors
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time
from array import array
from dataclasses import dataclass, field
from statistics import median

SPEC = "spec.json"
PREBUILT = "refprog"  # the reference program built earlier, when given
REFPROG = "./refprog.bin"
_HEAD = struct.Struct("<cH")  # kind 'O', name length
_META = struct.Struct("<cddQ")  # type, rtol, atol, count
_HELLO = struct.Struct("<ii")
RECV = 1 << 20


class Broken(Exception):
    """A rank broke the protocol or sent wrong outputs: its np fails with this message."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


@dataclass
class Output:
    """One checked output: what the driver named it, its type and tolerances, its data."""

    name: str
    kind: str  # "d" (float64) or "i" (int64)
    rtol: float
    atol: float
    count: int
    data: bytes = b""


def read_records(data: bytes) -> list[list[Output]]:
    """The reference program's stdout: per rank (in order), the outputs up to each ``D``.

    Raises:
        ValueError: the output is not a sequence of whole records.
    """
    try:
        return _read_records(data)
    except struct.error as e:
        raise ValueError(f"the reference program's output is cut short: {e}") from None


def _read_records(data: bytes) -> list[list[Output]]:
    ranks: list[list[Output]] = []
    current: list[Output] = []
    i = 0
    while i < len(data):
        kind = data[i : i + 1]
        if kind == b"D":
            ranks.append(current)
            current = []
            i += 1
            continue
        if kind != b"O":
            raise ValueError(f"unexpected byte {kind!r} at {i} in the reference program's output")
        _, n = _HEAD.unpack_from(data, i)
        i += _HEAD.size
        name = data[i : i + n].decode("utf-8", "replace")
        i += n
        typ, rtol, atol, count = _META.unpack_from(data, i)
        i += _META.size
        body = data[i : i + 8 * count]
        i += 8 * count
        current.append(Output(name, typ.decode(), rtol, atol, count, bytes(body)))
    return ranks


def _fmt(kind: str, v: float) -> str:
    return repr(int(v)) if kind == "i" else repr(float(v))


def compare(got: Output, want: Output) -> str:
    """ "" when `got` matches `want`; else what differs first, for the model's feedback."""
    if got.count != want.count:
        return f"{want.name} has size {got.count}, expected {want.count}"
    if got.data == want.data:
        return ""
    g = array("d" if want.kind == "d" else "q", got.data)
    w = array("d" if want.kind == "d" else "q", want.data)
    rtol, atol = want.rtol, want.atol

    def wrong(a: float, b: float) -> bool:
        if want.kind == "i":
            return a != b
        return not (math.isfinite(a) and abs(a - b) <= atol + rtol * abs(b))

    misses = [i for i, (a, b) in enumerate(zip(g, w, strict=True)) if wrong(a, b)]
    bad, first = len(misses), (misses[0] if misses else -1)
    if bad == 0:
        return ""
    what = want.name if want.count == 1 else f"{want.name}[{first}]"
    line = f"{what} = {_fmt(want.kind, g[first])}, expected {_fmt(want.kind, w[first])}"
    return line if want.count == 1 else f"{line} ({bad} of {want.count} elements wrong)"


def threads(pid: int) -> int:
    try:
        return len(os.listdir(f"/proc/{pid}/task"))
    except OSError:
        return 0


def children(pids: set[int]) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat[stat.rfind(b")") + 2 :].split()
        if len(fields) > 1 and int(fields[1]) in pids:
            found.append(int(entry))
    return found


def pid_namespace(pid: int) -> str | None:
    """The PID namespace of `pid`, when this process may read it (else None)."""
    try:
        return os.readlink(f"/proc/{pid}/ns/pid")
    except OSError:
        return None


def processes_of(uid: int, namespace: str | None = None) -> set[int]:
    """Every process of `uid`; with `namespace`, only those in that PID namespace.

    In a container every process of the code's user is the code's. On a host (LocalSandbox,
    where each run has a PID namespace of its own and the judge may read it) other runs of the
    same user live in other namespaces and are left out.
    """
    found = set()
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if os.stat(f"/proc/{entry}").st_uid != uid:
                    continue
            except OSError:
                continue
            if namespace is None or pid_namespace(int(entry)) == namespace:
                found.add(int(entry))
    return found


@dataclass
class Trial:
    """One trial: its seed and sizes (in the driver's key order), whether it is timed, and
    what the feedback calls it ("" for the first checked trial)."""

    seed: int
    sizes: list[int]
    timed: bool = False
    label: str = ""

    def arg(self) -> str:
        """The reference program's argument for this trial, ``SEED:SIZE,SIZE``."""
        return f"{self.seed}:{','.join(map(str, self.sizes))}" if self.sizes else str(self.seed)

    def message(self) -> bytes:
        """The 'T' message announcing this trial to every rank."""
        head = b"T" + struct.pack("<QB", self.seed, len(self.sizes))
        return head + struct.pack(f"<{len(self.sizes)}q", *self.sizes)


@dataclass
class Conn:
    sock: socket.socket
    buf: bytearray = field(default_factory=bytearray)
    rank: int | None = None
    pid: int = 0
    uid: int = -1
    run: Run | None = None
    state: str = "hello"  # hello -> seeded -> going -> done (per trial)
    outputs: list[Output] = field(default_factory=list)
    pending: Output | None = None


@dataclass
class Run:
    np: int
    stage: str = "check"
    order: list[int] = field(default_factory=list)  # its trials (indices into Judge.trials)
    limit: float = 0.0  # seconds from the first rank's hello
    conns: dict[int, Conn] = field(default_factory=dict)
    pos: int = -1  # the trial under way (index into order)
    trial: int = -1  # its index into Judge.trials
    ready: set[int] = field(default_factory=set)
    done: set[int] = field(default_factory=set)
    t0: float = 0.0
    times: list[float] = field(default_factory=list)
    baseline: dict[int, int] = field(default_factory=dict)
    processes: set[int] = field(default_factory=set)
    namespace: str | None = None
    deadline: float = 0.0
    result: dict | None = None


class Judge:
    def __init__(self, spec: dict) -> None:
        self.spec = spec
        self.nps: list[int] = list(spec["np"])
        checks = [
            Trial(int(c["seed"]), [int(v) for v in c["sizes"]], False, str(c.get("label", "")))
            for c in spec["checks"]
        ]
        timed = spec["timed"]
        sizes = [int(v) for v in timed["sizes"]]
        fresh = [
            Trial(secrets.randbits(63), sizes, True, f"timed trial {k + 1}, a fresh input")
            for k in range(int(timed["count"]))
        ]
        smoke = spec.get("smoke")
        tiny = []
        if smoke is not None:
            sizes = [int(v) for v in smoke["sizes"]]
            tiny = [Trial(int(smoke["seed"]), sizes, False, str(smoke.get("label", "")))]
        self.trials: list[Trial] = [*tiny, *checks, *fresh]
        self.stage_trials: dict[str, list[int]] = {
            "smoke": list(range(len(tiny))),
            "check": list(range(len(tiny), len(tiny) + len(checks))),
            "time": list(range(len(tiny) + len(checks), len(self.trials))),
        }
        self.run_s = float(spec["run_s"])
        self.smoke_np = int(smoke["np"]) if smoke is not None else None
        self.smoke_s = float(smoke["s"]) if smoke is not None else self.run_s
        # np -> trial index -> rank -> outputs
        self.expected: dict[int, dict[int, list[list[Output]]]] = {}
        self.runs: dict[str, Run] = {}  # "<stage>:<np>" -> its run, in the order they ran
        self.step: tuple[str, int] | None = None  # the step the script is running
        self.sel = selectors.DefaultSelector()

    # -- set-up -------------------------------------------------------------------------------

    def prepare(self) -> None:
        """Build the reference program if needed and compute every expected output."""
        if os.path.exists(PREBUILT):  # written without the execute bit: copy it as ours
            with open(PREBUILT, "rb") as src:
                data = src.read()
            fd = os.open(REFPROG, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o700)
            with os.fdopen(fd, "wb") as dst:
                dst.write(data)
        else:
            build = subprocess.run(
                self.spec["build"],
                capture_output=True,
                text=True,
                timeout=float(self.spec["build_s"]),
            )
            if build.returncode != 0:
                raise RuntimeError(
                    f"building the reference program failed:\n{build.stdout}{build.stderr}"[-3000:]
                )
        everywhere = self.stage_trials["check"] + self.stage_trials["time"]
        for n in sorted({*self.nps, *([self.smoke_np] if self.smoke_np is not None else [])}):
            wanted = [
                *(self.stage_trials["smoke"] if n == self.smoke_np else []),
                *(everywhere if n in self.nps else []),
            ]
            args = [self.trials[t].arg() for t in wanted]
            ranks = read_records(self._refprog("expect", str(n), *args))
            if len(ranks) != n * len(wanted):
                raise RuntimeError(f"the reference program gave {len(ranks)} rank results")
            self.expected[n] = {t: ranks[i * n : (i + 1) * n] for i, t in enumerate(wanted)}

    def _refprog(self, *args: str) -> bytes:
        proc = subprocess.run(
            [REFPROG, *args], capture_output=True, timeout=max(self.run_s, 1.0) * 4
        )
        if proc.returncode != 0:
            why = proc.stderr.decode(errors="replace")[-2000:]
            raise RuntimeError(f"the reference program failed ({proc.returncode}): {why}")
        return proc.stdout

    def time_reference(self) -> float | None:
        timed = [t.arg() for t in self.trials if t.timed]
        if not timed:
            return None
        lines = self._refprog("time", *timed).split()
        return median([float(x) for x in lines])

    # -- the runs -----------------------------------------------------------------------------

    def serve(self, script: socket.socket, listener: socket.socket) -> None:
        """Lead the script through the cascade's steps and serve each step's ranks, until the
        script closes its end of fd 3."""
        self._say_next(script)
        script.setblocking(False)
        listener.setblocking(False)
        self.sel.register(script, selectors.EVENT_READ, "script")
        self.sel.register(listener, selectors.EVENT_READ, "listener")
        said = b""
        while True:
            timeout = None
            live = [r for r in self.runs.values() if r.result is None and r.deadline]
            if live:
                timeout = max(0.0, min(r.deadline for r in live) - time.monotonic())
            for key, _ in self.sel.select(timeout):
                if key.data == "script":
                    try:
                        chunk = script.recv(4096)
                    except BlockingIOError:
                        continue
                    except OSError:
                        chunk = b""
                    if not chunk:
                        return
                    said += chunk
                    while b"\n" in said:  # "next": the step's mpirun is over
                        _, said = said.split(b"\n", 1)
                        self._drain()
                        self._say_next(script)
                elif key.data == "listener":
                    self._accept(listener)
                else:
                    self._readable(key.data)
            self._expire()

    def _expire(self) -> None:
        now = time.monotonic()
        for run in list(self.runs.values()):
            if run.result is None and run.deadline and now >= run.deadline:
                self._finish(run, False, "timeout", self._timeout_text(run))

    def _drain(self) -> None:
        """Read what the ranks of the step just over sent before it ended (their mpirun has
        exited, so all of it is in the sockets already)."""
        while True:
            ready = [k for k, _ in self.sel.select(0) if isinstance(k.data, Conn)]
            if not ready:
                return
            for key in ready:
                self._readable(key.data)

    def _say_next(self, script: socket.socket) -> None:
        """Close the step that ran and tell the script the next one (or ``end``)."""
        if self.step is not None:
            self._close_run(*self.step)
        self.step = self.next_step()
        if self.step is None:
            _say(script, "end")
            return
        stage, n = self.step
        _say(script, f"run {stage} {n} {self._limit(stage):g}")

    def _limit(self, stage: str) -> float:
        """Seconds a step of `stage` may take from its first rank's hello."""
        return self.smoke_s if stage == "smoke" else self.run_s

    def next_step(self) -> tuple[str, int] | None:
        """The cascade's next step after those in `runs`, or None when it is over."""
        ran = list(self.runs.values())
        if any(not (r.result or {}).get("passed") for r in ran if r.stage == "smoke"):
            return None
        if self.smoke_np is not None and not any(r.stage == "smoke" for r in ran):
            return ("smoke", self.smoke_np)
        checked = [r for r in ran if r.stage == "check"]
        if len(checked) < len(self.nps):
            return ("check", self.nps[len(checked)])
        passed = all((r.result or {}).get("passed") for r in checked)
        if not self.stage_trials["time"] or not passed:
            return None
        timed = sum(r.stage == "time" for r in ran)
        return ("time", self.nps[timed]) if timed < len(self.nps) else None

    def _timeout_text(self, run: Run) -> str:
        where = "before every rank connected" if run.pos < 0 else f"in trial {run.pos}"
        return f"no answer from every rank within {run.limit:g} s ({where})"

    def _accept(self, listener: socket.socket) -> None:
        try:
            sock, _ = listener.accept()
        except BlockingIOError:
            return
        sock.setblocking(False)
        conn = Conn(sock)
        try:
            creds = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
            conn.pid, conn.uid, _ = struct.unpack("3i", creds)
        except OSError:
            conn.pid, conn.uid = 0, -1
        self.sel.register(sock, selectors.EVENT_READ, conn)

    def _drop(self, conn: Conn) -> None:
        try:
            self.sel.unregister(conn.sock)
        except (KeyError, ValueError):
            pass
        conn.sock.close()

    def _readable(self, conn: Conn) -> None:
        try:
            chunk = conn.sock.recv(RECV)
        except BlockingIOError:
            return
        except OSError:
            chunk = b""
        run = conn.run
        if not chunk:
            self._drop(conn)
            if run is not None and run.result is None:
                self._finish(
                    run,
                    False,
                    "ended",
                    f"rank {conn.rank} ended (crashed or exited) before its run was over",
                )
            return
        conn.buf += chunk
        try:
            self._parse(conn)
        except Broken as e:
            if conn.run is not None and conn.run.result is None:
                self._finish(conn.run, False, e.reason, e.detail)
            else:
                self._drop(conn)

    def _parse(self, conn: Conn) -> None:
        buf = conn.buf
        while buf:
            if conn.run is not None and conn.run.result is not None:
                buf.clear()
                return
            if conn.pending is not None:  # reading an output's data
                need = 8 * conn.pending.count
                if len(buf) < need:
                    return
                conn.pending.data = bytes(buf[:need])
                del buf[:need]
                conn.outputs.append(conn.pending)
                conn.pending = None
                continue
            kind = buf[:1]
            if conn.rank is None:
                if kind != b"H":
                    self._drop(conn)
                    return
                if len(buf) < 1 + _HELLO.size:
                    return
                rank, size = _HELLO.unpack_from(buf, 1)
                del buf[: 1 + _HELLO.size]
                self._hello(conn, rank, size)
                if conn.run is None:
                    return
                continue
            if kind == b"R":
                del buf[:1]
                self._ready(conn)
            elif kind == b"D":
                del buf[:1]
                self._done(conn)
            elif kind == b"O":
                if len(buf) < _HEAD.size:
                    return
                _, n = _HEAD.unpack_from(buf)
                if len(buf) < _HEAD.size + n + _META.size:
                    return
                name = bytes(buf[_HEAD.size : _HEAD.size + n]).decode("utf-8", "replace")
                typ, _, _, count = _META.unpack_from(buf, _HEAD.size + n)  # tolerances: the judge's
                del buf[: _HEAD.size + n + _META.size]
                conn.pending = self._expect_output(conn, name, typ.decode(errors="replace"), count)
            else:
                raise Broken("protocol", f"rank {conn.rank} sent {bytes(kind)!r}, not a message")

    def _expect_output(self, conn: Conn, name: str, typ: str, count: int) -> Output:
        """Check an output's header against the expected one before reading its data."""
        run = conn.run
        assert run is not None and conn.rank is not None
        if conn.state != "going":
            raise Broken("protocol", f"rank {conn.rank} sent an output outside the timed call")
        want = self.expected[run.np][run.trial][conn.rank]
        i = len(conn.outputs)
        where = f"on rank {conn.rank} at np={run.np}"
        if i >= len(want):
            raise Broken("protocol", f"rank {conn.rank} sent more outputs than the driver checks")
        w = want[i]
        if name != w.name or typ != w.kind:
            raise Broken("protocol", f"{where}: got output {name!r}, expected {w.name!r}")
        if count != w.count:
            raise Broken(
                "wrong",
                f"{where}{self._trial_text(run)}: {w.name} has size {count}, expected {w.count}",
            )
        return Output(name, typ, w.rtol, w.atol, count)

    def _trial_text(self, run: Run) -> str:
        label = self.trials[run.trial].label
        return f" ({label})" if label else ""

    def _hello(self, conn: Conn, rank: int, size: int) -> None:
        if self.step is None or size != self.step[1]:  # not the step under way
            self._drop(conn)
            return
        stage = self.step[0]
        key = f"{stage}:{size}"
        run = self.runs.get(key)
        if run is None:
            limit = self._limit(stage)
            run = self.runs[key] = Run(
                size, stage, self.stage_trials[stage], limit, deadline=time.monotonic() + limit
            )
        if run.result is not None:
            self._drop(conn)
            return
        if not 0 <= rank < size or rank in run.conns:
            self._drop(conn)
            why = "is not a rank" if not 0 <= rank < size else "was claimed twice"
            self._finish(run, False, "protocol", f"at np={size}, rank {rank} {why}")
            return
        conn.run = run
        conn.rank = rank
        run.conns[rank] = conn
        if len(run.conns) == size:
            run.baseline = {r: threads(c.pid) for r, c in run.conns.items()}
            uid = self._code_uid(run)
            run.namespace = pid_namespace(run.conns[0].pid) if run.conns[0].pid else None
            run.processes = processes_of(uid, run.namespace) if uid is not None else set()
            self._trial(run, 0)

    def _close_run(self, stage: str, n: int) -> None:
        run = self.runs.get(f"{stage}:{n}")
        if run is None:
            run = self.runs[f"{stage}:{n}"] = Run(n, stage, self.stage_trials[stage])
            self._finish(run, False, "not_run", f"no rank reached the judge at np={n}")
        elif run.result is None:
            self._finish(run, False, "ended", f"the run at np={n} stopped before it was over")

    def _send(self, run: Run, data: bytes, *, quiet: bool = False) -> None:
        """Send `data` to every rank of `run`; a rank that is gone breaks the run, unless
        `quiet` (the run is over and only told so)."""
        for conn in run.conns.values():
            try:
                conn.sock.setblocking(True)
                conn.sock.sendall(data)
                conn.sock.setblocking(False)
            except OSError as e:
                if not quiet:
                    raise Broken("ended", f"rank {conn.rank} is gone ({e.strerror})") from None

    def _trial(self, run: Run, pos: int) -> None:
        run.pos, run.trial, run.ready, run.done = pos, run.order[pos], set(), set()
        for conn in run.conns.values():
            conn.state, conn.outputs, conn.pending = "seeded", [], None
        self._send(run, self.trials[run.trial].message())

    def _ready(self, conn: Conn) -> None:
        run = conn.run
        assert run is not None and conn.rank is not None
        if conn.state != "seeded":
            raise Broken("protocol", f"rank {conn.rank} said ready twice in a trial")
        conn.state = "ready"
        run.ready.add(conn.rank)
        if len(run.ready) == run.np:
            if run.pos > 0:  # what the previous trial's call left running
                self._check_leftovers(run)
            for c in run.conns.values():
                c.state = "going"
            run.t0 = time.perf_counter()
            self._send(run, b"G")

    def _done(self, conn: Conn) -> None:
        t = time.perf_counter()
        run = conn.run
        assert run is not None and conn.rank is not None
        if conn.state != "going" or conn.pending is not None:
            raise Broken("protocol", f"rank {conn.rank} said done before its call")
        conn.state = "done"
        run.done.add(conn.rank)
        if len(run.done) < run.np:
            return
        if self.trials[run.trial].timed:
            run.times.append(t - run.t0)
        for rank, c in sorted(run.conns.items()):
            want = self.expected[run.np][run.trial][rank]
            if len(c.outputs) != len(want):
                raise Broken(
                    "wrong", f"rank {rank} sent {len(c.outputs)} outputs, expected {len(want)}"
                )
            for got, w in zip(c.outputs, want, strict=True):
                error = compare(got, w)
                if error:
                    where = f"on rank {rank} at np={run.np}{self._trial_text(run)}"
                    raise Broken("wrong", f"{where}: {error}")
        if run.pos + 1 < len(run.order):
            self._trial(run, run.pos + 1)
            return
        self._check_leftovers(run)
        mid = median(run.times) if run.times else None
        self._finish(run, True, "passed", "validated on every trial", mid)

    def _check_leftovers(self, run: Run) -> None:
        pids = {c.pid for c in run.conns.values() if c.pid}
        for rank, c in sorted(run.conns.items()):
            n, base = threads(c.pid), run.baseline.get(rank, 0)
            if c.pid and n > base:
                raise Broken(
                    "leftover",
                    f"rank {rank} has {n} threads after the function returned, {base} before it "
                    "was first called: the function must not leave threads running",
                )
        uid = self._code_uid(run)
        # Run as another user (the sandbox), every new process of the code's user is a leftover,
        # a daemon that forked twice included; run as the same user, only the ranks' children.
        if uid is not None:
            kids = sorted(processes_of(uid, run.namespace) - run.processes)
        else:
            kids = children(pids)
        if kids:
            raise Broken(
                "leftover",
                f"a rank left {len(kids)} child process(es) running after the function returned "
                "(processes must end before the function returns)",
            )

    @staticmethod
    def _code_uid(run: Run) -> int | None:
        """The ranks' user when it is not ours (and the same for every rank), else None."""
        uids = {c.uid for c in run.conns.values()}
        uid = uids.pop() if len(uids) == 1 else None
        return uid if uid is not None and uid >= 0 and uid != os.getuid() else None

    def _finish(
        self, run: Run, passed: bool, reason: str, detail: str, mid: float | None = None
    ) -> None:
        if run.result is not None:
            return
        run.result = {
            "stage": run.stage,
            "np": run.np,
            "passed": passed,
            "reason": reason,
            "detail": detail,
            "time_candidate": mid,  # the median of the timed trials
            "times": run.times,
            "trials": run.pos + 1,
        }
        # Between trials every rank waits for the judge: told to finish, they end cleanly. After
        # a broken protocol or a timeout they see their connection close and stop. After a rank
        # ended on its own, MPI stops the others: their own exits would hide why (a segfault).
        if passed or reason in ("wrong", "leftover"):
            self._send(run, b"F", quiet=True)
        elif reason != "ended":
            for conn in list(run.conns.values()):
                self._drop(conn)

    def verdict(self) -> dict:
        """Each step's result by ``<stage>:<np>``, in the order the steps ran."""
        if self.step is not None:  # the script ended in the middle of a step
            self._close_run(*self.step)
            self.step = None
        return {key: run.result for key, run in self.runs.items()}


def _say(sock: socket.socket, line: str) -> None:
    sock.setblocking(True)
    sock.sendall(line.encode() + b"\n")


def _wait_built(sock: socket.socket) -> bool:
    """True after the script's ``built`` line; False when it closed fd 3 (compile failed)."""
    sock.setblocking(True)
    data = b""
    while b"\n" not in data:
        chunk = sock.recv(64)
        if not chunk:
            return False
        data += chunk
    return data.split(b"\n", 1)[0].strip() == b"built"


def main() -> int:
    with open(SPEC, encoding="utf-8") as f:
        spec = json.load(f)
    script = socket.socket(fileno=3)
    judge = Judge(spec)
    out: dict = {"built": False, "error": None, "time_reference": None, "runs": {}}
    try:
        judge.prepare()
    except (RuntimeError, ValueError, OSError, subprocess.SubprocessError) as e:
        out["error"] = str(e)[-4000:]
        print(json.dumps(out))
        return 0
    if not _wait_built(script):
        print(json.dumps(out))
        return 0
    out["built"] = True
    try:
        out["time_reference"] = judge.time_reference()
    except (RuntimeError, ValueError, OSError, subprocess.SubprocessError) as e:
        out["error"] = str(e)[-4000:]
        print(json.dumps(out))
        return 0
    # A socket path, not an abstract name: the code may run in a network namespace of its own.
    # The directory is the judge's (others may only pass through it), so nobody can replace it.
    where = tempfile.mkdtemp(prefix="wbj-", dir="/tmp")
    try:
        os.chmod(where, 0o711)
        path = os.path.join(where, "s")
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        listener.bind(path)
        os.chmod(path, 0o666)
        listener.listen(64)
        _say(script, path)
        judge.serve(script, listener)
    finally:
        shutil.rmtree(where, ignore_errors=True)
    out["runs"] = judge.verdict()
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
