"""`workbench bench hpo`: optimizers x Bayesmark tasks x seeds, scored by normalised regret.

The suite is the task files in ``tasks/hpo/bayesmark/`` (research/llambo.md §5); each task's
regret reference (`clip`, `opt`) is fixed once by ``bench/bayesmark_reference.py`` and committed
as ``tasks/hpo/bayesmark/reference.json``. Every optimizer starts from the same 5 seeded initial
configurations per (task, seed), enqueued in its Optuna study before the first ask.

Normalised regret at t (Bayesmark, docs/scoring.rst): (min(S_t, clip) - opt) / (clip - opt),
S_t the best loss of the first t evaluations, loss = -score when maximizing: 0 is the optimum, 1
a median random draw.

Example::

    workbench bench hpo --optimizers llambo,tpe,random --tasks dt-wine --seeds 0 -n 15
"""

from __future__ import annotations

import json
import math
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import typer

__all__ = [
    "BENCH_OPTIMIZERS",
    "SUITE_DIR",
    "SuiteTask",
    "hpo",
    "initial_configs",
    "load_reference",
    "load_suite",
    "normalised_regret",
    "optuna_space",
    "run_bench",
    "summarize",
]

SUITE_DIR = Path(__file__).resolve().parents[3] / "tasks" / "hpo" / "bayesmark"
CHECKPOINTS = (5, 10, 15, 20, 30)
# bench name -> (optimizer name, settings)
BENCH_OPTIMIZERS: dict[str, tuple[str, dict[str, Any]]] = {
    "tpe": ("optuna", {"sampler": "tpe", "n_startup_trials": 5}),
    "random": ("optuna", {"sampler": "random"}),
    "llambo": ("llambo", {}),
    "llambo-llm": ("llambo", {"handover_start": 10_000, "handover_end": 10_001}),
}


@dataclass
class SuiteTask:
    """One suite task: its file, the built `HpoTask` and a direct objective."""

    name: str
    path: Path
    task_file: Any
    task: Any
    direction: str = field(init=False)

    def __post_init__(self) -> None:
        self.direction = self.task.direction

    def search_space(self) -> dict[str, Any]:
        """The task's parameter specs."""
        return self.task.search_space()

    def objective(self, params: dict[str, Any]) -> float:
        """The primary score of `params` (the same callable the run uses)."""
        value = self.task._func(dict(params), **self.task.section.args)
        return float(value[self.task.primary] if isinstance(value, dict) else value)


def load_suite(names: list[str] | None = None, folder: Path = SUITE_DIR) -> list[SuiteTask]:
    """The suite's tasks (all, or those named), in file-name order."""
    from workbench.errors import ConfigError
    from workbench.tasks import load_task

    paths = sorted(folder.glob("*.yaml"))
    known = {p.stem: p for p in paths}
    if names:
        unknown = [n for n in names if n not in known]
        if unknown:
            raise ConfigError(f"unknown suite task(s) {unknown}; known: {', '.join(known)}")
        paths = [known[n] for n in names]
    out = []
    for p in paths:
        task_file, task = load_task(p)
        out.append(SuiteTask(p.stem, p, task_file, task))
    return out


def optuna_space(space: dict[str, Any]) -> dict[str, Any]:
    """Optuna distributions for `hpo` parameter specs."""
    import optuna.distributions as d

    out: dict[str, Any] = {}
    for name, p in space.items():
        if p.type == "float":
            out[name] = d.FloatDistribution(p.low, p.high, log=p.log, step=p.step)
        elif p.type == "int":
            out[name] = d.IntDistribution(p.low, p.high, log=p.log, step=p.step)
        else:
            out[name] = d.CategoricalDistribution(p.choices)
    return out


def load_reference(path: Path = SUITE_DIR / "reference.json") -> dict[str, dict[str, Any]]:
    """Per task: `clip` (median random loss) and `opt` (best loss of the reference search)."""
    from workbench.errors import NotSetUp

    if not path.is_file():
        raise NotSetUp(f"no regret reference at {path}: run bench/bayesmark_reference.py")
    return json.loads(path.read_text(encoding="utf-8"))


def normalised_regret(best_loss: float, clip: float, opt: float) -> float:
    """Bayesmark's (min(S_t, clip) - opt) / (clip - opt); 0 = optimum, 1 = a random draw."""
    if not math.isfinite(best_loss):
        return 1.0
    return (min(best_loss, clip) - opt) / (clip - opt)


def initial_configs(task: SuiteTask, seed: int, k: int = 5) -> list[dict[str, Any]]:
    """The `k` fixed initial configurations of (task, seed), shared by every optimizer."""
    import optuna

    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=10_000 + seed))
    space = optuna_space(task.search_space())
    return [dict(study.ask(fixed_distributions=space).params) for _ in range(k)]


@dataclass
class RunRecord:
    """One (optimizer, task, seed) run: the loss of each evaluation in order, and its costs."""

    optimizer: str
    task: str
    seed: int
    losses: list[float]
    duplicates: int
    llm_calls: int
    tokens: int
    steps: int
    wall_s: float
    stats: dict[str, Any] = field(default_factory=dict)

    def best_at(self, t: int) -> float:
        """S_t: the best loss among the first `t` evaluations (inf if none succeeded)."""
        head = [x for x in self.losses[:t] if math.isfinite(x)]
        return min(head) if head else math.inf


def _trial_losses(study: Any, sign: float, space: dict[str, Any]) -> tuple[list[float], int]:
    import optuna

    from workbench.optimizers.llambo.serialize import check_config, config_text

    losses, keys, dups = [], set(), 0
    for t in sorted(study.get_trials(deepcopy=False), key=lambda t: t.number):
        if t.state not in (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.FAIL):
            continue
        config, _ = check_config(dict(t.params), space)
        key = config_text(config, space) if config is not None else repr(sorted(t.params.items()))
        dups += key in keys
        keys.add(key)
        ok = t.state == optuna.trial.TrialState.COMPLETE and t.value is not None
        losses.append(sign * float(t.value) if ok else math.inf)
    return losses, dups


def run_one(
    task: SuiteTask,
    bench_name: str,
    seed: int,
    evaluations: int,
    runs_dir: Path,
    shared_llm: Any = None,
    n_init: int = 5,
) -> RunRecord:
    """Run one optimizer on one task and seed from the fixed initial points."""
    import optuna

    from workbench.optimizers import make_optimizer
    from workbench.runs import start_run

    name, settings = BENCH_OPTIMIZERS[bench_name]
    settings = dict(settings)
    if name == "llambo":
        import workbench.optimizers.llambo  # noqa: F401  (registers `llambo`)

        settings.setdefault("context", task.task_file.description)
    budget = task.task_file.budget.model_copy(update={"evaluations": evaluations})
    task_file = task.task_file.model_copy(update={"seed": seed, "budget": budget, "parallel": 1})
    holder: list[Any] = []

    def build(ctx: Any) -> Any:
        storage = f"sqlite:///{(ctx.run_dir / 'optuna.sqlite').resolve()}"
        study = optuna.create_study(
            storage=storage,
            study_name=ctx.run_dir.resolve().name,
            direction=task.direction,
            load_if_exists=True,
        )
        if not study.trials:
            for config in initial_configs(task, seed, n_init):
                study.enqueue_trial(config, user_attrs={"llambo_source": "init"})
        study._storage.engine.dispose() if hasattr(study._storage, "engine") else None
        opt = make_optimizer(name, settings, ctx)
        holder.append(opt)
        return opt

    make_llm = None
    if shared_llm is not None:
        from workbench.llm import MeteredLLM

        def make_llm(budget: Any = None, on_call: Any = None) -> Any:
            return MeteredLLM(shared_llm, budget=budget, on_call=on_call)

    started = time.time()
    result = start_run(task_file, runs_dir, optimizer=build, make_llm=make_llm)
    wall = time.time() - started
    study = optuna.load_study(
        study_name=result.run.path.resolve().name,
        storage=f"sqlite:///{(result.run.path / 'optuna.sqlite').resolve()}",
    )
    sign = -1.0 if task.direction == "maximize" else 1.0
    losses, dups = _trial_losses(study, sign, task.search_space())
    usage = result.summary.get("llm") or {}
    stats = holder[0].state().get("stats", {}) if holder else {}
    return RunRecord(
        optimizer=bench_name,
        task=task.name,
        seed=seed,
        losses=losses,
        duplicates=dups,
        llm_calls=int(usage.get("calls", 0)),
        tokens=int(usage.get("prompt_tokens", 0)) + int(usage.get("completion_tokens", 0)),
        steps=max(len(losses) - n_init, 1),
        wall_s=round(wall, 1),
        stats=stats,
    )


def summarize(records: list[RunRecord], reference: dict[str, Any]) -> dict[str, Any]:
    """Mean regret at each checkpoint, mean rank of the final best, costs, per optimizer."""
    names = sorted({r.optimizer for r in records}, key=[r.optimizer for r in records].index)
    horizon = max(len(r.losses) for r in records)
    points = [t for t in CHECKPOINTS if t <= horizon] or [horizon]
    by_run: dict[tuple[str, int], dict[str, RunRecord]] = {}
    for r in records:
        by_run.setdefault((r.task, r.seed), {})[r.optimizer] = r
    ranks: dict[str, list[float]] = {n: [] for n in names}
    for runs in by_run.values():
        finals = {n: r.best_at(horizon) for n, r in runs.items()}
        for n, v in finals.items():
            better = sum(1 for w in finals.values() if w < v)
            ties = sum(1 for w in finals.values() if w == v)
            ranks[n].append(better + (ties + 1) / 2)
    out: dict[str, Any] = {"checkpoints": points, "optimizers": {}, "per_task": {}}
    for n in names:
        mine = [r for r in records if r.optimizer == n]
        regret = {
            t: statistics.mean(
                normalised_regret(r.best_at(t), **_ref(reference, r.task)) for r in mine
            )
            for t in points
        }
        evals = sum(len(r.losses) for r in mine)
        out["optimizers"][n] = {
            "regret": regret,
            "mean_rank": statistics.mean(ranks[n]) if ranks[n] else None,
            "duplicate_rate": sum(r.duplicates for r in mine) / max(evals, 1),
            "llm_calls_per_step": sum(r.llm_calls for r in mine) / sum(r.steps for r in mine),
            "tokens_per_step": sum(r.tokens for r in mine) / sum(r.steps for r in mine),
            "max_calls_per_step": max((r.stats.get("max_step_calls", 0) for r in mine), default=0),
            "wall_s": sum(r.wall_s for r in mine),
            "runs": len(mine),
        }
        for task in sorted({r.task for r in mine}):
            final = [
                normalised_regret(r.best_at(horizon), **_ref(reference, r.task))
                for r in mine
                if r.task == task
            ]
            out["per_task"].setdefault(task, {})[n] = statistics.mean(final)
    return out


def _ref(reference: dict[str, Any], task: str) -> dict[str, float]:
    return {"clip": float(reference[task]["clip"]), "opt": float(reference[task]["opt"])}


def format_table(summary: dict[str, Any]) -> str:
    """The summary as a Markdown table (regret at t, rank, duplicates, LLM cost per step)."""
    points = summary["checkpoints"]
    head = ["optimizer", *(f"t={t}" for t in points), "rank", "dup", "calls/step", "tok/step"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for n, s in summary["optimizers"].items():
        row = [n, *(f"{s['regret'][t]:.3f}" for t in points)]
        row += [f"{s['mean_rank']:.2f}", f"{s['duplicate_rate']:.3f}"]
        row += [f"{s['llm_calls_per_step']:.2f}", f"{s['tokens_per_step']:.0f}"]
        lines.append("| " + " | ".join(row) + " |")
    tasks = summary["per_task"]
    if tasks:
        names = list(summary["optimizers"])
        lines += ["", "| task (final regret) | " + " | ".join(names) + " |"]
        lines.append("|" + "---|" * (len(names) + 1))
        for task, vals in tasks.items():
            cells = [f"{vals[n]:.3f}" if n in vals else "-" for n in names]
            lines.append(f"| {task} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def run_bench(
    optimizers: list[str],
    tasks: list[str] | None,
    seeds: list[int],
    evaluations: int = 30,
    model: str | None = None,
    runs_dir: Path | None = None,
    on_record: Callable[[RunRecord], None] | None = None,
) -> dict[str, Any]:
    """Run optimizers x tasks x seeds; returns ``{"summary", "records", "setup"}`` (JSON).

    Args:
        optimizers: names in `BENCH_OPTIMIZERS`.
        tasks: suite task names (None: all 9).
        seeds: the seeds (each fixes the 5 initial points).
        evaluations: evaluations per run, initial points included.
        model: the LLM (`LLMConfig.model`, e.g. ``local:qwen2.5-coder-0.5b-instruct``), one
            client shared by every run; None: the default local model.
        runs_dir: where run folders go (default: a temporary folder).
        on_record: called after each run.
    """
    from contextlib import ExitStack

    from workbench.errors import ConfigError

    unknown = [o for o in optimizers if o not in BENCH_OPTIMIZERS]
    if unknown:
        raise ConfigError(f"unknown optimizer(s) {unknown}; known: {', '.join(BENCH_OPTIMIZERS)}")
    reference = load_reference()
    suite = load_suite(tasks)
    missing = [t.name for t in suite if t.name not in reference]
    if missing:
        raise ConfigError(f"no regret reference for {missing}: run bench/bayesmark_reference.py")
    records: list[RunRecord] = []
    with ExitStack() as stack:
        import optuna

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        shared = None
        if any(BENCH_OPTIMIZERS[o][0] == "llambo" for o in optimizers):
            shared = stack.enter_context(_bench_llm(model))
        if runs_dir is None:
            runs_dir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-hpo-")))
        for task in suite:
            for seed in seeds:
                for name in optimizers:
                    rec = run_one(task, name, seed, evaluations, runs_dir, shared_llm=shared)
                    records.append(rec)
                    if on_record is not None:
                        on_record(rec)
    from dataclasses import asdict

    return {
        "summary": summarize(records, reference),
        "records": [asdict(r) for r in records],
        "setup": {
            "optimizers": optimizers,
            "tasks": [t.name for t in suite],
            "seeds": seeds,
            "evaluations": evaluations,
            "model": model,
        },
    }


@contextmanager
def _bench_llm(model: str | None) -> Iterator[Any]:
    """One client for the whole benchmark; a local model gets a 1-slot, 1-thread server."""
    from workbench.llm import DEFAULT_LOCAL_MODEL, LLMConfig, open_llm

    model = model or "local"
    if model == "local" or model.startswith("local:"):
        from workbench.llm.local.server import start_llama_server

        name = model.partition(":")[2] or DEFAULT_LOCAL_MODEL
        with start_llama_server(name, parallel=1, threads=1, ctx_per_slot=6144) as server:
            config = LLMConfig(model=f"endpoint:{name}", base_url=server.base_url, cache=False)
            with open_llm(config) as client:
                yield client
        return
    with open_llm(LLMConfig(model=model, cache=False)) as client:
        yield client


def hpo(
    optimizers: str = typer.Option("llambo,tpe,random", help="Comma-separated optimizer names."),
    tasks: str = typer.Option("", help="Comma-separated suite tasks (default: all 9)."),
    seeds: str = typer.Option("0,1,2", help="Comma-separated seeds."),
    evaluations: int = typer.Option(30, "-n", "--evaluations", min=5),
    model: str = typer.Option(None, help="LLM for llambo, e.g. local:qwen2.5-coder-1.5b-instruct"),
    out: Path = typer.Option(None, help="Write the JSON result here."),
    runs_dir: Path = typer.Option(None, help="Keep the run folders here (default: temporary)."),
) -> None:
    """Run optimizers x Bayesmark tasks x seeds; print normalised regret at t = 5..30."""

    def progress(r: RunRecord) -> None:
        typer.echo(
            f"{r.task} seed={r.seed} {r.optimizer}: best loss {r.best_at(len(r.losses)):.4f}, "
            f"{r.llm_calls} LLM calls, {r.duplicates} duplicates, {r.wall_s:.0f}s",
            err=True,
        )

    result = run_bench(
        [o.strip() for o in optimizers.split(",") if o.strip()],
        [t.strip() for t in tasks.split(",") if t.strip()] or None,
        [int(s) for s in seeds.split(",") if s.strip()],
        evaluations,
        model,
        runs_dir,
        on_record=progress,
    )
    typer.echo(format_table(result["summary"]))
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
        typer.echo(f"wrote {out}")
