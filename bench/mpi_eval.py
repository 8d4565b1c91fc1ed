"""Cost and timings of one MPI evaluation, per library problem, on the Docker sandbox.

For each problem of ``tasks/mpi/``: the wall time of `evaluate` on its correct solution and on
its wrong one (the driver and reference program prebuilt once by a shared `DriverCache`, as a run
does), and the candidate and reference times the harness reports at each np. Run it before and
after a change of the harness to see what the change costs; the times it reports are what the
optimizers see (a speedup above np=2 on a 2-core machine means nothing).
Prints a table and writes JSON (default bench/results/mpi_eval.json).

    .venv/bin/python bench/mpi_eval.py [--repeats 3] [--problems a,b] [--out PATH] [--label x]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import time
from pathlib import Path

from workbench.sandbox import DockerSandbox, Limits
from workbench.sandbox.docker import allow_docker
from workbench.tasks.mpi import DriverCache, evaluate, load_library

OUT = Path(__file__).parent / "results" / "mpi_eval.json"


def _commit() -> str:
    try:
        return subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--problems", default="", help="comma-separated names (default: all)")
    ap.add_argument("--out", type=Path, default=OUT)
    ap.add_argument("--label", default="", help="what this run measures (kept in the JSON)")
    args = ap.parse_args()
    wanted = {p for p in args.problems.split(",") if p}
    problems = [p for p in load_library() if not wanted or p.name in wanted]
    allow_docker(True)
    sandbox = DockerSandbox(limits=Limits(timeout_s=300, memory_mb=1024), pool_size=1)
    drivers = DriverCache()
    records: list[dict] = []
    rows = []
    try:
        for problem in problems:
            t0 = time.monotonic()
            if hasattr(drivers, "build_for"):
                drivers.build_for(problem, sandbox)
            else:  # the harness before issue 13's judge
                drivers.object_for(problem, sandbox)
            prebuild_s = time.monotonic() - t0
            for which in ("solution", "wrong"):
                code = getattr(problem, which) or ""
                walls = []
                for rep in range(args.repeats):
                    t = time.monotonic()
                    result = evaluate(problem, code, sandbox, drivers=drivers)
                    wall = time.monotonic() - t
                    walls.append(wall)
                    records.append(
                        {
                            "problem": problem.name,
                            "code": which,
                            "repeat": rep,
                            "wall_s": wall,
                            "status": result.status,
                            "passed_np": [r.np for r in result.runs if r.passed],
                            "time_candidate": {r.np: r.time_candidate for r in result.runs},
                            "time_reference": {r.np: r.time_reference for r in result.runs},
                            "timings": result.timings,
                        }
                    )
                last = records[-1]
                rows.append(
                    (
                        problem.name,
                        which,
                        statistics.median(walls),
                        last["status"],
                        last["time_candidate"].get(1),
                        last["time_candidate"].get(2),
                        last["time_reference"].get(1),
                        prebuild_s,
                    )
                )
    finally:
        sandbox.close()
    print(
        f"{'problem':24} {'code':8} {'eval s':>7} {'status':8} {'t_np1 ms':>9} {'t_np2 ms':>9} "
        f"{'t_ref ms':>9} {'prebuild s':>10}"
    )

    def ms(v: float | None) -> str:
        return f"{v * 1000:9.3f}" if v else f"{'-':>9}"

    for name, which, wall, status, t1, t2, tr, pre in rows:
        print(f"{name:24} {which:8} {wall:7.2f} {status:8} {ms(t1)} {ms(t2)} {ms(tr)} {pre:10.2f}")
    solution_walls = [r[2] for r in rows if r[1] == "solution"]
    wrong_walls = [r[2] for r in rows if r[1] == "wrong"]
    summary = {
        "median_eval_s_solution": statistics.median(solution_walls),
        "median_eval_s_wrong": statistics.median(wrong_walls),
        "total_eval_s_solution": sum(solution_walls),
    }
    print(json.dumps(summary))
    args.out.write_text(
        json.dumps(
            {
                "bench": "mpi_eval",
                "label": args.label,
                "commit": _commit(),
                "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
                "load_avg": os.getloadavg(),
                "repeats": args.repeats,
                "summary": summary,
                "records": records,
            },
            indent=1,
        )
        + "\n"
    )
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
