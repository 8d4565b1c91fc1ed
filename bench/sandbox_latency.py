"""Per-evaluation latency and throughput of the sandboxes for a trivial Python test.

Compares LocalSandbox, one-shot containers (a fresh hardened container per run), the warm pool
(runs go to the in-container supervisor) and the warm pool in exec mode (one `docker exec` per
run, used for images without python3). Latency: sequential runs after a warm-up (median, p95).
Throughput: one `run_many` batch (evaluations/s). CPU per evaluation (this process + the Docker
daemons + the container's cgroup) is measured too, because on a shared machine the wall-clock
figures depend on the others' load; `projected_evals_per_s` = cores / CPU per evaluation.
Prints a table and writes bench/results/sandbox_latency.json.

    .venv/bin/python bench/sandbox_latency.py [--n 40] [--batch 60] [--pool-sizes 2,4]

The machine's load matters: the JSON records the load average at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
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
OUT = Path(__file__).parent / "results" / "sandbox_latency.json"


def daemon_cpu_s() -> float:
    """CPU seconds used so far by dockerd, containerd and the shims (and their reaped children)."""
    total = 0
    for d in Path("/proc").iterdir():
        try:
            if d.name.isdigit() and (d / "comm").read_text().startswith(("dockerd", "containerd")):
                fields = (d / "stat").read_text().rsplit(")", 1)[1].split()
                total += sum(int(x) for x in fields[11:15])
        except OSError:
            continue
    return total / os.sysconf("SC_CLK_TCK")


def own_cpu_s() -> float:
    """CPU seconds of this process (the client side)."""
    me = resource.getrusage(resource.RUSAGE_SELF)
    return me.ru_utime + me.ru_stime


def measure(name: str, sb: Sandbox, n: int, batch: int) -> dict[str, float | int | str]:
    for _ in range(3):  # warm-up (and let the pool fill)
        assert sb.run(FILES, COMMAND).stdout == "1 passed\n"
    lat = []
    cpu0, daemons0, container = own_cpu_s(), daemon_cpu_s(), 0.0
    for _ in range(n):
        t = time.perf_counter()
        res = sb.run(FILES, COMMAND)
        lat.append(time.perf_counter() - t)
        assert res.ok, res.stderr
        container += res.cpu_s or 0.0  # the container's cgroup, or the local child's rusage
    cpu = (own_cpu_s() - cpu0 + daemon_cpu_s() - daemons0 + container) / n
    reqs = [RunRequest(FILES, COMMAND) for _ in range(batch)]
    t = time.perf_counter()
    results = sb.run_many(reqs)
    wall = time.perf_counter() - t
    assert all(r.ok for r in results)
    lat.sort()
    return {
        "sandbox": name,
        "runs": n,
        "median_s": round(statistics.median(lat), 4),
        "p95_s": round(lat[min(len(lat) - 1, int(0.95 * len(lat)))], 4),
        "batch": batch,
        "evals_per_s": round(batch / wall, 2),
        "cpu_ms_per_eval": round(cpu * 1000, 1),
        "projected_evals_per_s": round((os.cpu_count() or 1) / cpu, 1),
        "isolated": sb.isolated,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=40, help="sequential runs per sandbox")
    ap.add_argument("--batch", type=int, default=60, help="runs in the throughput batch")
    ap.add_argument(
        "--pool-sizes", default="", help="comma-separated warm pool sizes (default: cores)"
    )
    args = ap.parse_args()
    rows = []
    with LocalSandbox() as sb:
        rows.append(measure("local", sb, args.n, args.batch))
    sizes = [int(x) for x in args.pool_sizes.split(",") if x] or [os.cpu_count() or 2]
    with DockerSandbox(pooled=False, pool_size=sizes[0]) as sb:
        rows.append(measure("docker one-shot", sb, max(10, args.n // 2), args.batch // 2))
        image_id = sb.image_id
    for size in sizes:
        with DockerSandbox(pool_size=size) as sb:
            time.sleep(2)  # pre-fill finishes
            rows.append(measure(f"docker warm pool ({size})", sb, args.n, args.batch))
    with DockerSandbox(pool_size=sizes[0], agent=False) as sb:  # the path for images w/o python3
        time.sleep(2)
        rows.append(measure(f"docker pool ({sizes[0]}), exec/run", sb, args.n, args.batch))
    print(
        f"{'sandbox':<28} {'median s':>9} {'p95 s':>7} {'evals/s':>8} {'cpu ms':>7} {'proj/s':>7}"
    )
    for r in rows:
        med, p95, eps = r["median_s"], r["p95_s"], r["evals_per_s"]
        cpu, proj = r["cpu_ms_per_eval"], r["projected_evals_per_s"]
        print(f"{r['sandbox']:<28} {med:>9.3f} {p95:>7.3f} {eps:>8.1f} {cpu:>7.1f} {proj:>7.1f}")
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(
        json.dumps(
            {
                "task": "trivial Python test (2 asserts), files streamed in, one command",
                "cores": os.cpu_count(),
                "machine": platform.platform(),
                "load_average_at_end": os.getloadavg(),
                "image_id": image_id,
                "results": rows,
            },
            indent=2,
        )
        + "\n"
    )
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
