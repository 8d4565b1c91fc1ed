"""Per-evaluation latency and throughput of the sandboxes for a trivial Python test.

Two parts, both in one invocation:

- **Parallelism** (issue 14's acceptance): a warm `DockerSandbox(pool_size=p)` driven by `p`
  threads, each running evaluations one after another, for p = 1 and 2, in alternating rounds so
  that drift in the machine's load hits both alike. Reports throughput (evaluations/s over the
  round's wall clock), latency (median, p95) and CPU per evaluation (this process + the Docker
  daemons + the containers' cgroups), next to a bare `python3 -c` of the same test on the host
  (the interpreter the image ships, by default /usr/bin/python3: a pyenv shim would add 100 ms).
- **Backends**: LocalSandbox, one-shot containers, the warm pool and the exec path (images without
  python3): latency of sequential runs and one `run_many` batch (skip with ``--no-backends``).

The containers' CPU is their cgroups' during each run (clean-ups after the result are outside
it); ``machine`` is everything the machine's cores ran during a round divided by its runs, which
includes clean-ups and replacements, and other users' load (hence the load averages).
`projected_evals_per_s` = cores / CPU per evaluation. The JSON keeps every run's record (start,
latency, container wall, CPU) and the load average before and after; it never overwrites a file.

    .venv/bin/python bench/sandbox_latency.py --out bench/results/sandbox_latency-NAME.json \
        [--n 40] [--rounds 3] [--parallelism 1,2] [--max-runs N] [--no-backends]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

from workbench.sandbox import DockerSandbox, LocalSandbox, RunRequest, Sandbox

FILES = {
    "solution.py": "def add(a, b):\n    return a + b\n",
    "test_solution.py": (
        "from solution import add\n"
        "assert add(2, 3) == 5\nassert add(-1, 1) == 0\nprint('1 passed')\n"
    ),
}
COMMAND = ["python3", "test_solution.py"]
BARE_CODE = FILES["solution.py"] + FILES["test_solution.py"].split("\n", 1)[1]
RESULTS = Path(__file__).parent / "results"


def daemon_ticks() -> dict[int, int]:
    """CPU ticks used so far by each dockerd, containerd and shim process.

    Reaped children count for dockerd and containerd, not for the shims: a shim reaps its
    container's init, whose children's time (the code's) the containers' cgroups already count.
    """
    out = {}
    for d in Path("/proc").iterdir():
        try:
            comm = (d / "comm").read_text().strip() if d.name.isdigit() else ""
            if comm.startswith(("dockerd", "containerd")):
                fields = (d / "stat").read_text().rsplit(")", 1)[1].split()
                upto = 13 if comm.startswith("containerd-shim") else 15
                out[int(d.name)] = sum(int(x) for x in fields[11:upto])
        except OSError:
            continue
    return out


def daemon_cpu_s(since: dict[int, int]) -> float:
    """Daemon CPU seconds since `since` (a shim that exited meanwhile loses its last ticks)."""
    now = daemon_ticks()
    return sum(t - since.get(pid, 0) for pid, t in now.items()) / os.sysconf("SC_CLK_TCK")


def machine_busy_s() -> float:
    """CPU seconds all cores spent on anything but idle and iowait (whoever ran)."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return (sum(fields[:8]) - fields[3] - fields[4]) / os.sysconf("SC_CLK_TCK")


def own_cpu_s() -> float:
    """CPU seconds of this process (the client side)."""
    me = resource.getrusage(resource.RUSAGE_SELF)
    return me.ru_utime + me.ru_stime


def _pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))]


def bare(python: str, n: int) -> dict:
    """The same test as `python3 -c` in a plain subprocess on the host: the floor."""
    version = subprocess.run([python, "-V"], capture_output=True, text=True).stdout.strip()
    lat = []
    for _ in range(n + 3):
        t = time.perf_counter()
        out = subprocess.run([python, "-c", BARE_CODE], capture_output=True, check=True).stdout
        lat.append(time.perf_counter() - t)
        assert out == b"1 passed\n"
    lat = lat[3:]
    return {
        "python": python,
        "version": version,
        "runs": n,
        "median_s": round(statistics.median(lat), 5),
        "p95_s": round(_pct(lat, 0.95), 5),
        "latencies_s": [round(x, 5) for x in lat],
    }


def parallel_round(sb: DockerSandbox, p: int, per_thread: int) -> dict:
    """`p` threads each run `per_thread` evaluations back to back on one warm sandbox."""
    records: list[dict] = []
    lock = threading.Lock()
    go = threading.Barrier(p + 1)

    def worker(k: int) -> None:
        go.wait()
        for _ in range(per_thread):
            t = time.perf_counter()
            res = sb.run(FILES, COMMAND)
            lat = time.perf_counter() - t
            assert res.ok and res.stdout == "1 passed\n", res.stderr
            with lock:
                records.append(
                    {
                        "thread": k,
                        "start_s": round(t - t0, 5),
                        "latency_s": round(lat, 5),
                        "container_wall_s": round(res.wall_s, 5),
                        "container_cpu_s": res.cpu_s,
                    }
                )

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(p)]
    for th in threads:
        th.start()
    cpu0, daemons0, busy0 = own_cpu_s(), daemon_ticks(), machine_busy_s()
    t0 = time.perf_counter()
    go.wait()
    for th in threads:
        th.join()
    wall = time.perf_counter() - t0
    own, daemons = own_cpu_s() - cpu0, daemon_cpu_s(daemons0)
    busy = machine_busy_s() - busy0
    n = len(records)
    container = sum(r["container_cpu_s"] or 0.0 for r in records)
    lat = [r["latency_s"] for r in records]
    return {
        "parallelism": p,
        "runs": n,
        "wall_s": round(wall, 4),
        "evals_per_s": round(n / wall, 2),
        "median_s": round(statistics.median(lat), 5),
        "p95_s": round(_pct(lat, 0.95), 5),
        "cpu_ms_per_eval": {
            "own": round(1000 * own / n, 2),
            "daemons": round(1000 * daemons / n, 2),
            "containers": round(1000 * container / n, 2),
            "total": round(1000 * (own + daemons + container) / n, 2),
            # everything the machine ran meanwhile (clean-ups, replacements, other users)
            "machine": round(1000 * busy / n, 2),
        },
        "records": records,
    }


def parallelism(
    levels: list[int], n: int, rounds: int, meta: dict, max_runs: int | None
) -> list[dict]:
    """Alternating rounds of every level, each on its own warm sandbox."""
    kw = {} if max_runs is None else {"max_runs": max_runs}
    boxes = {p: DockerSandbox(pool_size=p, **kw) for p in levels}
    meta["image_id"] = next(iter(boxes.values())).image_id
    meta["max_runs"] = next(iter(boxes.values())).pool.max_runs
    try:
        time.sleep(3)  # pre-fill finishes
        for sb in boxes.values():
            for _ in range(5):  # warm-up
                assert sb.run(FILES, COMMAND).ok
        out = []
        for r in range(rounds):
            for p in levels:
                row = parallel_round(boxes[p], p, n)
                row["round"] = r
                out.append(row)
                print(
                    f"  round {r} p={p}: {row['evals_per_s']:6.1f} evals/s, median "
                    f"{1000 * row['median_s']:.1f} ms, cpu {row['cpu_ms_per_eval']['total']} ms "
                    f"(machine {row['cpu_ms_per_eval']['machine']} ms)"
                )
        return out
    finally:
        for sb in boxes.values():
            sb.close()


def measure(name: str, sb: Sandbox, n: int, batch: int) -> dict[str, float | int | str]:
    for _ in range(3):  # warm-up (and let the pool fill)
        assert sb.run(FILES, COMMAND).stdout == "1 passed\n"
    lat = []
    cpu0, daemons0, container = own_cpu_s(), daemon_ticks(), 0.0
    for _ in range(n):
        t = time.perf_counter()
        res = sb.run(FILES, COMMAND)
        lat.append(time.perf_counter() - t)
        assert res.ok, res.stderr
        container += res.cpu_s or 0.0  # the container's cgroup, or the local child's rusage
    cpu = (own_cpu_s() - cpu0 + daemon_cpu_s(daemons0) + container) / n
    reqs = [RunRequest(FILES, COMMAND) for _ in range(batch)]
    t = time.perf_counter()
    results = sb.run_many(reqs)
    wall = time.perf_counter() - t
    assert all(r.ok for r in results)
    return {
        "sandbox": name,
        "runs": n,
        "median_s": round(statistics.median(lat), 4),
        "p95_s": round(_pct(lat, 0.95), 4),
        "batch": batch,
        "evals_per_s": round(batch / wall, 2),
        "cpu_ms_per_eval": round(cpu * 1000, 1),
        "projected_evals_per_s": round((os.cpu_count() or 1) / cpu, 1),
        "isolated": sb.isolated,
    }


def backends(n: int, batch: int) -> list[dict]:
    with LocalSandbox() as sb:
        rows = [measure("local", sb, n, batch)]
    size = os.cpu_count() or 2
    with DockerSandbox(pooled=False, pool_size=size) as sb:
        rows.append(measure("docker one-shot", sb, max(10, n // 2), batch // 2))
    with DockerSandbox(pool_size=size) as sb:
        time.sleep(2)  # pre-fill finishes
        rows.append(measure(f"docker warm pool ({size})", sb, n, batch))
    with DockerSandbox(pool_size=size, agent=False) as sb:  # the path for images w/o python3
        time.sleep(2)
        rows.append(measure(f"docker pool ({size}), exec/run", sb, n, batch))
    return rows


def summary(bare_row: dict, rows: list[dict], levels: list[int]) -> dict:
    """Per level: the median over rounds of throughput; latency over all runs; the ratios."""
    out: dict = {}
    for p in levels:
        mine = [r for r in rows if r["parallelism"] == p]
        lat = [rec["latency_s"] for r in mine for rec in r["records"]]
        out[f"p{p}"] = {
            "evals_per_s": round(statistics.median(r["evals_per_s"] for r in mine), 2),
            "evals_per_s_rounds": [r["evals_per_s"] for r in mine],
            "median_s": round(statistics.median(lat), 5),
            "p95_s": round(_pct(lat, 0.95), 5),
            "cpu_ms_per_eval": round(
                statistics.median(r["cpu_ms_per_eval"]["total"] for r in mine), 2
            ),
            "machine_cpu_ms_per_eval": round(
                statistics.median(r["cpu_ms_per_eval"]["machine"] for r in mine), 2
            ),
        }
    if 1 in levels:
        out["p1_median_over_bare"] = round(out["p1"]["median_s"] / bare_row["median_s"], 2)
        for p in levels[1:]:
            ratio = out[f"p{p}"]["evals_per_s"] / out["p1"]["evals_per_s"]
            out[f"p{p}_throughput_over_p1"] = round(ratio, 2)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=RESULTS / "sandbox_latency.json")
    ap.add_argument("--n", type=int, default=40, help="runs per thread per round / sequential")
    ap.add_argument("--rounds", type=int, default=3, help="alternating rounds per parallelism")
    ap.add_argument("--parallelism", default="1,2", help="comma-separated levels")
    ap.add_argument("--batch", type=int, default=60, help="runs in a backend's run_many batch")
    ap.add_argument("--bare-python", default="/usr/bin/python3", help="interpreter of the floor")
    ap.add_argument("--no-backends", action="store_true", help="only the parallelism part")
    ap.add_argument(
        "--max-runs", type=int, default=None, help="recycle after N runs (default: the pool's)"
    )
    ap.add_argument("--note", default="", help="free text stored in the JSON")
    args = ap.parse_args()
    if args.out.exists():
        sys.exit(f"{args.out} exists; results are never overwritten: pass another --out")
    levels = [int(x) for x in args.parallelism.split(",") if x]
    load_before = os.getloadavg()
    bare_row = bare(args.bare_python, args.n)
    print(f"bare {args.bare_python} -c: median {1000 * bare_row['median_s']:.1f} ms")
    meta: dict = {}
    rows = parallelism(levels, args.n, args.rounds, meta, args.max_runs)
    back = [] if args.no_backends else backends(args.n, args.batch)
    summ = summary(bare_row, rows, levels)
    print(f"\n{'parallelism':<12} {'evals/s':>8} {'median ms':>10} {'p95 ms':>8} {'cpu ms':>7}")
    for p in levels:
        s = summ[f"p{p}"]
        print(
            f"{p:<12} {s['evals_per_s']:>8.1f} {1000 * s['median_s']:>10.1f} "
            f"{1000 * s['p95_s']:>8.1f} {s['cpu_ms_per_eval']:>7.1f}"
        )
    print({k: v for k, v in summ.items() if not k.startswith("p") or "_" in k})
    if back:
        print(
            f"\n{'sandbox':<28} {'median s':>9} {'p95 s':>7} {'evals/s':>8} {'cpu ms':>7} "
            f"{'proj/s':>7}"
        )
        for r in back:
            med, p95, eps = r["median_s"], r["p95_s"], r["evals_per_s"]
            cpu, proj = r["cpu_ms_per_eval"], r["projected_evals_per_s"]
            print(
                f"{r['sandbox']:<28} {med:>9.3f} {p95:>7.3f} {eps:>8.1f} {cpu:>7.1f} {proj:>7.1f}"
            )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        json.dumps(
            {
                "task": "trivial Python test (2 asserts), files streamed in, one command",
                "cores": os.cpu_count(),
                "machine": platform.platform(),
                "load_average_before": load_before,
                "load_average_at_end": os.getloadavg(),
                "note": args.note,
                **meta,
                "summary": summ,
                "bare": bare_row,
                "parallelism": rows,
                "results": back,
            },
            indent=2,
        )
        + "\n"
    )
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
