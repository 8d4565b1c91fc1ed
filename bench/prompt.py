"""Instructions vs exemplars vs both, at an equal budget (issue 8).

Each method gets the same budget of validation prompt evaluations (default 32) on 4 BBH tasks,
with 3 seeds (the seed changes the split and the optimizers' RNG). The task model and the
optimizer model are both the embedded qwen2.5-coder-1.5b-instruct. Methods: the seed
instruction alone; the instruction optimizers (APE, OPRO, ProTeGi); the exemplar selectors over
the pool harvested from the seed instruction's validation run (random, nearest, diversity,
random search, mutation); and two joint searches (APE then random search; APE then TPE over
(instruction, exemplar set) pairs), each splitting the budget in half. The final prompt of each
run is scored once on the test split. Prints a table (test accuracy mean over seeds, per task and
overall; validation->test gap; calls and tokens) and writes bench/results/prompt.json.

Before running, the projected task-model and optimizer-model calls of the whole bench are
printed (`--dry-run` stops there). A full run (defaults) is long on 2 CPU cores; the LLM response
cache shares the seed instruction's evaluations between methods.

    python bench/prompt.py --dry-run
    python bench/prompt.py                                     # the full bench
    python bench/prompt.py --model smollm2-135m-instruct --tasks navigate --seeds 1 \\
        --methods seed,ape,random_search --budget 3 --val 4 --test 4   # a smoke run
"""

from __future__ import annotations

import argparse
import functools
import json
import platform
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml
from rich.console import Console
from rich.table import Table

from workbench.llm import LLMConfig, ResponseCache, open_llm
from workbench.optimizers.prompt import project_task, run_prompt
from workbench.tasks import parse_task_text

OUT = Path(__file__).parent / "results" / "prompt.json"
TASKS = ["navigate", "boolean_expressions", "sports_understanding", "date_understanding"]
SEED_INSTRUCTION = "Answer the question. Think briefly, then finish with 'So the answer is X.'"

# method -> (optimizer name, settings); budgets are filled in from --budget
METHODS: dict[str, tuple[str, dict[str, Any]]] = {
    "seed": ("exemplars_opt", {"selector": "none"}),
    "ape": ("ape", {}),
    "opro": ("opro", {}),
    "protegi": ("protegi", {"minibatch": 8}),
    "random": ("exemplars_opt", {"selector": "random"}),
    "nearest": ("exemplars_opt", {"selector": "nearest"}),
    "diversity": ("exemplars_opt", {"selector": "diversity"}),
    "random_search": ("exemplars_opt", {"selector": "random_search"}),
    "mutation": ("exemplars_opt", {"selector": "mutation"}),
    "joint_ape_rs": ("joint", {"instruction": "ape", "selector": "random_search"}),
    "joint_ape_tpe": ("joint", {"instruction": "ape", "search": "tpe", "sets": 8}),
}


def task_yaml(args: argparse.Namespace, task: str, method: str, seed: int, llm: dict) -> str:
    """The task file of one (task, method, seed) run."""
    name, settings = METHODS[method]
    settings = json.loads(json.dumps(settings))
    if name in ("ape", "opro", "protegi"):
        settings["max_tokens"] = 160
    if name == "joint":
        settings["max_tokens"] = 160
        settings.setdefault("selector_settings", {})["k"] = args.k
    elif name == "exemplars_opt" and settings["selector"] != "none":
        settings["k"] = args.k
    doc = {
        "name": f"{task}-{method}-s{seed}",
        "kind": "prompt",
        "llm": llm,
        "optimizer": {"name": name, "settings": settings},
        "budget": {"evaluations": args.budget},
        "seed": seed,
        "prompt": {
            "dataset": task,
            "split": {"train": args.train, "val": args.val, "test": args.test, "seed": seed},
            "instruction": SEED_INSTRUCTION,
            "k": args.k,
            "task_llm": llm,
            "max_tokens": args.max_tokens,
        },
    }
    return yaml.safe_dump(doc, sort_keys=False)


def _mean(values: list[float]) -> float | None:
    return statistics.fmean(values) if values else None


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--model", default="qwen2.5-coder-1.5b-instruct")
    p.add_argument("--tasks", default=",".join(TASKS))
    p.add_argument("--methods", default=",".join(METHODS))
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--budget", type=int, default=32, help="validation evaluations per method")
    p.add_argument("--train", type=int, default=16)
    p.add_argument("--val", type=int, default=8)
    p.add_argument("--test", type=int, default=40)
    p.add_argument("--k", type=int, default=3)
    p.add_argument("--max-tokens", type=int, default=96, help="task-model answer length")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--dry-run", action="store_true", help="print the projected calls only")
    p.add_argument(
        "--sec-per-call",
        type=float,
        default=22.0,
        help="for the time estimate (measured: ~22 s per task call, 1.5b, 2 shared cores)",
    )
    p.add_argument("--out", type=Path, default=OUT)
    args = p.parse_args()
    console = Console()
    tasks = args.tasks.split(",")
    methods = args.methods.split(",")
    unknown = set(methods) - set(METHODS)
    if unknown:
        raise SystemExit(f"unknown methods {sorted(unknown)}; known: {', '.join(METHODS)}")

    runs = [(t, m, s) for t in tasks for m in methods for s in range(args.seeds)]
    placeholder = {"model": f"endpoint:{args.model}", "base_url": "http://127.0.0.1:1/v1"}
    tmp = Path(tempfile.mkdtemp(prefix="bench-prompt-"))
    projected = {"task_calls": 0, "optimizer_calls": 0}
    for t, m, s in runs:
        tf = parse_task_text(task_yaml(args, t, m, s, placeholder), tmp)
        proj = project_task(tf)
        projected["task_calls"] += proj.task_calls
        projected["optimizer_calls"] += proj.optimizer_calls
    hours = (projected["task_calls"] + projected["optimizer_calls"]) * args.sec_per_call / 3600
    console.print(
        f"{len(runs)} runs; projected calls (upper bound, before cache hits): "
        f"{projected['task_calls']} task-model, {projected['optimizer_calls']} optimizer-model; "
        f"at {args.sec_per_call:g} s per call about "
        f"{hours:.1f} h"
    )
    if args.dry_run:
        return

    from workbench.llm.local import start_llama_server

    server = start_llama_server(args.model, parallel=2, threads=args.threads, ctx_per_slot=4096)
    rows: list[dict[str, Any]] = []
    started = time.time()
    try:
        llm = {"model": f"endpoint:{args.model}", "base_url": server.base_url, "concurrency": 2}
        cache_file = tmp / "llm-cache.sqlite"  # shared by every client (one handle each)
        for i, (t, m, s) in enumerate(runs, start=1):
            tf = parse_task_text(task_yaml(args, t, m, s, llm), tmp)
            config = LLMConfig(**llm)
            t0 = time.time()
            with open_llm(config, cache=ResponseCache(cache_file)) as task_client:
                holder: list[Any] = []
                make_llm = functools.partial(stack_client, config, cache_file, holder=holder)
                try:
                    res = run_prompt(tf, tmp / "runs", make_llm=make_llm, task_client=task_client)
                finally:
                    for cm in holder:
                        cm.__exit__(None, None, None)
            b = res.prompt
            tu, ou = b.get("task_usage") or {}, b.get("optimizer_usage") or {}
            row = {
                "task": t,
                "method": m,
                "seed": s,
                "val_accuracy": b.get("val_accuracy"),
                "test_accuracy": b.get("test_accuracy"),
                "gap": b.get("gap"),
                "evaluations": b.get("evaluations"),
                "task_calls": tu.get("calls", 0),
                "optimizer_calls": ou.get("calls", 0),
                "tokens": sum(
                    u.get(k, 0) for u in (tu, ou) for k in ("prompt_tokens", "completion_tokens")
                ),
                "cache_hits": tu.get("cache_hits", 0) + ou.get("cache_hits", 0),
                "parse_failures": b.get("parse_failures", 0),
                "wall_s": time.time() - t0,
                "final_instruction": (b.get("final") or {}).get("payload", {}).get("instruction"),
            }
            rows.append(row)
            console.print(
                f"[{i}/{len(runs)}] {t} {m} s{s}: val {row['val_accuracy']:.3f} "
                f"test {row['test_accuracy']:.3f} ({row['wall_s']:.0f}s)"
            )
    finally:
        server.stop()

    table = Table(title=f"Prompt optimization, {args.budget} validation evaluations per method")
    for col in ["method", *tasks, "mean test", "mean val", "gap", "task calls", "opt calls"]:
        table.add_column(col, justify="right" if col != "method" else "left")
    summary: dict[str, Any] = {}
    for m in methods:
        mine = [r for r in rows if r["method"] == m]
        per_task = {t: _mean([r["test_accuracy"] for r in mine if r["task"] == t]) for t in tasks}
        entry = {
            "test_accuracy": per_task,
            "mean_test": _mean([r["test_accuracy"] for r in mine]),
            "mean_val": _mean([r["val_accuracy"] for r in mine]),
            "mean_gap": _mean([r["gap"] for r in mine if r["gap"] is not None]),
            "task_calls": sum(r["task_calls"] for r in mine),
            "optimizer_calls": sum(r["optimizer_calls"] for r in mine),
            "tokens": sum(r["tokens"] for r in mine),
        }
        summary[m] = entry
        cells = [f"{per_task[t]:.3f}" if per_task[t] is not None else "-" for t in tasks]
        table.add_row(
            m,
            *cells,
            f"{entry['mean_test']:.3f}",
            f"{entry['mean_val']:.3f}",
            f"{entry['mean_gap']:+.3f}",
            str(entry["task_calls"]),
            str(entry["optimizer_calls"]),
        )
    console.print(table)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        json.dumps(
            {
                "settings": {
                    k: json.loads(json.dumps(v, default=str)) for k, v in vars(args).items()
                },
                "machine": {"platform": platform.platform(), "python": platform.python_version()},
                "projected": projected,
                "wall_s": time.time() - started,
                "summary": summary,
                "runs": rows,
            },
            indent=1,
        ),
        encoding="utf-8",
    )
    console.print(f"wrote {args.out}")


def stack_client(
    config: LLMConfig,
    cache_file: Path,
    budget: Any = None,
    on_call: Any = None,
    *,
    holder: list[Any],
) -> Any:
    """An optimizer-model client on the shared server and cache (closed by the caller)."""
    cm = open_llm(config, budget=budget, on_call=on_call, cache=ResponseCache(cache_file))
    holder.append(cm)
    return cm.__enter__()


if __name__ == "__main__":
    main()
