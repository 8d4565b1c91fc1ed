"""OptoPrime's success rate on the shipped workflow examples with a real local model.

For each example in tasks/workflow/ (numeric, words, sentiment) and each seed, run
`workbench optimize` (through `workbench.runs.start_run`) with the optimizer model served by one
embedded llama-server; the sentiment workflow's own classifier calls go to the same server.
A run succeeds when it stops at the task's target (`stop.target`) within its budget. Prints a
table and writes bench/results/optoprime_quality.json. CPU heavy: minutes per run on 2 cores.

    python bench/optoprime_quality.py [--model qwen2.5-coder-1.5b-instruct] [--seeds 0,1,2]
        [--examples numeric,words,sentiment] [--threads 2]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml
from rich.console import Console
from rich.table import Table

import workbench.optimizers.optoprime  # noqa: F401  (registers `optoprime`)
from workbench.llm.local import start_llama_server
from workbench.runs import start_run

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "tasks" / "workflow"
OUT = Path(__file__).parent / "results" / "optoprime_quality.json"
MODEL = "qwen2.5-coder-1.5b-instruct"


def task_for(
    example: str, seed: int, llm: dict[str, Any], folder: Path, iterations: int | None
) -> Path:
    """A copy of the example's task file pointing at the bench's model server."""
    path = EXAMPLES / f"{example}.yaml"
    data = yaml.safe_load(path.read_text())
    data["seed"] = seed
    if iterations is not None:
        data["budget"]["iterations"] = iterations
    data["llm"] = llm
    module = data["workflow"]["module"]
    data["workflow"]["module"] = str((path.parent / module).resolve())
    data["workflow"]["files"] = [
        str((path.parent / f).resolve()) for f in data["workflow"].get("files", [])
    ]
    if data["workflow"].get("llm") is not None:
        data["workflow"]["llm"] = llm
    out = folder / f"{example}-{seed}.yaml"
    out.write_text(yaml.safe_dump(data, sort_keys=False))
    return out


def one_run(task: Path, runs: Path) -> dict[str, Any]:
    started = time.perf_counter()
    result = start_run(task, runs)
    events = [json.loads(x) for x in (result.run.path / "events.jsonl").read_text().splitlines()]
    s = result.summary
    return {
        "success": s["stop_reason"] == "target",
        "stop_reason": s["stop_reason"],
        "best_score": (s.get("best") or {}).get("score"),
        "best_payload": (s.get("best") or {}).get("payload"),
        "steps": s["steps"],
        "evaluations": s["evaluations"],
        "llm_calls": (s.get("llm") or {}).get("calls"),
        "tokens": (s.get("llm") or {}).get("tokens"),
        "optoprime_calls": sum(e["type"] == "optoprime_call" for e in events),
        "rejections": sum(e["type"] == "optoprime_rejection" for e in events),
        "wall_s": round(time.perf_counter() - started, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=MODEL)
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--examples", default="numeric,words,sentiment")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--iterations", type=int, default=None, help="override the budget")
    args = parser.parse_args()
    seeds = [int(s) for s in args.seeds.split(",")]
    examples = args.examples.split(",")
    console = Console()
    server = start_llama_server(args.model, parallel=2, threads=args.threads, ctx_per_slot=4096)
    rows: list[dict[str, Any]] = []
    try:
        llm = {
            "model": f"endpoint:{args.model}",
            "base_url": server.base_url,
            "cache": False,
            "timeout_s": 1800,  # a shared 2-core machine: minutes per structured answer
        }
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            for example in examples:
                for seed in seeds:
                    task = task_for(example, seed, llm, folder, args.iterations)
                    row = {"example": example, "seed": seed, **one_run(task, folder / "runs")}
                    rows.append(row)
                    console.print(
                        f"{example} seed {seed}: success={row['success']} "
                        f"best={row['best_score']} steps={row['steps']} ({row['wall_s']} s)"
                    )
                    write(args, seeds, examples, rows)  # partial results survive an interrupt
    finally:
        server.stop()
    per = write(args, seeds, examples, rows)
    table = Table("example", "success rate", "mean steps", "mean LLM calls", "rejections", "mean s")
    for example, p in per.items():
        table.add_row(
            example,
            f"{p['success_rate']:.0%} ({p['runs']})",
            f"{p['mean_steps']:.1f}",
            f"{p['mean_llm_calls']:.1f}",
            str(p["rejections"]),
            f"{p['mean_wall_s']:.0f}",
        )
    console.print(table)
    console.print(f"wrote {OUT}")


def write(
    args: argparse.Namespace, seeds: list[int], examples: list[str], rows: list[dict[str, Any]]
) -> dict[str, dict[str, Any]]:
    """Summarize the runs so far per example and write the JSON file."""
    per: dict[str, dict[str, Any]] = {}
    for example in examples:
        mine = [r for r in rows if r["example"] == example]
        if not mine:
            continue
        n = len(mine)
        per[example] = {
            "runs": n,
            "success_rate": sum(r["success"] for r in mine) / n,
            "mean_steps": sum(r["steps"] for r in mine) / n,
            "mean_llm_calls": sum(r["llm_calls"] or 0 for r in mine) / n,
            "rejections": sum(r["rejections"] for r in mine),
            "mean_wall_s": sum(r["wall_s"] for r in mine) / n,
        }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    doc = {
        "model": args.model,
        "seeds": seeds,
        "threads": args.threads,
        "iterations": args.iterations,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "summary": per,
        "runs": rows,
    }
    OUT.write_text(json.dumps(doc, indent=2) + "\n")
    return per


if __name__ == "__main__":
    main()
