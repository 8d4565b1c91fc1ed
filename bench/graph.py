"""Does composition pay? The two-agent ML pipeline against each of its agents alone (issue 16).

The task is tasks/graph/pipeline.py (built by tasks/graph/compose_pipeline.py): an RBF SVC on a
scikit-learn data set whose feature code optoprime rewrites while llambo tunes C and gamma. Arms,
at the same budget (``--evaluations``, ``--llm-calls``), seeds and model:

- ``both``: the composition (coder: optoprime on the feature code; tuner: llambo on C, gamma);
- ``llambo``: llambo alone on what it can search (C and gamma; the features stay raw);
- ``optoprime``: optoprime alone on every parameter (the feature code, C and gamma as values).

Every run optimizes the 5-fold cross-validated accuracy on the training split (70%); its best
candidate is then scored once on the fixed held-out split (30%, fit on train, never seen while
optimizing): that is what the table reports. Per data set: each arm's mean held-out accuracy,
and the composition's paired difference to each single agent over seeds with a 95% t-interval.
Raw per-run records (each evaluation's agent, status and score; the best parameters; spend;
wall time) go to the JSON file, rewritten after every run; ``--resume`` skips the runs it holds.

    python bench/graph.py                              # 3 data sets x 3 arms x 3 seeds, 1.5B
    python bench/graph.py --datasets wine --seeds 0 --evaluations 10   # a smoke

``--task code`` runs tasks/graph/funcoder_prompt.yaml instead: per seed, the two agents (the
prompter writing FunCoder's instruction, the selector picking its exemplar set) learn FunCoder's
prompt on the 6 train problems (``--code-evaluations`` evaluations); then FunCoder with its
default prompt and FunCoder with the learned one each solve the 24 held-out problems once, with
the same seed and settings. Reported: each one's mean hidden-test pass rate and problems solved,
the paired difference over seeds (95% t-interval), and a sign test over the problems where the
two differ (all seeds pooled).

    python bench/graph.py --task code --seeds 0,1,2
"""

from __future__ import annotations

import argparse
import datetime
import json
import math
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml
from rich.console import Console
from rich.table import Table

from workbench.bench.server import git_commit, on_sandbox, prior_results, sandbox_and_model
from workbench.bench.stats import sign_test
from workbench.contracts import Candidate, Evaluation
from workbench.llm import LLMConfig
from workbench.runs import start_run
from workbench.sandbox import DockerSandbox, Sandbox
from workbench.tasks import RunContext, TaskFile, build_task, parse_task_data
from workbench.tasks.workflow import load_module

ROOT = Path(__file__).resolve().parents[1]
GRAPH = ROOT / "tasks" / "graph"
RESULTS = Path(__file__).parent / "results"
MODEL = "qwen2.5-coder-1.5b-instruct"
DATASETS = ("wine", "breast_cancer", "digits")
ARMS = ("both", "llambo", "optoprime")
T95 = {1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 6: 2.447, 7: 2.365, 8: 2.306, 9: 2.262}


def arm_task(
    arm: str, dataset: str, seed: int, llm: dict[str, Any], args: argparse.Namespace
) -> TaskFile:
    """The composed task of tasks/graph for `dataset`, cut down to `arm`'s agents."""
    data = load_module(GRAPH / "compose_pipeline.py").task(dataset).to_yaml_dict()
    data.update(seed=seed, llm=llm, parallel=1)
    data["budget"] = {"evaluations": args.evaluations, "llm_calls": args.llm_calls}
    data["stop"] = {"target": 1.0}
    coder, tuner = data["agents"]
    coder["optimizer"]["settings"].update(
        temperatures=[args.temperature], max_tokens=args.max_tokens
    )
    if arm == "llambo":
        data["agents"], data["routing"] = [tuner], None
    elif arm == "optoprime":
        coder["parameters"] = ["features", "C", "gamma"]
        data["agents"], data["routing"] = [coder], None
    elif arm != "both":
        raise ValueError(f"unknown arm {arm!r}; arms: {', '.join(ARMS)}")
    data["name"] = f"{data['name']}-{arm}-s{seed}"
    if data["routing"] is None:
        data.pop("routing")
    return parse_task_data(data, GRAPH, source=data["name"])


def held_out(
    dataset: str, params: dict[str, Any], box: DockerSandbox
) -> tuple[float | None, str | None]:
    """The accuracy of `params` on the held-out split (fit on train, scored on test), and
    why there is none (the candidate's error, or the sandbox's after a second try on a fresh
    sandbox: the run's record is kept either way)."""
    data = load_module(GRAPH / "compose_pipeline.py").task(dataset).to_yaml_dict()
    data["workflow"]["args"] = {"dataset": dataset, "split_name": "test"}

    def judge(sandbox: Sandbox) -> Evaluation:
        task = build_task(parse_task_data(data, GRAPH))
        try:
            return task.evaluate(
                Candidate("best", {"params": params}), RunContext(open_sandbox=lambda: sandbox)
            )
        finally:
            task.close()

    ev, why = on_sandbox(box, judge)
    if ev is None:
        return None, why
    if ev.status == "ok":
        return ev.score, None
    return None, f"{ev.status}: {ev.feedback[:500]}"


def one_run(
    arm: str,
    dataset: str,
    seed: int,
    llm: dict[str, Any],
    args: argparse.Namespace,
    folder: Path,
    box: DockerSandbox,
) -> dict[str, Any]:
    started = time.perf_counter()
    task = arm_task(arm, dataset, seed, llm, args)
    result = start_run(task, folder / "runs")
    s = result.summary
    events = [json.loads(x) for x in (result.run.path / "events.jsonl").read_text().splitlines()]
    agent_of = {
        e["id"]: (e.get("meta") or {}).get("agent") for e in events if e["type"] == "proposal"
    }
    evaluations = [
        {"agent": agent_of.get(e["id"]), "status": e["status"], "score": e.get("score")}
        for e in events
        if e["type"] == "evaluation"
    ]
    best = s.get("best") or {}
    params = (best.get("payload") or {}).get("params")
    test, test_error = held_out(dataset, params, box) if params is not None else (None, None)
    return {
        "dataset": dataset,
        "arm": arm,
        "seed": seed,
        "cv_best": best.get("score"),
        "test": test,
        "test_error": test_error,
        "commit": args.commit,
        "best_params": params,
        "stop_reason": s["stop_reason"],
        "evaluations": s["evaluations"],
        "statuses": s.get("statuses"),
        "llm_calls": (s.get("llm") or {}).get("calls"),
        "tokens": (s.get("llm") or {}).get("tokens"),
        "agents": {k: v.get("evaluations") for k, v in (s.get("agents") or {}).items()},
        "agent_failures": sum(e["type"] == "agent_failure" for e in events),
        "trace": evaluations,
        "wall_s": round(time.perf_counter() - started, 1),
    }


def interval(diffs: list[float]) -> tuple[float, float, float] | None:
    """Mean and 95% t-interval of paired differences (None below 2 pairs)."""
    if len(diffs) < 2:
        return None
    mean = statistics.fmean(diffs)
    half = T95.get(len(diffs) - 1, 1.96) * statistics.stdev(diffs) / math.sqrt(len(diffs))
    return mean, mean - half, mean + half


def summarize(rows: list[dict[str, Any]], datasets: list[str], arms: list[str]) -> dict[str, Any]:
    per: dict[str, Any] = {}
    wins = 0
    for d in datasets:
        mine = [r for r in rows if r["dataset"] == d]
        if not mine:
            continue
        entry: dict[str, Any] = {"arms": {}, "both_minus": {}}
        for arm in arms:
            tests = [r["test"] for r in mine if r["arm"] == arm and r["test"] is not None]
            entry["arms"][arm] = {
                "runs": sum(r["arm"] == arm for r in mine),
                "mean_test": statistics.fmean(tests) if tests else None,
                "sd_test": statistics.stdev(tests) if len(tests) > 1 else None,
                "mean_cv": statistics.fmean(
                    [r["cv_best"] for r in mine if r["arm"] == arm and r["cv_best"] is not None]
                    or [math.nan]
                ),
            }
        both = {r["seed"]: r["test"] for r in mine if r["arm"] == "both"}
        beats_all = "both" in arms and len(arms) > 1
        for arm in arms:
            if arm == "both":
                continue
            other = {r["seed"]: r["test"] for r in mine if r["arm"] == arm}
            diffs = [
                both[k] - other[k]
                for k in sorted(both.keys() & other.keys())
                if both[k] is not None and other[k] is not None
            ]
            ci = interval(diffs)
            entry["both_minus"][arm] = {
                "pairs": len(diffs),
                "diffs": diffs,
                "mean": statistics.fmean(diffs) if diffs else None,
                "ci95": None if ci is None else [ci[1], ci[2]],
            }
            beats_all = beats_all and bool(diffs) and statistics.fmean(diffs) > 0
        entry["both_best_mean"] = beats_all
        wins += beats_all
        per[d] = entry
    return {"datasets": per, "both_best_mean_on": wins}


def save(
    out: Path,
    args: argparse.Namespace,
    started: float,
    fields: dict[str, Any],
    summary: dict[str, Any],
    rows: list[dict[str, Any]],
) -> dict[str, Any]:
    """Write a result file: the bench's `fields`, the commit, machine, wall time (this session's
    plus the resumed runs'), the summary and every run's raw record."""
    doc = {
        **fields,
        "commit": args.commit,
        "model": args.model,
        "seeds": [int(s) for s in args.seeds.split(",")],
        "threads": args.threads,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "wall_s": round(time.perf_counter() - started, 1)
        + sum(r["wall_s"] for r in args.prior_rows),
        "summary": summary,
        "runs": rows,
    }
    if getattr(args, "note", None):  # a resumed file keeps what was said about its runs
        doc["note"] = args.note
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(doc, indent=2) + "\n")
    return summary


def write(
    out: Path, args: argparse.Namespace, rows: list[dict[str, Any]], started: float
) -> dict[str, Any]:
    datasets, arms = args.datasets.split(","), args.arms.split(",")
    fields = {
        "bench": "graph",
        "datasets": datasets,
        "arms": arms,
        "budget": {"evaluations": args.evaluations, "llm_calls": args.llm_calls},
        "optoprime": {"temperature": args.temperature, "max_tokens": args.max_tokens},
    }
    return save(out, args, started, fields, summarize(rows, datasets, arms), rows)


def table(summary: dict[str, Any], arms: list[str]) -> Table:
    t = Table(
        "data set",
        *[f"{a} test" for a in arms],
        *[f"both - {a} (95% CI)" for a in arms if a != "both"],
    )
    for d, e in summary["datasets"].items():
        cells = []
        for a in arms:
            m, sd = e["arms"][a]["mean_test"], e["arms"][a]["sd_test"]
            cells.append("-" if m is None else f"{m:.3f}" + ("" if sd is None else f" ± {sd:.3f}"))
        for a in arms:
            if a == "both":
                continue
            b = e["both_minus"][a]
            if b["mean"] is None:
                cells.append("-")
                continue
            ci = "" if b["ci95"] is None else f" [{b['ci95'][0]:+.3f}, {b['ci95'][1]:+.3f}]"
            cells.append(f"{b['mean']:+.3f}{ci} (n={b['pairs']})")
        t.add_row(d, *cells)
    return t


def code_task(seed: int, llm: dict[str, Any], args: argparse.Namespace, split: str) -> TaskFile:
    """tasks/graph/funcoder_prompt.yaml at `seed` on the bench's model, on `split`."""
    data = yaml.safe_load((GRAPH / "funcoder_prompt.yaml").read_text())
    data["workflow"]["module"] = str(GRAPH / "funcoder_prompt.py")
    data["workflow"]["args"] = {"split": split}
    data.update(seed=seed, llm=llm, parallel=1, sandbox={"backend": "docker"})
    data["budget"] = {"evaluations": args.code_evaluations, "llm_calls": args.code_llm_calls}
    data["agents"][0]["optimizer"]["settings"]["temperatures"] = [args.temperature]
    data["name"] = f"{data['name']}-s{seed}"
    return parse_task_data(data, GRAPH, source=data["name"])


def code_held_out(
    params: dict[str, Any], seed: int, llm: dict[str, Any], args: argparse.Namespace, box: Any
) -> dict[str, Any]:
    """FunCoder with `params` (its instruction and exemplar set) on the held-out problems."""
    task = build_task(code_task(seed, llm, args, "test"))
    ctx = RunContext(open_sandbox=lambda: box, seed=seed, llm_config=LLMConfig(**llm))
    try:
        ev = task.evaluate(Candidate("held-out", {"params": params}), ctx)
        rows = task.trace_output("held-out", params).data["problems"] if ev.status == "ok" else []
    finally:
        task.close()
        ctx.close()
    return {
        "status": ev.status,
        "pass_rate": ev.score,
        "solved": sum(r["solved"] for r in rows),
        "problems": {r["problem"]: r["hidden_pass_rate"] for r in rows},
        "llm": ctx.llm_usage(),
    }


def code_run(
    seed: int, llm: dict[str, Any], args: argparse.Namespace, folder: Path, box: Any
) -> dict[str, Any]:
    started = time.perf_counter()
    result = start_run(code_task(seed, llm, args, "train"), folder / "runs")
    s = result.summary
    best = s.get("best") or {}
    learned = (best.get("payload") or {}).get("params") or {}
    trained_s = round(time.perf_counter() - started, 1)
    default = code_held_out({}, seed, llm, args, box)
    tuned = code_held_out(learned, seed, llm, args, box)
    return {
        "seed": seed,
        "train_best": best.get("score"),
        "train_start": next(
            (e["score"] for e in result.run.events() if e.get("type") == "evaluation"), None
        ),
        "learned": learned,
        "default_test": default,
        "learned_test": tuned,
        "evaluations": s["evaluations"],
        "stop_reason": s["stop_reason"],
        "llm_calls": (s.get("llm") or {}).get("calls"),
        "task_llm_calls": (s.get("task_llm") or {}).get("calls"),
        "train_wall_s": trained_s,
        "wall_s": round(time.perf_counter() - started, 1),
    }


def code_summary(rows: list[dict[str, Any]]) -> dict[str, Any]:
    ok = [
        r
        for r in rows
        if r["default_test"]["pass_rate"] is not None and r["learned_test"]["pass_rate"] is not None
    ]
    diffs = [r["learned_test"]["pass_rate"] - r["default_test"]["pass_rate"] for r in ok]
    wins = losses = 0
    for r in ok:
        d, t = r["default_test"]["problems"], r["learned_test"]["problems"]
        for pid in d.keys() & t.keys():
            wins += t[pid] > d[pid]
            losses += t[pid] < d[pid]
    ci = interval(diffs)
    mean = statistics.fmean
    return {
        "seeds": len(ok),
        "default_mean": mean([r["default_test"]["pass_rate"] for r in ok]) if ok else None,
        "learned_mean": mean([r["learned_test"]["pass_rate"] for r in ok]) if ok else None,
        "default_solved": [r["default_test"]["solved"] for r in ok],
        "learned_solved": [r["learned_test"]["solved"] for r in ok],
        "diff_mean": mean(diffs) if diffs else None,
        "diff_ci95": None if ci is None else [ci[1], ci[2]],
        "problem_wins": wins,
        "problem_losses": losses,
        "sign_test_p": sign_test(wins, losses),
    }


def code_main(args: argparse.Namespace, out: Path, console: Console) -> int:
    rows = list(args.prior_rows)
    done = {r["seed"] for r in rows}
    started = time.perf_counter()

    def write_code() -> dict[str, Any]:
        fields = {
            "bench": "graph-code",
            "budget": {"evaluations": args.code_evaluations, "llm_calls": args.code_llm_calls},
            "prompter_temperature": args.temperature,
        }
        return save(out, args, started, fields, code_summary(rows), rows)

    with (
        sandbox_and_model(args.model, args.threads) as (box, llm),
        tempfile.TemporaryDirectory() as tmp,
    ):
        for seed in [int(x) for x in args.seeds.split(",")]:
            if seed in done:
                continue
            row = code_run(seed, llm, args, Path(tmp), box)
            rows.append(row)
            console.print(
                f"seed {seed}: train {row['train_start']} -> {row['train_best']}; held-out "
                f"default {row['default_test']['pass_rate']} learned "
                f"{row['learned_test']['pass_rate']} ({row['wall_s']} s)"
            )
            write_code()
    summary = write_code()
    t = Table("FunCoder prompt", "mean hidden pass rate", "solved per seed (of 24)")
    for arm in ("default", "learned"):
        m = summary[f"{arm}_mean"]
        t.add_row(arm, "-" if m is None else f"{m:.3f}", str(summary[f"{arm}_solved"]))
    console.print(t)
    ci = summary["diff_ci95"]
    console.print(
        f"learned - default: {summary['diff_mean']} (95% CI {ci}); problems better/worse "
        f"{summary['problem_wins']}/{summary['problem_losses']}, sign test p = "
        f"{summary['sign_test_p']:.3f}; wrote {out}"
    )
    return 0


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--model", default=MODEL)
    p.add_argument("--datasets", default=",".join(DATASETS))
    p.add_argument("--arms", default=",".join(ARMS))
    p.add_argument("--seeds", default="0,1,2")
    p.add_argument("--evaluations", type=int, default=30)
    p.add_argument("--llm-calls", type=int, default=45)
    p.add_argument("--temperature", type=float, default=0.7, help="optoprime's")
    p.add_argument("--max-tokens", type=int, default=400, help="optoprime's")
    p.add_argument("--threads", type=int, default=2, help="llama-server threads")
    p.add_argument("--out", type=Path, default=None, help="default: results/graph-<date>.json")
    p.add_argument("--resume", action="store_true", help="keep the runs --out holds, skip them")
    p.add_argument("--task", choices=("pipeline", "code"), default="pipeline")
    p.add_argument("--code-evaluations", type=int, default=8, help="--task code: train budget")
    p.add_argument("--code-llm-calls", type=int, default=300, help="--task code: train budget")
    args = p.parse_args()
    day = datetime.date.today().strftime("%Y%m%d")
    stem = "graph" if args.task == "pipeline" else "graph-code"
    out = args.out or RESULTS / f"{stem}-{args.model}-{day}.json"
    prior = prior_results(out, args.resume)
    if prior is None:
        return 2
    args.prior_rows, args.note = prior.get("runs", []), prior.get("note")
    args.commit = git_commit(ROOT)  # the code this session measures (HEAD when it started)
    if args.task == "code":
        return code_main(args, out, Console())
    rows = list(args.prior_rows)
    done = {(r["dataset"], r["arm"], r["seed"]) for r in rows}
    console = Console()
    started = time.perf_counter()
    with (
        sandbox_and_model(args.model, args.threads) as (box, llm),
        tempfile.TemporaryDirectory() as tmp,
    ):
        for seed in [int(s) for s in args.seeds.split(",")]:
            for dataset in args.datasets.split(","):
                for arm in args.arms.split(","):
                    if (dataset, arm, seed) in done:
                        continue
                    row = one_run(arm, dataset, seed, llm, args, Path(tmp), box)
                    rows.append(row)
                    spend = f"{row['evaluations']} evals, {row['llm_calls']} calls"
                    console.print(
                        f"{dataset} {arm} seed {seed}: cv {row['cv_best']} "
                        f"test {row['test']} ({spend}, {row['wall_s']} s)"
                    )
                    write(out, args, rows, started)
    summary = write(out, args, rows, started)
    console.print(table(summary, args.arms.split(",")))
    console.print(
        f"composition best on mean held-out accuracy on {summary['both_best_mean_on']} of "
        f"{len(summary['datasets'])} data sets; wrote {out}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
