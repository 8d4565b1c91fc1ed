"""Instructions vs exemplars vs both, at an equal budget (issue 8).

Budget unit: **validation example-evaluations** (task-model calls on validation examples),
32 per method run, the seed instruction's full validation run included. Every method races
(`RaceSettings`: new candidates screened on 2 validation examples, the best ones promoted by
successive halving until they have seen all 8; the final prompt is the best one scored on all 8,
the seed instruction included). With 8 validation examples a searching method screens 7
candidates (8 + 7x2 + 3x2 + 1x4 = 32); heuristic selectors spend 16 (the seed's 8 fill the pool,
8 report their pick); ``seed`` spends 8. 4 BBH tasks with short answers, 3 seeds (the seed
changes train / validation and the optimizers' RNG; the 20 test examples are drawn apart with
``test_seed: 0`` and shared by every method and seed). Task model qwen2.5-coder-1.5b-instruct,
the optimizer model the same model on its own llama-server (one slot each, so one candidate's
examples reach the server back to back and llama-server's prompt cache processes only the new
tokens). One response cache for the whole bench: the seed instruction's validation and test runs
are computed once per task and seed / per task.

The projection (printed first, ``--dry-run`` stops there) counts calls exactly from each run's
plan; prefill tokens come from replaying every run's task-model prompts, in order, through a
simulated one-slot prompt cache (`Slot`: a prompt is prefilled past its longest common prefix
with the previous one); seconds come from ``--measured`` (bench/results/prompt_measure.json,
written by ``--measure``: a short real run on hyperbaton, ProTeGi and random search, 1 seed, 1
thread per server), which holds: the servers' own counters (/metrics: prompt tokens prefilled,
i.e. not served from the prompt cache, and their seconds; generated tokens and their seconds),
the CPU share the servers got, tokens per call, per-call and per-run overheads, the per-task
ratio of real (/tokenize) to estimated tokens, and the ratio of measured to simulated prefill
(applied to the whole projection). ``--rates`` picks the rates the guard uses (``cpu``: the
measured ones divided by the CPU share the servers got, i.e. one uncontended core each; all
three are printed). It exits with status 2 when the projection exceeds ``--max-hours``.

    python bench/prompt.py --measure          # ~6 min: writes bench/results/prompt_measure.json
    python bench/prompt.py --dry-run          # the projection, from the measured figures
    python bench/prompt.py --threads 1        # the bench (refuses above --max-hours)
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
import yaml
from rich.console import Console
from rich.table import Table

from workbench.llm import LLMConfig, ResponseCache, open_llm
from workbench.optimizers.prompt import prompts, race_rungs
from workbench.runs import check_task, run_prompt
from workbench.tasks import build_task, parse_task_text
from workbench.tasks.prompt import estimate_tokens

RESULTS = Path(__file__).parent / "results"
OUT, MEASURED = RESULTS / "prompt.json", RESULTS / "prompt_measure.json"
TASKS = ["boolean_expressions", "sports_understanding", "object_counting", "hyperbaton"]
# the seed instruction of each task: its answer format only (answers are capped at --max-tokens)
SEED_INSTRUCTIONS = {
    "boolean_expressions": "Evaluate the expression. Answer True or False only.",
    "sports_understanding": "Is the sentence plausible? Answer yes or no only.",
    "object_counting": "Answer with the number only.",
    "hyperbaton": "Answer with the option letter only, e.g. (A).",
}
BUDGET_UNIT = "validation example-evaluations (task-model calls on validation examples)"
CHAT_OVERHEAD = 5  # tokens per chat message (role markers and separators of the chat template)
PROPOSED_INSTRUCTION_TOKENS = 30  # an optimizer's instruction: one or two sentences
MEASURE_METHODS = "protegi,random_search"
IDLE2 = (68.0, 26.0)  # the lead's measurement: prefill / generated tok/s, 2 threads, idle

APE = {"demos": 3, "fixed_demos": True}
# method -> (optimizer name, settings); the racing budget comes from --budget
METHODS: dict[str, tuple[str, dict[str, Any]]] = {
    "seed": ("exemplars", {"selector": "none"}),
    "ape": ("ape", APE),
    "opro": ("opro", {"candidates_per_step": 4, "demos": 2, "history": 10}),
    "protegi": (
        "protegi",
        {"beam": 2, "gradients": 1, "edits_per_gradient": 4, "minibatch": 4, "errors_shown": 2},
    ),
    "random": ("exemplars", {"selector": "random"}),
    "nearest": ("exemplars", {"selector": "nearest"}),
    "diversity": ("exemplars", {"selector": "diversity"}),
    "random_search": ("exemplars", {"selector": "random_search"}),
    "mutation": ("exemplars", {"selector": "mutation"}),
    "joint": ("joint", {}),
}
JOINTS = {
    "ape+mutation": {"instruction": "ape", "instruction_settings": APE},
    "ape+tpe": {"instruction": "ape", "instruction_settings": APE, "search": "tpe"},
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
    settings["racing"] = {"examples": args.budget, "screen": args.screen, "eta": 2}
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
        "budget": {"evaluations": 1000},  # the racing budget (example-evaluations) stops runs
        "seed": seed,
        "prompt": {
            "dataset": task,
            "split": {
                "train": args.train,
                "val": args.val,
                "test": args.test,
                "seed": seed,
                "test_seed": 0,
            },
            "instruction": SEED_INSTRUCTIONS.get(task, "Answer with the final answer only."),
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


# -- projection ------------------------------------------------------------------------------
def render(messages: list[dict[str, str]]) -> str:
    """A chat prompt as the server sees it (ChatML, the Qwen template's layout)."""
    turns = "".join(f"<|im_start|>{m['role']}\n{m['content']}<|im_end|>\n" for m in messages)
    return turns + "<|im_start|>assistant\n"


class Slot:
    """A one-slot llama-server's prompt cache: a prompt is prefilled only past its longest
    common prefix with the slot's previous prompt (tokens estimated, scaled per task)."""

    def __init__(self) -> None:
        self.prev, self.sent, self.processed = "", 0.0, 0.0

    def call(self, text: str) -> None:
        """One request."""
        shared = len(os.path.commonprefix([self.prev, text]))  # noqa: RUF071 (strings)
        self.sent += estimate_tokens(text)
        self.processed += estimate_tokens(text[shared:]) + 1
        self.prev = text


def project_run(args: argparse.Namespace, text: str, tmp: Path, slot: Slot) -> dict[str, Any]:
    """Calls (exact, from the run's plan) and prefill tokens (simulated on `slot`, in the
    order the run makes its task-model calls: the seed's validation run, ProTeGi's minibatches,
    screens and promotions of each stage, a heuristic selector's report, the test split)."""
    tf = parse_task_text(text, tmp)
    plan = check_task(tf)
    assert plan is not None
    task: Any = build_task(tf)
    s, st = plan["settings"], plan["stages"]
    val, train, test = task.splits.val, task.splits.train or task.splits.val, task.splits.test
    seed_i = task.section.instruction
    proposed = " ".join(["word"] * PROPOSED_INSTRUCTION_TOKENS)
    sent0, processed0 = slot.sent, slot.processed

    def shots(j: int) -> list[Any]:  # the j-th exemplar set
        ids = [f"train:{(j * args.k + i) % len(train)}" for i in range(args.k)]
        return list(task.shots({"exemplars": ids}))

    def run(instruction: str, examples: list[Any], j: int | None, per_input: bool = False):
        for i, e in enumerate(examples):
            k_shots = [] if j is None else shots(j + i if per_input else j)
            slot.call(render(task.messages(instruction, k_shots, e.input)))

    racing, v = s["racing"], len(val)
    few = s["selector"] != "none" or s["search"] == "tpe"
    nearest = s["selector"] == "nearest"
    seed_sent, seed_processed = slot.sent, slot.processed
    run(seed_i, val, None)
    seed_val = (v, slot.sent - seed_sent, slot.processed - seed_processed)
    if plan["minibatch_calls"]:
        for r in range(2):
            run(f"{r} {proposed}", train[: s["instruction_settings"]["minibatch"]], None)
    es_instruction = f"0 {proposed}" if s["instruction"] != "none" else seed_i
    for stage in ("instruction", "exemplars"):
        seen = 0
        for size, count in race_rungs(st[stage]["screened"], racing["screen"], v, racing["eta"]):
            for j in range(count):
                if stage == "instruction":
                    run(f"{j} {proposed}", val[seen:size], None)
                else:
                    run(es_instruction, val[seen:size], j)
            seen = size
    if plan["report_evaluations"]:
        run(es_instruction, val, 0, per_input=nearest)
    is_seed = s["instruction"] == "none" and not few
    before_test = (slot.sent, slot.processed)
    run(es_instruction, test, 0 if few else None, per_input=nearest)
    test_tokens = (slot.sent - before_test[0], slot.processed - before_test[1])
    demos = [(e.input, e.target) for e in train[:3]]
    errors = [(e.input, e.target, e.target) for e in train[:2]]
    # optimizer prompts repeat within a run (APE's fixed demos, OPRO's step, ProTeGi's edits
    # of one gradient): `seconds` credits the prefilled fraction measured with ProTeGi (the
    # fewest repeats: 2 distinct prompts in 4-5 calls), not more
    opt_prompt = {
        "none": 0,
        "ape": _tokens(prompts.ape_messages(demos)),
        "opro": _tokens(prompts.opro_messages([(proposed, 0.5)] * 5, demos[:2])),
        "protegi": (
            _tokens(prompts.gradient_messages(proposed, errors))
            + _tokens(prompts.edit_messages(proposed, errors, "y " * args.optimizer_max_tokens))
        )
        / 2,
    }[s["instruction"]]
    shared_test = (plan["test_calls"], *test_tokens) if is_seed else None
    return {
        "task_calls": plan["task_calls"] - v - (plan["test_calls"] if is_seed else 0),
        "val_examples": plan["val_examples"],
        "optimizer_calls": plan["optimizer_calls"],
        "task_sent": slot.sent - sent0 - seed_val[1] - (test_tokens[0] if is_seed else 0),
        "task_processed": slot.processed
        - processed0
        - seed_val[2]
        - (test_tokens[1] if is_seed else 0),
        "optimizer_sent": plan["optimizer_calls"] * opt_prompt,
        # shared by the methods of a (task, seed) / of a task, through the response cache
        "shared_seed_val": seed_val,
        "shared_seed_test": shared_test,
    }


def project_bench(
    args: argparse.Namespace, runs: list[tuple[str, str, int]], tmp: Path, m: dict[str, Any]
) -> Any:
    """Per-method projections and totals; seconds from the measured figures `m`."""
    llm = {"task": {"model": "local"}, "optimizer": {"model": "local"}}
    per_method: dict[str, dict[str, float]] = {}
    shared: dict[Any, tuple[int, float, float]] = {}
    slot = Slot()
    for t, meth, seed in runs:
        sent, processed = slot.sent, slot.processed
        p = project_run(args, task_yaml(args, t, meth, seed, llm), tmp, slot)
        scale = m.get("token_scale", {}).get(t, 1.0)  # measured tokens / estimated tokens
        slot.sent, slot.processed = sent, processed  # (the slot's counters are not used)
        for key in ("task_sent", "task_processed", "optimizer_sent"):
            p[key] *= scale
        for key in ("shared_seed_val", "shared_seed_test"):
            if p[key] is not None:
                p[key] = (p[key][0], p[key][1] * scale, p[key][2] * scale)
        shared[("val", t, seed)] = p.pop("shared_seed_val")
        seed_test = p.pop("shared_seed_test")
        if seed_test is not None:
            shared[("test", t)] = seed_test
        row = per_method.setdefault(meth, dict.fromkeys(p, 0.0))
        for key, value in p.items():
            row[key] += value
    row = per_method.setdefault("shared seed runs", dict.fromkeys(next(iter(per_method.values()))))
    row.update(
        task_calls=sum(c for c, _, _ in shared.values()),
        val_examples=0,
        optimizer_calls=0,
        task_sent=sum(s for _, s, _ in shared.values()),
        task_processed=sum(p for _, _, p in shared.values()),
        optimizer_sent=0,
    )
    for name, r in per_method.items():
        n_runs = sum(1 for _, meth, _ in runs if meth == name)
        r["seconds"] = seconds(r, m) + n_runs * m["run_overhead_s"]
    keys = (
        "val_examples",
        "task_calls",
        "optimizer_calls",
        "task_sent",
        "task_processed",
        "optimizer_sent",
    )
    total = {k: sum(r[k] for r in per_method.values()) for k in (*keys, "seconds")}
    total["runs"] = len(runs)
    total["hours"] = total["seconds"] / 3600
    return per_method, total


RATES = {
    "measured": "the rates measured (1 thread per server, on the machine as loaded then)",
    "cpu": "the measured rates divided by the servers' CPU share (1 uncontended core each)",
    "idle2": "the lead's idle 2-thread rates (68 prefill / 26 generated tok/s), with the "
    "measured tokens, cache reuse and overheads",
    "upper": "the ``cpu`` rates with every answer as long as its cap (--max-tokens, "
    "--optimizer-max-tokens)",
}


def rates(m: dict[str, Any], basis: str, caps: dict[str, int]) -> dict[str, Any]:
    """`m` with its prefill / generation rates on `basis` (see `RATES`); ``upper`` also
    makes every answer as long as its cap (`caps`: ``task`` and ``optimizer`` max tokens)."""
    out = json.loads(json.dumps(m))
    for role in ("task", "optimizer"):
        r = out[role]
        if basis == "upper":
            r["gen_per_call"] = float(caps[role])
        if basis in ("cpu", "upper"):
            share = min(max(r.get("cpu_share", 1.0), 1e-3), 1.0)
            r["prompt_tps"] /= share
            r["gen_tps"] /= share
        elif basis == "idle2":
            r["prompt_tps"], r["gen_tps"] = IDLE2
    return out


def seconds(r: dict[str, float], m: dict[str, Any]) -> float:
    """Projected seconds of `r`'s calls at the measured rates (`m`: see `measure_figures`)."""
    t, o = m["task"], m["optimizer"]
    task_s = r["task_processed"] * m["processed_ratio"] / t["prompt_tps"]
    task_s += r["task_calls"] * (t["gen_per_call"] / t["gen_tps"] + t["overhead_s"])
    opt_s = r["optimizer_sent"] * o["processed_fraction"] / o["prompt_tps"]
    opt_s += r["optimizer_calls"] * (o["gen_per_call"] / o["gen_tps"] + o["overhead_s"])
    return task_s + opt_s


def _print_projection(console: Console, per_method: dict[str, Any], total: dict[str, Any]) -> None:
    table = Table(title="Projection (calls exact; task tokens simulated, x measured token scale)")
    cols = (
        "method",
        "val ex-evals",
        "task calls",
        "opt calls",
        "task tok sent",
        "prefill sim",
        "h",
    )
    for col in cols:
        table.add_column(col, justify="left" if col == "method" else "right")
    for name, r in [*per_method.items(), ("total", total)]:
        table.add_row(
            name,
            str(int(r.get("val_examples", 0) or 0)),
            str(int(r["task_calls"])),
            str(int(r["optimizer_calls"])),
            f"{r['task_sent']:.0f}",
            f"{r['task_processed']:.0f}",
            f"{r['seconds'] / 3600:.2f}",
        )
    console.print(table)


# -- servers and measured figures --------------------------------------------------------------
METRICS = (
    "prompt_tokens_total",
    "prompt_seconds_total",
    "tokens_predicted_total",
    "tokens_predicted_seconds_total",
    "requests_processing",
)


def read_metrics(server: Any) -> dict[str, float]:
    """llama-server's /metrics counters (``--metrics``, set through LLAMA_ARG_ENDPOINT_METRICS)
    and the CPU seconds its process used (``cpu_s``, from /proc)."""
    text = httpx.get(f"{server.root_url}/metrics", timeout=10).text
    out = {}
    for line in text.splitlines():
        if line.startswith("llamacpp:"):
            name, _, value = line.partition(" ")
            out[name.removeprefix("llamacpp:")] = float(value)
    fields = Path(f"/proc/{server.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
    cpu_s = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return {**{k: out.get(k, 0.0) for k in METRICS}, "cpu_s": cpu_s}


def start_servers(args: argparse.Namespace) -> dict[str, Any]:
    """One llama-server for the task model and one for the optimizer model (one slot each)."""
    from workbench.llm.local import start_llama_server

    os.environ["LLAMA_ARG_ENDPOINT_METRICS"] = "1"
    kw = {"parallel": 1, "threads": args.threads, "ctx_per_slot": 4096}
    task = start_llama_server(args.model, **kw)
    try:
        opt = start_llama_server(args.optimizer_model, **kw)
    except BaseException:
        task.stop()
        raise
    return {"task": task, "optimizer": opt}


def measure_figures(
    deltas: dict[str, dict[str, float]],
    usage: dict[str, dict[str, float]],
    wall: dict[str, float],
    total_wall: float,
    n_runs: int,
) -> dict[str, Any]:
    """Rates and per-call figures per role from the servers' counters and the clients' usage
    (``wall``: summed call latencies per role); ``run_overhead_s``: the rest of the wall time
    (building tasks, scoring, the run store), per run."""
    out: dict[str, Any] = {"run_overhead_s": max(total_wall - sum(wall.values()), 0.0) / n_runs}
    for role in ("task", "optimizer"):
        d, u = deltas[role], usage[role]
        calls = max(u["calls"] - u["cache_hits"], 1)
        server_s = d["prompt_seconds_total"] + d["tokens_predicted_seconds_total"]
        out[role] = {
            "calls": u["calls"],
            "cache_hits": u["cache_hits"],
            "prompt_tokens_sent": u["prompt_tokens"],
            "prompt_tokens_processed": d["prompt_tokens_total"],
            "processed_fraction": d["prompt_tokens_total"] / max(u["prompt_tokens"], 1),
            "prompt_tps": d["prompt_tokens_total"] / max(d["prompt_seconds_total"], 1e-9),
            "gen_tokens": d["tokens_predicted_total"],
            "gen_tps": d["tokens_predicted_total"] / max(d["tokens_predicted_seconds_total"], 1e-9),
            "gen_per_call": d["tokens_predicted_total"] / calls,
            "server_s": server_s,
            # CPU seconds over busy seconds: below 1 when the machine's other jobs took the core
            "cpu_share": d["cpu_s"] / max(server_s, 1e-9),
            "wall_s": wall[role],
            "overhead_s": max(wall[role] - server_s, 0.0) / calls,
        }
    return out


def _client_factory(config: LLMConfig, cache_file: Path, stack: ExitStack, timer: Any) -> Any:
    def make(budget: Any = None, on_call: Any = None) -> Any:
        def record(rec: Any) -> None:
            timer(rec)
            if on_call is not None:
                on_call(rec)

        cm = open_llm(config, budget=budget, on_call=record, cache=ResponseCache(cache_file))
        return stack.enter_context(cm)

    return make


def token_scale(args: argparse.Namespace, server: Any, tmp: Path) -> dict[str, float]:
    """Per task: tokens the server counts / tokens `estimate_tokens` guesses, over the seed
    instruction's prompts on the training examples (rendered as `render` does)."""
    out = {}
    llm = {"task": {"model": "local"}, "optimizer": {"model": "local"}}
    for t in TASKS:
        task: Any = build_task(parse_task_text(task_yaml(args, t, "seed", 0, llm), tmp))
        real = est = 0
        for e in task.splits.train:
            text = render(task.messages(task.section.instruction, [], e.input))
            body = {"content": text, "add_special": False, "parse_special": True}
            real += len(httpx.post(f"{server.root_url}/tokenize", json=body).json()["tokens"])
            est += estimate_tokens(text)
        out[t] = real / max(est, 1)
    return out


def run_bench(
    args: argparse.Namespace,
    runs: list[tuple[str, str, int]],
    tmp: Path,
    console: Console,
    extra: dict[str, Any] | None = None,
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Run every (task, method, seed) on fresh servers; rows, and the measured figures (with
    `extra` given, also the per-task `token_scale`, put into it)."""
    servers = start_servers(args)
    started = time.time()
    rows: list[dict[str, Any]] = []
    wall = {"task": 0.0, "optimizer": 0.0}
    usage = {r: dict.fromkeys(("calls", "cache_hits", "prompt_tokens"), 0.0) for r in wall}

    def timer(role: str) -> Any:
        def on(rec: Any) -> None:
            wall[role] += float(getattr(rec, "latency_s", 0.0) or 0.0)

        return on

    try:
        before = {r: read_metrics(s) for r, s in servers.items()}
        llm = {
            r: {"model": f"endpoint:{args.model}", "base_url": s.base_url, "concurrency": 1}
            for r, s in servers.items()
        }
        cache_file = tmp / "llm-cache.sqlite"  # shared by every run
        for i, (t, m, seed) in enumerate(runs, start=1):
            tf = parse_task_text(task_yaml(args, t, m, seed, llm), tmp)
            t0 = time.time()
            with ExitStack() as stack:
                res = run_prompt(
                    tf,
                    tmp / "runs",
                    make_llm=_client_factory(
                        LLMConfig(**llm["optimizer"]), cache_file, stack, timer("optimizer")
                    ),
                    make_task_llm=_client_factory(
                        LLMConfig(**llm["task"]), cache_file, stack, timer("task")
                    ),
                )
            b = res.prompt
            tu, ou = b.get("task_usage") or {}, b.get("optimizer_usage") or {}
            for role, u in (("task", tu), ("optimizer", ou)):
                for key in usage[role]:
                    usage[role][key] += u.get(key, 0)
            proj = b.get("projection_with_pool") or b["projection"]
            row = {
                "task": t,
                "method": m,
                "seed": seed,
                "val_accuracy": b.get("val_accuracy"),
                "test_accuracy": b.get("test_accuracy"),
                "gap": b.get("gap"),
                "val_examples": b["actual"]["val_examples"],
                "projected_val_examples": proj["val_examples"],
                "task_calls": tu.get("calls", 0),
                "projected_task_calls": proj["task_calls"],
                "optimizer_calls": ou.get("calls", 0),
                "projected_optimizer_calls": proj["optimizer_calls"],
                "cache_hits": tu.get("cache_hits", 0) + ou.get("cache_hits", 0),
                "prompt_tokens": tu.get("prompt_tokens", 0) + ou.get("prompt_tokens", 0),
                "completion_tokens": tu.get("completion_tokens", 0)
                + ou.get("completion_tokens", 0),
                "wall_s": time.time() - t0,
                "final_payload": (b.get("final") or {}).get("payload"),
            }
            rows.append(row)
            console.print(
                f"[{i}/{len(runs)}] {t} {m} s{seed}: val {row['val_accuracy']} test "
                f"{row['test_accuracy']} ({row['val_examples']} val ex-evals, "
                f"{row['task_calls']} task / {row['optimizer_calls']} opt calls, "
                f"{row['wall_s']:.0f}s)",
                highlight=False,
            )
        after = {r: read_metrics(s) for r, s in servers.items()}
        total_wall = time.time() - started
        if extra is not None:
            extra["token_scale"] = token_scale(args, servers["task"], tmp)
    finally:
        for server in servers.values():
            server.stop()
    deltas = {r: {k: after[r][k] - before[r][k] for k in after[r]} for r in servers}
    return rows, measure_figures(deltas, usage, wall, total_wall, len(runs))


def summarize(rows: list[dict[str, Any]], tasks: list[str], methods: list[str]) -> Any:
    """Per method: test accuracy per task (mean over seeds), means, gap, calls, tokens."""
    out: dict[str, Any] = {}
    for m in methods:
        mine = [r for r in rows if r["method"] == m and r["test_accuracy"] is not None]
        every = [r for r in rows if r["method"] == m]
        out[m] = {
            "test_accuracy": {
                t: _mean([r["test_accuracy"] for r in mine if r["task"] == t]) for t in tasks
            },
            "mean_test": _mean([r["test_accuracy"] for r in mine]),
            "mean_val": _mean([r["val_accuracy"] for r in mine if r["val_accuracy"] is not None]),
            "mean_gap": _mean([r["gap"] for r in mine if r["gap"] is not None]),
            "val_examples": sum(r["val_examples"] for r in every),
            "task_calls": sum(r["task_calls"] for r in every),
            "optimizer_calls": sum(r["optimizer_calls"] for r in every),
            "tokens": sum(r["prompt_tokens"] + r["completion_tokens"] for r in every),
        }
    return out


def _print_results(console: Console, args: Any, summary: dict[str, Any], tasks: list[str]) -> None:
    title = (
        f"Prompt optimization: {args.budget} {BUDGET_UNIT} per method run; accuracy: mean "
        f"over seeds; ex-evals, calls and tokens: summed over seeds"
    )
    table = Table(title=title)
    cols = ["method", *tasks, "mean test", "mean val", "gap", "val ex-evals", "task calls"]
    for col in [*cols, "opt calls", "tokens"]:
        table.add_column(col, justify="right" if col != "method" else "left")
    for m, e in summary.items():
        table.add_row(
            m,
            *(f"{e['test_accuracy'][t]:.3f}" for t in tasks),
            f"{e['mean_test']:.3f}",
            f"{e['mean_val']:.3f}",
            f"{e['mean_gap']:+.3f}",
            str(e["val_examples"]),
            str(e["task_calls"]),
            str(e["optimizer_calls"]),
            str(e["tokens"]),
        )
    console.print(table)


def _print_measured(console: Console, m: dict[str, Any]) -> None:
    console.print(
        f"measured ({m['source']}, {m['threads']} thread(s) per server): processed/projected "
        f"prefill ratio {m['processed_ratio']:.2f}",
        highlight=False,
    )
    for role in ("task", "optimizer"):
        r = m[role]
        console.print(
            f"  {role}: {r['calls']:.0f} calls ({r['cache_hits']:.0f} cache hits), prompt tokens "
            f"sent {r['prompt_tokens_sent']:.0f} / prefilled {r['prompt_tokens_processed']:.0f} "
            f"({r['processed_fraction']:.0%}), {r['prompt_tps']:.1f} prefill tok/s, "
            f"{r['gen_per_call']:.1f} gen tok/call at {r['gen_tps']:.1f} tok/s, "
            f"overhead {r['overhead_s']:.2f} s/call",
            highlight=False,
        )


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--model", default="qwen2.5-coder-1.5b-instruct", help="the task model")
    p.add_argument("--optimizer-model", default=None, help="default: --model")
    p.add_argument("--tasks", default=",".join(TASKS))
    p.add_argument("--methods", default=",".join(METHODS))
    p.add_argument("--joint", default="ape+mutation", choices=sorted(JOINTS))
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--budget", type=int, default=32, help=f"{BUDGET_UNIT} per method run")
    p.add_argument("--screen", type=int, default=2, help="examples per new candidate (racing)")
    p.add_argument("--train", type=int, default=16)
    p.add_argument("--val", type=int, default=8)
    p.add_argument("--test", type=int, default=20)
    p.add_argument("--k", type=int, default=2, help="exemplars per prompt")
    p.add_argument("--max-tokens", type=int, default=8, help="task-model answer length")
    p.add_argument("--optimizer-max-tokens", type=int, default=48)
    p.add_argument("--threads", type=int, default=1, help="threads per llama-server")
    p.add_argument("--measured", type=Path, default=MEASURED, help="measured figures (JSON)")
    p.add_argument("--measure", action="store_true", help="measure: 1 task, 2 methods, 1 seed")
    p.add_argument("--max-hours", type=float, default=2.0, help="refuse (exit 2) above this")
    p.add_argument("--rates", choices=sorted(RATES), default="cpu", help="rates the guard uses")
    p.add_argument("--dry-run", action="store_true", help="print the projection only")
    p.add_argument("--out", type=Path, default=OUT)
    args = p.parse_args()
    args.optimizer_model = args.optimizer_model or args.model
    console = Console()
    if args.measure:
        args.tasks, args.methods, args.seeds = TASKS[-1], MEASURE_METHODS, 1
    tasks, methods = args.tasks.split(","), args.methods.split(",")
    unknown = set(methods) - set(METHODS)
    if unknown:
        console.print(f"unknown methods {sorted(unknown)}; known: {', '.join(METHODS)}")
        sys.exit(2)
    runs = [(t, m, s) for t in tasks for m in methods for s in range(args.seeds)]
    tmp = Path(tempfile.mkdtemp(prefix="bench-prompt-"))
    if args.measure:
        measure(args, runs, tmp, console)
        return
    if not args.measured.exists():
        console.print(f"no measured figures at {args.measured}: run with --measure first")
        sys.exit(2)
    m = json.loads(args.measured.read_text())["figures"]
    _print_measured(console, m)
    hours = {}
    for basis in RATES:
        caps = {"task": args.max_tokens, "optimizer": args.optimizer_max_tokens}
        per_method_b, total_b = project_bench(args, runs, tmp, rates(m, basis, caps))
        hours[basis] = total_b["hours"]
        if basis == args.rates:
            per_method, total = per_method_b, total_b
    _print_projection(console, per_method, total)
    console.print(
        f"{total['runs']} runs, {args.budget} {BUDGET_UNIT} each: {total['task_calls']:.0f} "
        f"task-model and {total['optimizer_calls']:.0f} optimizer-model calls",
        highlight=False,
    )
    for basis, text in RATES.items():
        mark = "->" if basis == args.rates else "  "
        console.print(f"{mark} {hours[basis]:.2f} h at {text}", highlight=False)
    total["hours_by_rates"] = hours
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
    rows, figures = run_bench(args, runs, tmp, console)
    summary = summarize(rows, tasks, methods)
    _print_results(console, args, summary, tasks)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    result = {
        "budget": {"per_method_run": args.budget, "unit": BUDGET_UNIT},
        "settings": {k: json.loads(json.dumps(v, default=str)) for k, v in vars(args).items()},
        "machine": {"platform": platform.platform(), "python": platform.python_version()},
        "projected": {"per_method": per_method, "total": total, "from": m},
        "measured_in_this_run": figures,
        "wall_s": time.time() - started,
        "summary": summary,
        "runs": rows,
    }
    args.out.write_text(json.dumps(result, indent=1), encoding="utf-8")
    console.print(f"wall {result['wall_s'] / 3600:.2f} h; wrote {args.out}", highlight=False)


def measure(
    args: argparse.Namespace, runs: list[tuple[str, str, int]], tmp: Path, console: Console
) -> None:
    """The short real run: measured figures, and the projection of the same runs checked."""
    started = time.time()
    extra: dict[str, Any] = {}
    rows, figures = run_bench(args, runs, tmp, console, extra)
    wall = time.time() - started
    figures["token_scale"] = extra["token_scale"]
    one = {**figures, "processed_ratio": 1.0}
    _, total = project_bench(args, runs, tmp, one)
    measured_processed = figures["task"]["prompt_tokens_processed"]
    # what the simulated prompt cache missed (or over-credited), measured; applied as is
    figures["processed_ratio"] = measured_processed / max(total["task_processed"], 1)
    figures.update(source=f"--measure on {runs[0][0]}: {args.methods}, 1 seed")
    figures["threads"] = args.threads
    _, check = project_bench(args, runs, tmp, figures)
    _print_measured(console, figures)
    console.print(
        f"measurement run: wall {wall:.0f} s; projection of the same runs at the measured "
        f"figures {check['seconds']:.0f} s; task calls projected {check['task_calls']:.0f} / "
        f"made {figures['task']['calls'] - figures['task']['cache_hits']:.0f} (+ cache hits)",
        highlight=False,
    )
    args.measured.parent.mkdir(parents=True, exist_ok=True)
    args.measured.write_text(
        json.dumps(
            {
                "figures": figures,
                "wall_s": wall,
                "projected_s": check["seconds"],
                "projected_total": check,
                "runs": rows,
                "machine": {"platform": platform.platform(), "load": os.getloadavg()},
            },
            indent=1,
        ),
        encoding="utf-8",
    )
    console.print(f"wrote {args.measured}")


if __name__ == "__main__":
    main()
