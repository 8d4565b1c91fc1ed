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
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import typer

from workbench.cli.bench.hpo.run import (
    Projection,
    _bench_llm,
    bench_server,
    project,
    run_one,
    token_counter,
)
from workbench.cli.bench.hpo.suite import (
    BENCH_OPTIMIZERS,
    SUITE_DIR,
    SuiteTask,
    initial_configs,
    load_reference,
    load_suite,
)
from workbench.tasks.bayesmark import RunRecord, format_table, normalised_regret, summarize

__all__ = [
    "BENCH_OPTIMIZERS",
    "SUITE_DIR",
    "Projection",
    "RunRecord",
    "SuiteTask",
    "format_table",
    "hpo",
    "initial_configs",
    "load_reference",
    "load_suite",
    "normalised_regret",
    "project",
    "run_bench",
    "run_one",
    "summarize",
]

_ = _bench_llm  # kept importable here: `workbench bench code` shares the server helper


def run_bench(
    optimizers: list[str],
    tasks: list[str] | None,
    seeds: list[int],
    evaluations: int = 30,
    model: str | None = None,
    runs_dir: Path | None = None,
    on_record: Callable[[RunRecord], None] | None = None,
    *,
    max_hours: float | None = None,
    threads: int = 1,
    prompt_tps: float = 68.0,
    gen_tps: float = 26.0,
    on_projection: Callable[[Projection], None] | None = None,
) -> dict[str, Any]:
    """Run optimizers x tasks x seeds; returns ``{"summary", "records", "setup"}`` (JSON).

    Args:
        optimizers: names in `BENCH_OPTIMIZERS`.
        tasks: suite task names (None: all 9).
        seeds: the seeds (each fixes the 5 initial points).
        evaluations: evaluations per run, initial points included.
        model: the LLM (`LLMConfig.model`, e.g. ``local:qwen2.5-coder-1.5b-instruct``), one
            client shared by every run; None: the default local model.
        runs_dir: where run folders go (default: a temporary folder).
        on_record: called after each run.
        max_hours: refuse to start when the projection exceeds it, and start no new run once
            it has passed (the result then says ``stopped_early``).
        threads: llama-server threads (one slot) for a local model.
        prompt_tps, gen_tps: the model's prompt and generation rates for the projection.
        on_projection: called with the projection before the first run.

    Raises:
        ConfigError: unknown optimizer or task, or a projection over `max_hours`.
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
    started = time.time()
    stopped = False
    with ExitStack() as stack:
        import optuna

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        shared, log_path = None, None
        uses_llm = any(BENCH_OPTIMIZERS[o][0] == "llambo" for o in optimizers)
        if uses_llm:
            shared, log_path = stack.enter_context(bench_server(model, threads))
        count = token_counter(shared)
        projection = project(suite, optimizers, seeds, evaluations, count, prompt_tps, gen_tps)
        if on_projection is not None:
            on_projection(projection)
        if max_hours is not None and projection.total_s > max_hours * 3600:
            raise ConfigError(
                f"the bench is projected to take {projection.total_s / 3600:.2f} h, over "
                f"--max-hours {max_hours}; run fewer tasks/seeds/evaluations or raise --max-hours"
            )
        if runs_dir is None:
            runs_dir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-hpo-")))
        for task in suite:
            for seed in seeds:
                for name in optimizers:
                    if max_hours is not None and time.time() - started > max_hours * 3600:
                        stopped = True
                        break
                    rec = run_one(
                        task, name, seed, evaluations, runs_dir, shared_llm=shared,
                        log_path=log_path,
                    )  # fmt: skip
                    records.append(rec)
                    if on_record is not None:
                        on_record(rec)
    from dataclasses import asdict

    return {
        "summary": summarize(records, reference) if records else {},
        "records": [asdict(r) for r in records],
        "setup": {
            "optimizers": optimizers,
            "tasks": [t.name for t in suite],
            "seeds": seeds,
            "evaluations": evaluations,
            "model": model,
            "threads": threads,
            "projection": asdict(projection) | {"total_s": projection.total_s},
            "wall_s": round(time.time() - started, 1),
            "stopped_early": stopped,
        },
    }


def hpo(
    optimizers: str = typer.Option("llambo,tpe,random", help="Comma-separated optimizer names."),
    tasks: str = typer.Option("", help="Comma-separated suite tasks (default: all 9)."),
    seeds: str = typer.Option("0,1,2", help="Comma-separated seeds."),
    evaluations: int = typer.Option(30, "-n", "--evaluations", min=5),
    model: str = typer.Option(None, help="LLM for llambo, e.g. local:qwen2.5-coder-1.5b-instruct"),
    out: Path = typer.Option(None, help="Write the JSON result here."),
    runs_dir: Path = typer.Option(None, help="Keep the run folders here (default: temporary)."),
    max_hours: float = typer.Option(None, help="Refuse a longer projection; stop starting runs."),
    threads: int = typer.Option(1, min=1, help="llama-server threads (one slot)."),
    prompt_tps: float = typer.Option(68.0, help="Prompt tokens/s, for the projection."),
    gen_tps: float = typer.Option(26.0, help="Generated tokens/s, for the projection."),
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
        max_hours=max_hours,
        threads=threads,
        prompt_tps=prompt_tps,
        gen_tps=gen_tps,
        on_projection=lambda p: typer.echo(p.text(), err=True),
    )
    if result["setup"]["stopped_early"]:
        typer.echo(f"stopped early after {result['setup']['wall_s'] / 3600:.2f} h", err=True)
    if result["records"]:
        typer.echo(format_table(result["summary"]))
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
        typer.echo(f"wrote {out}")
