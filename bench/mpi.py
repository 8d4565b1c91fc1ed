"""Does the composed MPI graph pay? FunCoder alone against FunCoder with a knob tuner (issue 17).

Problems: the held-out split of the MPI library (`MPI_HELD_OUT` in workbench/bench/code_setup.py;
never used to tune prompts, exemplars or budgets), or ``--problems`` (names, ``mpi-held-out``,
``mpi``, or problem folders of your own). Methods, per problem, with the same model, seed and
LLM-call budget (FunCoder's bench budget, ``--llm-calls``):

- ``funcoder``: FunCoder alone, as ``workbench bench code`` runs it (objective: the np pass rate;
  it stops once its program passes).
- ``composed``: the agents of tasks/graph/mpi_histogram_pixels.yaml on the problem: FunCoder
  (told it may declare compile-time knobs) owns the code; optuna's TPE owns the knobs and gets
  ``--tuner-evaluations`` evaluations of its own (no model calls); a build, smoke, run or
  correctness failure goes back to the coder, correct but slow to the tuner; objective: speed
  (1 + the speedup at np=2 of the slowest timed trial, for a correct program).

Each run's best program (with its knob values) is what is reported: whether it passed at every
np, the first stage of the judge's cascade it failed, its speedup at np=2 over the serial
reference (ParEval's speedup_2@1: a failed program counts 0), and the same program's speedup at
the problem's held-out size (`MpiProblem.at_held_out_size`, never tuned on), evaluated once more
after the run. Per method: problems passed, first-failing-stage counts, speedup_2@1, the median
speedup at np=2 among passing programs (and at the held-out size), LLM calls, tokens, wall time;
the paired difference in problems passed, with a sign test. Raw per-run records go to the JSON
file, rewritten after every run; ``--resume`` skips the runs it holds.

    python bench/mpi.py                                  # held-out split, both methods, 1.5B
    python bench/mpi.py --problems dense_gemm --methods composed --llm-calls 4   # a smoke
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import yaml
from rich.console import Console
from rich.table import Table

from workbench.bench.code_setup import BENCH_GENERATORS, MPI_HELD_OUT, select_problems
from workbench.bench.server import git_commit, on_sandbox, prior_results, sandbox_and_model
from workbench.bench.stats import sign_test
from workbench.errors import ConfigError
from workbench.runs import start_run
from workbench.sandbox import DockerSandbox
from workbench.tasks import parse_task_data
from workbench.tasks.mpi import MpiProblem, evaluate, library_dir, load_problem

ROOT = Path(__file__).resolve().parents[1]
COMPOSED = ROOT / "tasks" / "graph" / "mpi_histogram_pixels.yaml"
RESULTS = Path(__file__).parent / "results"
MODEL = "qwen2.5-coder-1.5b-instruct"
METHODS = ("funcoder", "composed")
SPEED_NP = 2


def method_task(
    method: str, folder: str, llm: dict[str, Any], args: argparse.Namespace
) -> dict[str, Any]:
    """The task file (as data) of `method` on the problem in `folder`."""
    funcoder = BENCH_GENERATORS["funcoder"]
    name = Path(folder).name
    data: dict[str, Any] = {
        "name": f"bench-mpi-{method}-{name}".replace("_", "-")[:80],
        "kind": "mpi",
        "seed": args.seed,
        "llm": llm,
        "sandbox": {"backend": "docker"},
        "mpi": {"problem": folder},
    }
    if method == "funcoder":
        data["optimizer"] = {"name": "funcoder", "settings": dict(funcoder.settings)}
        data["budget"] = {"llm_calls": args.llm_calls, "wall_time_s": args.wall_time_s}
        return data
    if method != "composed":
        raise ValueError(f"unknown method {method!r}; methods: {', '.join(METHODS)}")
    composed = yaml.safe_load(COMPOSED.read_text())
    coder, tuner = composed["agents"]
    coder["optimizer"]["settings"] = dict(funcoder.settings)  # the same FunCoder
    coder["budget"] = {"llm_calls": args.llm_calls}
    tuner["budget"] = {"evaluations": args.tuner_evaluations}
    data.update(
        agents=[coder, tuner],
        routing=composed["routing"],
        budget={
            "llm_calls": args.llm_calls,
            "evaluations": args.llm_calls + args.tuner_evaluations,
            "wall_time_s": args.wall_time_s,
        },
    )
    data["mpi"] = {**composed["mpi"], "problem": folder, "speed_np": SPEED_NP}
    return data


def speedup_at(problem: MpiProblem, payload: dict[str, Any], box: DockerSandbox) -> dict[str, Any]:
    """The best program (`payload`: its code and knob values) judged once more at the problem's
    held-out size: passed, stage, speedup at np=2."""
    held = problem.at_held_out_size()
    result, why = on_sandbox(
        box, lambda sandbox: evaluate(held, payload["code"], sandbox, knobs=payload.get("knobs"))
    )
    if result is None:
        return {"passed": None, "stage": "sandbox", "speedup_2": None, "error": why}
    return {
        "passed": result.passed,
        "stage": result.stage,
        "speedup_2": result.speedup(SPEED_NP),
        "sizes": held.spec.size,
    }


def one_run(
    method: str,
    folder: str,
    llm: dict[str, Any],
    args: argparse.Namespace,
    runs: Path,
    box: DockerSandbox,
) -> dict[str, Any]:
    started = time.perf_counter()
    problem = load_problem(Path(folder))
    task = parse_task_data(method_task(method, folder, llm, args), ROOT, source=method)
    result = start_run(task, runs)
    s = result.summary
    events = [json.loads(x) for x in (result.run.path / "events.jsonl").read_text().splitlines()]
    proposals = {e["id"]: e for e in events if e["type"] == "proposal"}
    evaluations = {e["id"]: e for e in events if e["type"] == "evaluation"}
    best = s.get("best") or {}
    ev = evaluations.get(str(best.get("id")), {})
    scores = ev.get("scores") or {}
    passed = scores.get("passed", 0.0) >= 1.0
    speedup = 0.0
    if passed and scores.get("time_np2") and scores.get("time_reference"):
        speedup = scores["time_reference"] / scores["time_np2"]
    payload = best.get("payload") or {}
    held = speedup_at(problem, payload, box) if passed else None
    usage = s.get("llm") or {}
    return {
        "method": method,
        "problem": problem.name,
        "folder": folder,
        "seed": args.seed,
        "commit": args.commit,
        "passed": passed,
        "stage": None if passed else (ev.get("stage") or ("sandbox" if not ev else "run")),
        "speedup_2": speedup,
        "held_out": held,
        "best_knobs": payload.get("knobs"),
        "best_code": payload.get("code"),
        "stop_reason": s.get("stop_reason"),
        "evaluations": s.get("evaluations"),
        "statuses": s.get("statuses"),
        "llm_calls": usage.get("calls"),
        "prompt_tokens": usage.get("prompt_tokens"),
        "completion_tokens": usage.get("completion_tokens"),
        "agents": {k: v.get("evaluations") for k, v in (s.get("agents") or {}).items()},
        "trace": [
            {
                "agent": (proposals[e["id"]].get("meta") or {}).get("agent"),
                "status": e["status"],
                "stage": e.get("stage"),
                "score": e.get("score"),
                "knobs": proposals[e["id"]]["payload"].get("knobs"),
            }
            for e in evaluations.values()
        ],
        "wall_s": round(time.perf_counter() - started, 1),
    }


def summarize(rows: list[dict[str, Any]], methods: list[str]) -> dict[str, Any]:
    """Per method: passed, stage counts, speedup_2@1, medians, costs; the paired comparison."""
    out: dict[str, Any] = {"methods": {}}
    by = {m: {r["problem"]: r for r in rows if r["method"] == m} for m in methods}
    for m in methods:
        mine = list(by[m].values())
        if not mine:
            continue
        passing = [r for r in mine if r["passed"]]
        held = [r["held_out"]["speedup_2"] for r in passing if (r["held_out"] or {}).get("passed")]
        out["methods"][m] = {
            "problems": len(mine),
            "passed": len(passing),
            "pass_rate": len(passing) / len(mine),
            "first_failing_stage": dict(Counter(r["stage"] for r in mine if not r["passed"])),
            "speedup_2@1": statistics.mean(r["speedup_2"] for r in mine),
            "median_speedup_2_passing": statistics.median([r["speedup_2"] for r in passing])
            if passing
            else None,
            "median_speedup_2_held_out_size": statistics.median(held) if held else None,
            "held_out_size_passed": sum(bool((r["held_out"] or {}).get("passed")) for r in passing),
            "llm_calls": sum(r["llm_calls"] or 0 for r in mine),
            "tokens": sum((r["prompt_tokens"] or 0) + (r["completion_tokens"] or 0) for r in mine),
            "wall_s": round(sum(r["wall_s"] for r in mine), 1),
        }
    if len(methods) == 2 and all(out["methods"].get(m) for m in methods):
        a, b = methods
        common = sorted(set(by[a]) & set(by[b]))
        wins = sum(by[b][p]["passed"] and not by[a][p]["passed"] for p in common)
        losses = sum(by[a][p]["passed"] and not by[b][p]["passed"] for p in common)
        out["paired"] = {
            "problems": len(common),
            f"{b}_only": wins,
            f"{a}_only": losses,
            "sign_test_p": sign_test(wins, losses),
        }
    return out


def table(summary: dict[str, Any]) -> Table:
    t = Table(
        "method",
        "passed",
        "first failing stage",
        "speedup_2@1",
        "median speedup np=2 (passing)",
        "at held-out size",
        "LLM calls",
        "tokens",
        "wall s",
    )
    for m, row in summary["methods"].items():
        med, held = row["median_speedup_2_passing"], row["median_speedup_2_held_out_size"]
        t.add_row(
            m,
            f"{row['passed']}/{row['problems']}",
            ", ".join(f"{k}: {v}" for k, v in sorted(row["first_failing_stage"].items())) or "-",
            f"{row['speedup_2@1']:.2f}",
            "-" if med is None else f"{med:.2f}",
            "-" if held is None else f"{held:.2f} ({row['held_out_size_passed']} passed)",
            str(row["llm_calls"]),
            str(row["tokens"]),
            f"{row['wall_s']:.0f}",
        )
    return t


def write(out: Path, args: argparse.Namespace, rows: list[dict[str, Any]], started: float) -> dict:
    methods = args.methods.split(",")
    summary = summarize(rows, methods)
    doc = {
        "bench": "mpi",
        "problems": args.problem_names,
        "methods": methods,
        "budget": {
            "llm_calls_per_problem": args.llm_calls,
            "tuner_evaluations": args.tuner_evaluations,
            "wall_time_s": args.wall_time_s,
        },
        "commit": args.commit,
        "model": args.model,
        "seed": args.seed,
        "threads": args.threads,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "wall_s": round(time.perf_counter() - started, 1) + sum(r["wall_s"] for r in args.prior),
        "summary": summary,
        "runs": rows,
    }
    if args.note:
        doc["note"] = args.note
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(doc, indent=2) + "\n")
    return summary


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--problems", default="mpi-held-out", help="names, splits or folders")
    p.add_argument("--methods", default=",".join(METHODS))
    p.add_argument("--model", default=MODEL)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--llm-calls", type=int, default=int(BENCH_GENERATORS["funcoder"].budget["llm_calls"])
    )
    p.add_argument("--tuner-evaluations", type=int, default=6)
    p.add_argument("--wall-time-s", type=float, default=900.0, help="per run, a safety net")
    p.add_argument("--threads", type=int, default=2, help="llama-server threads")
    p.add_argument(
        "--out", type=Path, default=None, help="default: results/mpi-<model>-<date>.json"
    )
    p.add_argument("--resume", action="store_true", help="keep the runs --out holds, skip them")
    args = p.parse_args()
    bad = [m for m in args.methods.split(",") if m not in METHODS]
    if bad:
        print(f"unknown method(s) {bad}; methods: {', '.join(METHODS)}", file=sys.stderr)
        return 2
    try:
        chosen = select_problems(args.problems)
    except ConfigError as exc:
        print(f"--problems: {exc}", file=sys.stderr)
        return 2
    if not chosen or any(kind != "mpi" for kind, _ in chosen):
        print("--problems: give MPI problems (names, mpi, mpi-held-out, folders)", file=sys.stderr)
        return 2
    problems = [f if Path(f).is_absolute() else str(library_dir() / f) for _, f in chosen]
    args.problem_names = [Path(f).name for f in problems]
    day = datetime.date.today().strftime("%Y%m%d")
    out = args.out or RESULTS / f"mpi-{args.model}-{day}.json"
    prior = prior_results(out, args.resume)
    if prior is None:
        return 2
    args.prior, args.note = prior.get("runs", []), prior.get("note")
    args.commit = git_commit(ROOT)
    rows = list(args.prior)
    done = {(r["method"], r["problem"]) for r in rows}
    console = Console()
    started = time.perf_counter()
    held_out = set(MPI_HELD_OUT)
    console.print(
        f"{len(problems)} problems ({sum(Path(f).name in held_out for f in problems)} of the "
        f"held-out split), methods {args.methods}, {args.llm_calls} LLM calls each"
    )
    with (
        sandbox_and_model(args.model, args.threads) as (box, llm),
        tempfile.TemporaryDirectory() as tmp,
    ):
        for folder in problems:
            for method in args.methods.split(","):
                if (method, Path(folder).name) in done:
                    continue
                row = one_run(method, folder, llm, args, Path(tmp), box)
                rows.append(row)
                console.print(
                    f"{row['problem']} {method}: passed {row['passed']} stage {row['stage']} "
                    f"speedup_2 {row['speedup_2']:.2f} ({row['llm_calls']} calls, "
                    f"{row['wall_s']} s)"
                )
                write(out, args, rows, started)
    summary = write(out, args, rows, started)
    console.print(table(summary))
    if "paired" in summary:
        console.print(f"paired: {summary['paired']}")
    console.print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
