"""Per-step cost of the loop as a run grows, against plain Optuna in the same run.

For each size n it runs the whole loop (`start_run`: run folder, events.jsonl, RunStore,
langgraph checkpoints, the optimizer's Optuna study on SQLite in the run folder) with one
evaluation of a tiny objective per step, and a plain Optuna script (ask/tell, the same sampler
and seed, a study on a SQLite file as `optuna.create_study(storage="sqlite:///...")` makes it)
of the same objective, in the same process, one after the other:

- ``optuna-random`` / ``optuna-tpe``: the `optuna` optimizer (random, TPE) against
  ``plain-random`` / ``plain-tpe``; ``plain-random-wal`` is the plain script with the SQLite
  pragmas the workbench sets on its own studies (WAL, synchronous=NORMAL), to tell the storage
  engine's share from the loop's.
- ``loop-only``: the loop with an optimizer that costs nothing (it proposes the next point of
  a fixed sequence; its state is one counter): the loop's own cost per step, without Optuna.
- ``llambo``: the `llambo` optimizer with a scripted model (`ScriptedLLM`: valid random rows,
  instant answers), against ``plain-tpe-mv`` (multivariate TPE with constant liar, the sampler
  LLAMBO hands over to after 15 observations). Capped at ``--llambo-max-n`` (default 1,000):
  after the hand-over every step is a multivariate TPE step, whose cost grows with the history
  by design (TPE reads every trial; `optuna-tpe` at 5,000 takes ~4.5 min a side on 2 cores),
  so a 5,000 row would add ~10 minutes and show nothing the TPE rows do not. LLAMBO's own
  bookkeeping reads each finished trial once (`History`).

Each row carries `optimizer`, `n`, the ms per step of the first and last 20% of steps
(`first20_ms`, `last20_ms`), the whole run's wall time, the raw per-step times (`step_ms`) and the
load average when it ended. With ``--quickstart`` it also times ``workbench optimize
tasks/hpo/quickstart.yaml`` end to end (a fresh process, as a user runs it) against a plain
in-memory Optuna script of the same objective, sampler and number of trials (also a fresh
process), and splits the command's time into its parts. Prints a table and writes
``bench/results/loop_overhead-<time>.json`` (never overwriting a result).

    .venv/bin/python bench/loop_overhead.py [--sizes 40,200,1000,5000] [--quickstart]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import optuna
import yaml

from workbench.contracts import Candidate, Evaluation
from workbench.llm import ScriptedLLM
from workbench.optimizers import Optimizer
from workbench.runs import start_run

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "bench" / "results"
QUICKSTART = REPO / "tasks" / "hpo" / "quickstart.yaml"
OPTIMIZERS = ("optuna-random", "optuna-tpe", "loop-only", "llambo")
BASELINE = {"optuna-random": "plain-random", "optuna-tpe": "plain-tpe", "llambo": "plain-tpe-mv"}

OBJECTIVE = """
def objective(params):
    return -(params["x"] - 0.3) ** 2 - (params["y"] - 0.6) ** 2
"""


def objective(params: dict[str, float]) -> float:
    """The tiny objective both sides evaluate (the same text as `OBJECTIVE`)."""
    return -((params["x"] - 0.3) ** 2) - (params["y"] - 0.6) ** 2


class SequenceOptimizer(Optimizer):
    """Proposes the next points of a fixed low-discrepancy sequence; its state is one integer."""

    def __init__(self) -> None:
        self.i = 0

    def propose(self, n: int) -> list[Candidate]:
        out = []
        for k in range(self.i, self.i + n):
            x, y = (0.5 + 0.618034 * k) % 1.0, (0.5 + 0.754878 * k) % 1.0
            out.append(Candidate(id=f"s{k:05d}", payload={"params": {"x": x, "y": y}}))
        self.i += n
        return out

    def observe(self, evaluations: list[Evaluation]) -> None:
        return None

    def state(self) -> dict[str, Any]:
        return {"i": self.i}

    def load_state(self, state: dict[str, Any]) -> None:
        self.i = int(state["i"])


def _split(step_s: list[float]) -> tuple[float, float]:
    """Mean ms per step of the first and the last 20% of steps."""
    k = max(1, len(step_s) // 5)
    return 1000 * sum(step_s[:k]) / k, 1000 * sum(step_s[-k:]) / k


def _row(name: str, n: int, wall: float, step_s: list[float], **extra: Any) -> dict[str, Any]:
    first, last = _split(step_s)
    return {
        "optimizer": name,
        "n": n,
        "first20_ms": round(first, 3),
        "last20_ms": round(last, 3),
        "growth": round(last / first, 3) if first else None,
        "wall_s": round(wall, 3),
        "ms_per_step": round(1000 * wall / n, 3),
        "load_avg": [round(x, 2) for x in os.getloadavg()],
        **extra,
        "step_ms": [round(1000 * s, 3) for s in step_s],
    }


def _script(seed: int = 0) -> Any:
    """A scripted LLAMBO model: valid random rows, one prediction per candidate."""
    rng = random.Random(seed)

    def fn(request: Any) -> str:
        text = request.messages[-1]["content"]
        if "predictions" in text:
            k = int(text.split("each of these ")[1].split()[0])
            return json.dumps({"predictions": [rng.uniform(-1, 0) for _ in range(k)]})
        k = int(text.split("Propose ")[1].split()[0])
        return json.dumps({"configs": [[rng.random(), rng.random()] for _ in range(k)]})

    return fn


def run_loop(name: str, n: int, root: Path) -> dict[str, Any]:
    """One whole run of the workbench loop; the time between consecutive `step` events."""
    folder = Path(tempfile.mkdtemp(prefix=f"{name}-{n}-", dir=root))
    (folder / "bench_objective.py").write_text(OBJECTIVE)
    if name == "llambo":
        optimizer: dict[str, Any] = {"name": "llambo", "settings": {}}
    elif name == "loop-only":
        optimizer = {"name": "optuna", "settings": {}}  # replaced by SequenceOptimizer
    else:
        sampler = name.split("-")[1]
        optimizer = {"name": "optuna", "settings": {"sampler": sampler, "n_startup_trials": 10}}
    task = {
        "name": "bench",
        "kind": "hpo",
        "description": "a tiny objective",
        "optimizer": optimizer,
        "budget": {"evaluations": n},
        "parallel": 1,
        "seed": 0,
        "hpo": {
            "objective": "bench_objective:objective",
            "metric": "score",
            "space": {
                "x": {"type": "float", "low": 0.0, "high": 1.0},
                "y": {"type": "float", "low": 0.0, "high": 1.0},
            },
        },
    }
    path = folder / "task.yaml"
    path.write_text(yaml.safe_dump(task, sort_keys=False))
    marks: list[float] = []

    def on_event(event: dict[str, Any]) -> None:
        if event.get("type") == "step":
            marks.append(time.perf_counter())

    llm = ScriptedLLM(_script())
    start = time.perf_counter()
    result = start_run(
        path,
        folder / "runs",
        on_event=on_event,
        make_llm=lambda **kw: llm,
        optimizer=(lambda ctx: SequenceOptimizer()) if name == "loop-only" else None,
    )
    wall = time.perf_counter() - start
    assert result.summary["evaluations"] == n, result.summary
    run = result.run.path
    sizes = {f.name: f.stat().st_size for f in run.iterdir() if f.is_file()}
    steps = [b - a for a, b in zip([start, *marks], marks, strict=False)][1:]  # not the start-up
    return _row(name, n, wall, steps, run_bytes=sizes)


def _wal(storage: Any) -> None:
    from sqlalchemy import event

    @event.listens_for(storage.engine, "connect")
    def _pragmas(conn: Any, _record: Any) -> None:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")

    storage.engine.dispose()


def run_plain(name: str, n: int, root: Path) -> dict[str, Any]:
    """Plain Optuna: ask/tell on a SQLite file study; the time of each ask+objective+tell."""
    folder = Path(tempfile.mkdtemp(prefix=f"{name}-{n}-", dir=root))
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    samplers = optuna.samplers
    if name.startswith("plain-random"):
        sampler: Any = samplers.RandomSampler(seed=0)
    else:
        sampler = samplers.TPESampler(
            seed=0,
            n_startup_trials=10 if name == "plain-tpe" else 5,
            multivariate=name == "plain-tpe-mv",
            constant_liar=True,
        )
    space = {
        "x": optuna.distributions.FloatDistribution(0.0, 1.0),
        "y": optuna.distributions.FloatDistribution(0.0, 1.0),
    }
    start = time.perf_counter()
    storage: Any = f"sqlite:///{folder / 'optuna.sqlite'}"
    if name.endswith("-wal"):
        storage = optuna.storages.RDBStorage(storage)
        _wal(storage)
    study = optuna.create_study(
        storage=storage, study_name="plain", direction="maximize", sampler=sampler
    )
    marks = []
    for _ in range(n):
        trial = study.ask(space)
        study.tell(trial, objective(trial.params))
        marks.append(time.perf_counter())
    wall = time.perf_counter() - start
    steps = [b - a for a, b in zip([start, *marks], marks, strict=False)][1:]
    return _row(name, n, wall, steps)


# The plain script the quickstart command is compared with: the same objective, sampler, seed
# and number of trials, an in-memory study, sequential (the command evaluates two at a time).
PLAIN_QUICKSTART = """
import sys
import optuna
import time
from workbench.tasks.bayesmark import objective
import sklearn.model_selection, sklearn.tree  # what the objective imports on its first call
optuna.logging.set_verbosity(optuna.logging.WARNING)
print(time.time())  # the start-up ends: the trials begin
n = int(sys.argv[1])
study = optuna.create_study(
    direction="maximize", sampler=optuna.samplers.TPESampler(seed=0, n_startup_trials=10)
)
def f(trial):
    params = {
        "max_depth": trial.suggest_int("max_depth", 1, 15),
        "max_features": trial.suggest_float("max_features", 0.01, 0.99),
        "min_impurity_decrease": trial.suggest_float("min_impurity_decrease", 0.0, 0.5),
        "min_samples_leaf": trial.suggest_float("min_samples_leaf", 0.01, 0.49),
        "min_samples_split": trial.suggest_float("min_samples_split", 0.01, 0.99),
        "min_weight_fraction_leaf": trial.suggest_float("min_weight_fraction_leaf", 0.01, 0.49),
    }
    return objective(params, model="DT", dataset="wine")["cv_score"]
study.optimize(f, n_trials=n)
print(study.best_value)
"""


def _timed(args: list[str], cwd: Path) -> tuple[float, str]:
    start = time.perf_counter()
    proc = subprocess.run(args, cwd=cwd, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(f"{args[:3]} exited {proc.returncode}: {proc.stderr[-2000:]}")
    return wall, proc.stdout


def quickstart(root: Path, repeats: int) -> dict[str, Any]:
    """`workbench optimize tasks/hpo/quickstart.yaml` vs the plain script, fresh processes.

    The command's time is split by the run's own event timestamps: start-up (Python, imports,
    the task file with its import probe, the optimizer check) until the `run` event; the run's
    set-up until the first proposal; the loop until the `stop` event (the first evaluation
    imports scikit-learn); the end (summary, report, table, exit). The plain script's time is
    split into start-up (Python, Optuna, scikit-learn) and its trials.
    """
    exe = str(Path(sys.executable).parent / "workbench")
    py = sys.executable
    keys = ("command", "plain", "import_cli", "startup", "setup", "loop", "end", "plain_startup")
    rows: dict[str, list[float]] = {k: [] for k in keys}
    runs: list[dict[str, Any]] = []
    for k in range(repeats):
        runs_dir = root / f"quickstart-{k}"
        t0 = time.time()
        wall, _ = _timed([exe, "optimize", str(QUICKSTART), "--runs-dir", str(runs_dir)], REPO)
        rows["command"].append(wall)
        (run,) = [p for p in runs_dir.iterdir() if (p / "summary.json").is_file()]
        summary = json.loads((run / "summary.json").read_text())
        events = [json.loads(x) for x in (run / "events.jsonl").read_text().splitlines()]
        t_run = next(e["t"] for e in events if e["type"] == "run")
        t_loop = next(e["t"] for e in events if e["type"] == "proposal")
        t_stop = max(e["t"] for e in events if e["type"] == "stop")
        rows["startup"].append(t_run - t0)
        rows["setup"].append(t_loop - t_run)
        rows["loop"].append(t_stop - t_loop)
        rows["end"].append(t0 + wall - t_stop)
        runs.append({"evaluations": summary["evaluations"], "best": summary["best"]["score"]})
        n = int(summary["evaluations"])
        t0 = time.time()
        wall, out = _timed([py, "-c", PLAIN_QUICKSTART, str(n)], REPO)
        rows["plain"].append(wall)
        rows["plain_startup"].append(float(out.split()[0]) - t0)
        wall, _ = _timed([py, "-c", "import workbench.cli"], REPO)
        rows["import_cli"].append(wall)
    med = {k: statistics.median(v) for k, v in rows.items()}
    return {
        "task": str(QUICKSTART.relative_to(REPO)),
        "repeats": repeats,
        "runs": runs,
        "command_s": med["command"],
        "plain_in_memory_s": med["plain"],
        "ratio": med["command"] / med["plain"],
        "ratios": [c / p for c, p in zip(rows["command"], rows["plain"], strict=True)],
        "parts_s": {
            "command: start-up (python, imports, task file + import probe, check)": med["startup"],
            "  of which python + import workbench.cli alone": med["import_cli"],
            "command: run set-up (optimizer, study, checkpointer)": med["setup"],
            "command: loop (first proposal to stop; imports sklearn)": med["loop"],
            "command: end (summary, report, table, exit)": med["end"],
            "plain: start-up (python, optuna, sklearn)": med["plain_startup"],
            "plain: trials": med["plain"] - med["plain_startup"],
        },
        "raw_s": rows,
        "load_avg": [round(x, 2) for x in os.getloadavg()],
    }


def _print(rows: list[dict[str, Any]]) -> None:
    plain = {(r["optimizer"], r["n"]): r for r in rows}
    head = (
        f"{'optimizer':>16} {'n':>5} {'first20 ms':>10} {'last20 ms':>10} {'last/first':>10} "
        f"{'wall s':>8} {'ms/step':>8} {'vs plain':>9}"
    )
    print(head)
    print("-" * len(head))
    for r in rows:
        base = plain.get((BASELINE.get(r["optimizer"], ""), r["n"]))
        ratio = f"{r['wall_s'] / base['wall_s']:.2f}x" if base else ""
        print(
            f"{r['optimizer']:>16} {r['n']:>5} {r['first20_ms']:>10.2f} {r['last20_ms']:>10.2f} "
            f"{r['growth'] or 0:>10.2f} {r['wall_s']:>8.2f} {r['ms_per_step']:>8.2f} {ratio:>9}"
        )


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark, print the table and write the JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="40,200,1000,5000", help="evaluations per run")
    parser.add_argument(
        "--optimizers", default=",".join(OPTIMIZERS), help=f"a subset of {','.join(OPTIMIZERS)}"
    )
    parser.add_argument(
        "--llambo-max-n", type=int, default=1000, help="largest size llambo runs at (see above)"
    )
    parser.add_argument("--no-wal-baseline", action="store_true", help="skip plain-random-wal")
    parser.add_argument("--quickstart", action="store_true", help="also time the quickstart")
    parser.add_argument("--quickstart-only", action="store_true", help="only the quickstart")
    parser.add_argument("--repeats", type=int, default=3, help="quickstart repetitions")
    parser.add_argument("--tag", default="", help="added to the result file's name")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",") if s]
    names = [s for s in args.optimizers.split(",") if s]
    unknown = sorted(set(names) - set(OPTIMIZERS))
    if unknown:
        parser.error(f"unknown optimizers {unknown}; choose from {OPTIMIZERS}")
    rows: list[dict[str, Any]] = []
    load_before = [round(x, 2) for x in os.getloadavg()]
    with tempfile.TemporaryDirectory(prefix="loop-overhead-") as tmp:
        root = Path(tmp)
        if not args.quickstart_only:
            run_loop("optuna-random", 10, root)  # warm-up: imports, caches
            run_plain("plain-random", 10, root)
            for n in sizes:
                for name in names:
                    if name == "llambo" and n > args.llambo_max_n:
                        continue
                    rows.append(run_loop(name, n, root))
                    if name in BASELINE:
                        rows.append(run_plain(BASELINE[name], n, root))
                    if name == "optuna-random" and not args.no_wal_baseline:
                        rows.append(run_plain("plain-random-wal", n, root))
                    print(json.dumps({k: v for k, v in rows[-1].items() if k != "step_ms"}))
            _print(rows)
        qs = quickstart(root, args.repeats) if args.quickstart or args.quickstart_only else None
    if qs is not None:
        print(
            f"quickstart: command {qs['command_s']:.2f} s, plain in-memory Optuna "
            f"{qs['plain_in_memory_s']:.2f} s, ratio {qs['ratio']:.2f}x"
        )
        for part, secs in qs["parts_s"].items():
            print(f"  {part:<72} {secs:6.2f} s")
    ratios = {}
    by = {(r["optimizer"], r["n"]): r for r in rows}
    for (name, n), r in by.items():
        base = by.get((BASELINE.get(name, ""), n))
        if base:
            ratios[f"{name}/{base['optimizer']}@{n}"] = round(r["wall_s"] / base["wall_s"], 3)
        wal = by.get(("plain-random-wal", n))
        if name == "optuna-random" and wal:
            ratios[f"{name}/plain-random-wal@{n}"] = round(r["wall_s"] / wal["wall_s"], 3)
    RESULTS.mkdir(parents=True, exist_ok=True)
    stem = f"loop_overhead-{time.strftime('%Y%m%d-%H%M%S')}{'-' + args.tag if args.tag else ''}"
    out = RESULTS / f"{stem}.json"
    k = 2
    while out.exists():
        out, k = RESULTS / f"{stem}-{k}.json", k + 1
    out.write_text(
        json.dumps(
            {
                "bench": "loop_overhead",
                "python": sys.version.split()[0],
                "machine": platform.machine(),
                "cpus": os.cpu_count(),
                "optuna": optuna.__version__,
                "load_avg_before": load_before,
                "load_avg_after": [round(x, 2) for x in os.getloadavg()],
                "note": "one evaluation per step of a tiny objective; parallel 1; seed 0",
                "ratios": ratios,
                "quickstart": qs,
                "rows": rows,
            },
            indent=1,
        )
        + "\n"
    )
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
