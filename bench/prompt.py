"""Instructions vs exemplars vs both, at an equal budget (issue 8).

Every method gets the same budget of validation prompt evaluations (default 32) on 4 BBH tasks
with short inputs and short answers (boolean_expressions: True/False, sports_understanding:
yes/no, object_counting: a number, hyperbaton: an option letter), over 3 seeds (the seed changes
the split and the optimizers' RNG). The task model is qwen2.5-coder-1.5b-instruct (embedded
llama-server, 2 slots); the optimizer model is the same model by default (``--optimizer-model``).
Methods: the seed instruction; the instruction optimizers APE, OPRO, ProTeGi; the exemplar
selectors random, nearest, diversity, random search, mutation (pool: the seed's correct outputs
and the labelled training pairs); the joint search (``--joint``, default APE then mutation, half
the budget each). Each run goes through `workbench.runs.start_run`, the loop ``workbench
optimize`` drives, so its final prompt is scored once on the test split by
`PromptTask.finalize`. Prints a table (test accuracy mean over seeds per task and overall, mean
validation accuracy, validation->test gap, calls and tokens) and writes bench/results/prompt.json.

Before anything runs it prints the projection: exact call counts from each run's plan
(`Optimizer.plan`), tokens estimated from the real prompts (``max_tokens`` for every answer:
an upper bound), and hours at ``--prompt-tps`` / ``--gen-tps`` (measured for the 1.5b model on
this 2-core machine: ~68 prompt and ~26 generated tokens/s; no credit for llama-server's prompt
prefix reuse; the seed instruction's validation run counts once per task and seed, since the
response cache shares it). It exits with status 2 when the projection exceeds ``--max-hours``.

    python bench/prompt.py --dry-run                  # the projection only
    python bench/prompt.py --max-hours 2              # the bench (refuses if it cannot fit)
    python bench/prompt.py --model smollm2-135m-instruct --tasks boolean_expressions \\
        --seeds 1 --methods seed,ape,random_search --budget 3 --val 4 --test 4   # a smoke run
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import yaml
from rich.console import Console
from rich.table import Table

from workbench.llm import LLMConfig, ResponseCache, open_llm
from workbench.optimizers.prompt import prompts
from workbench.runs import check_task, start_run
from workbench.tasks import build_task, parse_task_text
from workbench.tasks.prompt import estimate_tokens

OUT = Path(__file__).parent / "results" / "prompt.json"
TASKS = ["boolean_expressions", "sports_understanding", "object_counting", "hyperbaton"]
SEED_INSTRUCTION = "Answer with the final answer only: True/False, yes/no, a number, or (A)-(E)."
CHAT_OVERHEAD = 5  # tokens per chat message (role markers and separators of the chat template)
PROPOSED_INSTRUCTION_TOKENS = 60  # an optimizer's instruction: one to three sentences

# method -> (optimizer name, settings); budgets come from --budget
METHODS: dict[str, tuple[str, dict[str, Any]]] = {
    "seed": ("exemplars", {"selector": "none"}),
    "ape": ("ape", {"demos": 3}),
    "opro": ("opro", {"candidates_per_step": 4, "demos": 2, "history": 10}),
    "protegi": ("protegi", {"minibatch": 4, "errors_shown": 2}),
    "random": ("exemplars", {"selector": "random"}),
    "nearest": ("exemplars", {"selector": "nearest"}),
    "diversity": ("exemplars", {"selector": "diversity"}),
    "random_search": ("exemplars", {"selector": "random_search"}),
    "mutation": ("exemplars", {"selector": "mutation"}),
    "joint": ("joint", {}),
}
JOINTS = {
    "ape+mutation": {"instruction": "ape", "instruction_settings": {"demos": 3}},
    "ape+tpe": {"instruction": "ape", "instruction_settings": {"demos": 3}, "search": "tpe"},
    "opro+random_search": {
        "instruction": "opro",
        "instruction_settings": {"candidates_per_step": 4, "demos": 2, "history": 10},
        "selector": "random_search",
    },
}


def task_yaml(args: argparse.Namespace, task: str, method: str, seed: int, llm: Any) -> str:
    """The task file of one (task, method, seed) run."""
    name, settings = METHODS[method]
    settings = json.loads(json.dumps(JOINTS[args.joint] if name == "joint" else settings))
    if name in ("ape", "opro", "protegi", "joint"):
        settings["max_tokens"] = args.optimizer_max_tokens
    if name == "joint":
        settings.setdefault("selector_settings", {})["k"] = args.k
        settings["source"] = "both"
    elif name == "exemplars" and settings["selector"] != "none":
        settings.update(k=args.k, source="both")
    doc = {
        "name": f"{task}-{method}-s{seed}",
        "kind": "prompt",
        "llm": llm["optimizer"],
        "optimizer": {"name": name, "settings": settings},
        "budget": {"evaluations": args.budget},
        "seed": seed,
        "prompt": {
            "dataset": task,
            "split": {"train": args.train, "val": args.val, "test": args.test, "seed": seed},
            "instruction": SEED_INSTRUCTION,
            "k": args.k,
            "task_llm": llm["task"],
            "max_tokens": args.max_tokens,
        },
    }
    return yaml.safe_dump(doc, sort_keys=False)


def _tokens(messages: list[dict[str, str]]) -> int:
    return sum(estimate_tokens(m["content"]) + CHAT_OVERHEAD for m in messages) + CHAT_OVERHEAD


def _mean(values: list[float]) -> float:
    return statistics.fmean(values) if values else 0.0


def project_run(args: argparse.Namespace, text: str, tmp: Path) -> dict[str, Any]:
    """Calls (exact, from the run's plan) and tokens (estimated from the real prompts)."""
    tf = parse_task_text(text, tmp)
    plan = check_task(tf)
    assert plan is not None
    task: Any = build_task(tf)
    s = plan["settings"]
    val, train = task.splits.val, task.splits.train or task.splits.val
    seed_i = task.section.instruction
    proposed = seed_i + " word" * PROPOSED_INSTRUCTION_TOKENS
    shots = task.shots({"exemplars": [f"train:{i}" for i in range(min(args.k, len(train)))]})

    def per_call(instruction: str, k_shots: list[Any]) -> float:
        return _mean([_tokens(task.messages(instruction, k_shots, e.input)) for e in val])

    zs_seed, zs_new, fs = per_call(seed_i, []), per_call(proposed, []), per_call(proposed, shots)
    io, es = plan["stages"]["instruction"], plan["stages"]["exemplars"]
    v, few = len(val), s["selector"] != "none" or s["search"] == "tpe"
    seed_tokens = v * zs_seed
    task_prompt = (io["evaluations"] - 1) * v * zs_new + io["minibatch_calls"] * zs_new
    task_prompt += (es["evaluations"] + es["report_evaluations"]) * v * fs
    task_prompt += plan["test_calls"] * (
        fs if few else zs_new if io["evaluations"] > 1 else zs_seed
    )
    demos = [(e.input, e.target) for e in train[:3]]
    out = "x " * args.max_tokens
    errors = [(e.input, out, e.target) for e in train[:2]]
    history = [(proposed, 0.5)] * 5
    opt_prompt = {
        "none": 0,
        "ape": _tokens(prompts.ape_messages(demos)),
        "opro": _tokens(prompts.opro_messages(history, demos[:2])),
        "protegi": (
            _tokens(prompts.gradient_messages(proposed, errors))
            + _tokens(prompts.edit_messages(proposed, errors, "y " * args.optimizer_max_tokens))
        )
        / 2,
    }[s["instruction"]]
    n_opt = plan["optimizer_calls"]
    n_task = plan["task_calls"] - v  # the seed's validation run is counted apart (shared)
    return {
        "task_calls": plan["task_calls"],
        "optimizer_calls": n_opt,
        "seed_prompt_tokens": seed_tokens,
        "seed_gen_tokens": v * args.max_tokens,
        "prompt_tokens": task_prompt + n_opt * opt_prompt,
        "gen_tokens": n_task * args.max_tokens + n_opt * args.optimizer_max_tokens,
    }


def project_bench(args: argparse.Namespace, runs: list[tuple[str, str, int]], tmp: Path) -> Any:
    """Per-method projections and the total hours (see the module docstring)."""
    llm = {"task": {"model": "local"}, "optimizer": {"model": "local"}}
    per_method: dict[str, dict[str, float]] = {}
    shared: dict[tuple[str, int], tuple[float, float]] = {}
    for t, m, seed in runs:
        p = project_run(args, task_yaml(args, t, m, seed, llm), tmp)
        shared[(t, seed)] = (p.pop("seed_prompt_tokens"), p.pop("seed_gen_tokens"))
        row = per_method.setdefault(m, dict.fromkeys(p, 0.0))
        for key, value in p.items():
            row[key] += value
    prompt_tok = sum(r["prompt_tokens"] for r in per_method.values())
    gen_tok = sum(r["gen_tokens"] for r in per_method.values())
    prompt_tok += sum(p for p, _ in shared.values())
    gen_tok += sum(g for _, g in shared.values())
    for row in per_method.values():
        row["hours"] = row["prompt_tokens"] / args.prompt_tps + row["gen_tokens"] / args.gen_tps
        row["hours"] /= 3600
    hours = (prompt_tok / args.prompt_tps + gen_tok / args.gen_tps) / 3600
    total = {
        "runs": len(runs),
        "task_calls": int(sum(r["task_calls"] for r in per_method.values())),
        "optimizer_calls": int(sum(r["optimizer_calls"] for r in per_method.values())),
        "prompt_tokens": round(prompt_tok),
        "gen_tokens": round(gen_tok),
        "hours": hours,
    }
    return per_method, total


def _print_projection(console: Console, per_method: dict[str, Any], total: dict[str, Any]) -> None:
    table = Table(title="Projection (calls exact, tokens an upper bound)")
    for col in ("method", "task calls", "optimizer calls", "prompt tok", "gen tok", "hours"):
        table.add_column(col, justify="left" if col == "method" else "right")
    for m, r in per_method.items():
        table.add_row(
            m,
            str(int(r["task_calls"])),
            str(int(r["optimizer_calls"])),
            f"{r['prompt_tokens']:.0f}",
            f"{r['gen_tokens']:.0f}",
            f"{r['hours']:.2f}",
        )
    table.add_row(
        "total (seed run shared)",
        str(total["task_calls"]),
        str(total["optimizer_calls"]),
        str(total["prompt_tokens"]),
        str(total["gen_tokens"]),
        f"{total['hours']:.2f}",
    )
    console.print(table)


def _client_factory(config: LLMConfig, cache_file: Path, stack: ExitStack) -> Any:
    def make(budget: Any = None, on_call: Any = None) -> Any:
        cm = open_llm(config, budget=budget, on_call=on_call, cache=ResponseCache(cache_file))
        return stack.enter_context(cm)

    return make


def run_bench(args: argparse.Namespace, runs: list[tuple[str, str, int]], tmp: Path) -> list[Any]:
    """Start the model server(s) and run every (task, method, seed); one row per run."""
    from workbench.llm.local import start_llama_server

    console = Console()
    servers = [start_llama_server(args.model, parallel=2, threads=args.threads, ctx_per_slot=4096)]
    if args.optimizer_model != args.model:
        servers.append(
            start_llama_server(args.optimizer_model, parallel=1, threads=1, ctx_per_slot=4096)
        )
    rows: list[dict[str, Any]] = []
    try:
        task_llm = {"model": f"endpoint:{args.model}", "base_url": servers[0].base_url}
        opt_llm = {"model": f"endpoint:{args.optimizer_model}", "base_url": servers[-1].base_url}
        llm = {"task": {**task_llm, "concurrency": 2}, "optimizer": {**opt_llm, "concurrency": 1}}
        cache_file = tmp / "llm-cache.sqlite"  # shared by every run: the seed run is computed once
        for i, (t, m, seed) in enumerate(runs, start=1):
            tf = parse_task_text(task_yaml(args, t, m, seed, llm), tmp)
            t0 = time.time()
            with ExitStack() as stack:
                res = start_run(
                    tf,
                    tmp / "runs",
                    make_llm=_client_factory(LLMConfig(**llm["optimizer"]), cache_file, stack),
                    make_task_llm=_client_factory(LLMConfig(**llm["task"]), cache_file, stack),
                )
            s, final = res.summary, res.summary.get("final") or {}
            tu, ou = s.get("task_llm") or {}, s.get("llm") or {}
            row = {
                "task": t,
                "method": m,
                "seed": seed,
                "val_accuracy": final.get("val_accuracy"),
                "test_accuracy": final.get("test_accuracy"),
                "gap": final.get("gap"),
                "evaluations": s.get("evaluations"),
                "task_calls": tu.get("calls", 0),
                "optimizer_calls": ou.get("calls", 0),
                "projected_task_calls": (s.get("plan") or {}).get("task_calls"),
                "tokens": sum(
                    u.get(k, 0) for u in (tu, ou) for k in ("prompt_tokens", "completion_tokens")
                ),
                "cache_hits": tu.get("cache_hits", 0) + ou.get("cache_hits", 0),
                "wall_s": time.time() - t0,
                "final_payload": final.get("payload"),
            }
            rows.append(row)
            console.print(
                f"[{i}/{len(runs)}] {t} {m} s{seed}: val {row['val_accuracy']} "
                f"test {row['test_accuracy']} ({row['wall_s']:.0f}s)",
                highlight=False,
            )
    finally:
        for server in servers:
            server.stop()
    return rows


def summarize(rows: list[dict[str, Any]], tasks: list[str], methods: list[str]) -> Any:
    """Per method: test accuracy per task (mean over seeds), means, gap, calls, tokens."""
    out: dict[str, Any] = {}
    for m in methods:
        mine = [r for r in rows if r["method"] == m and r["test_accuracy"] is not None]
        out[m] = {
            "test_accuracy": {
                t: _mean([r["test_accuracy"] for r in mine if r["task"] == t]) for t in tasks
            },
            "mean_test": _mean([r["test_accuracy"] for r in mine]),
            "mean_val": _mean([r["val_accuracy"] for r in mine if r["val_accuracy"] is not None]),
            "mean_gap": _mean([r["gap"] for r in mine if r["gap"] is not None]),
            "task_calls": sum(r["task_calls"] for r in rows if r["method"] == m),
            "optimizer_calls": sum(r["optimizer_calls"] for r in rows if r["method"] == m),
            "tokens": sum(r["tokens"] for r in rows if r["method"] == m),
        }
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--model", default="qwen2.5-coder-1.5b-instruct", help="the task model")
    p.add_argument("--optimizer-model", default=None, help="default: --model")
    p.add_argument("--tasks", default=",".join(TASKS))
    p.add_argument("--methods", default=",".join(METHODS))
    p.add_argument("--joint", default="ape+mutation", choices=sorted(JOINTS))
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--budget", type=int, default=32, help="validation evaluations per method")
    p.add_argument("--train", type=int, default=16)
    p.add_argument("--val", type=int, default=4)
    p.add_argument("--test", type=int, default=16)
    p.add_argument("--k", type=int, default=2, help="exemplars per prompt")
    p.add_argument("--max-tokens", type=int, default=6, help="task-model answer length")
    p.add_argument("--optimizer-max-tokens", type=int, default=48)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--prompt-tps", type=float, default=68.0, help="prompt tokens/s (task model)")
    p.add_argument("--gen-tps", type=float, default=26.0, help="generated tokens/s (task model)")
    p.add_argument("--max-hours", type=float, default=2.0, help="refuse (exit 2) above this")
    p.add_argument("--dry-run", action="store_true", help="print the projection only")
    p.add_argument("--out", type=Path, default=OUT)
    args = p.parse_args()
    args.optimizer_model = args.optimizer_model or args.model
    console = Console()
    tasks, methods = args.tasks.split(","), args.methods.split(",")
    unknown = set(methods) - set(METHODS)
    if unknown:
        console.print(f"unknown methods {sorted(unknown)}; known: {', '.join(METHODS)}")
        sys.exit(2)
    runs = [(t, m, s) for t in tasks for m in methods for s in range(args.seeds)]
    tmp = Path(tempfile.mkdtemp(prefix="bench-prompt-"))
    per_method, total = project_bench(args, runs, tmp)
    _print_projection(console, per_method, total)
    console.print(
        f"{total['runs']} runs: {total['task_calls']} task-model and {total['optimizer_calls']} "
        f"optimizer-model calls, about {total['hours']:.2f} h at {args.prompt_tps:g} prompt / "
        f"{args.gen_tps:g} generated tokens/s",
        highlight=False,
    )
    if total["hours"] > args.max_hours:
        console.print(
            f"projected {total['hours']:.2f} h exceeds --max-hours {args.max_hours:g}: not "
            f"starting (lower --val/--test/--seeds/--budget, or raise --max-hours)",
            highlight=False,
        )
        sys.exit(2)
    if args.dry_run:
        return
    started = time.time()
    rows = run_bench(args, runs, tmp)
    summary = summarize(rows, tasks, methods)
    table = Table(title=f"Prompt optimization, {args.budget} validation evaluations per method")
    for col in ["method", *tasks, "mean test", "mean val", "gap", "task calls", "opt calls", "tok"]:
        table.add_column(col, justify="right" if col != "method" else "left")
    for m, e in summary.items():
        table.add_row(
            m,
            *(f"{e['test_accuracy'][t]:.3f}" for t in tasks),
            f"{e['mean_test']:.3f}",
            f"{e['mean_val']:.3f}",
            f"{e['mean_gap']:+.3f}",
            str(e["task_calls"]),
            str(e["optimizer_calls"]),
            str(e["tokens"]),
        )
    console.print(table)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    result = {
        "settings": {k: json.loads(json.dumps(v, default=str)) for k, v in vars(args).items()},
        "machine": {"platform": platform.platform(), "python": platform.python_version()},
        "projected": {"per_method": per_method, "total": total},
        "wall_s": time.time() - started,
        "summary": summary,
        "runs": rows,
    }
    args.out.write_text(json.dumps(result, indent=1), encoding="utf-8")
    console.print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
