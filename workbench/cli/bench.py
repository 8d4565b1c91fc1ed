"""`workbench bench`: benchmarks of optimizers and generators on task suites.

- `hpo`: optimizers x Bayesmark tasks x seeds, normalised regret (engine: `workbench.bench.hpo`).
- `code`: code generators x HumanEval subset / MPI library, pass@k (`workbench.bench.code`).

This module parses the options, calls the engine (`workbench.bench`) and prints what it returns.
The root app imports it only for a `bench` command (`workbench.cli.COMMANDS`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer
from rich.console import Console

from workbench.bench import DEFAULT_CODE_MODEL
from workbench.bench import code as bench_code  # called through the module: tests replace it
from workbench.bench.code import BENCH_GENERATORS, ProblemRecord, select_problems
from workbench.bench.code_plan import project
from workbench.bench.code_tables import problems_table, projection_table, summary_table
from workbench.bench.hpo import RunRecord, format_table, run_bench

__all__ = ["app", "code", "hpo"]


app = typer.Typer(
    help="Benchmarks: optimizers x tasks x seeds.", no_args_is_help=True, add_completion=False
)


@app.callback()
def _group() -> None:
    """Benchmarks: optimizers x tasks x seeds."""


def hpo(
    optimizers: str = typer.Option("llambo,tpe,random", help="Comma-separated optimizer names."),
    tasks: str = typer.Option(
        "",
        help="Comma-separated suite tasks (default: all 9), or paths of your own hpo task "
        "files or folders of them.",
    ),
    seeds: str = typer.Option("0,1,2", help="Comma-separated seeds."),
    evaluations: int = typer.Option(30, "-n", "--evaluations", min=5),
    model: str = typer.Option(None, help="LLM for llambo, e.g. local:qwen2.5-coder-1.5b-instruct"),
    out: Path = typer.Option(None, help="Write the JSON result here."),
    runs_dir: Path = typer.Option(None, help="Keep the run folders here (default: temporary)."),
    max_hours: float = typer.Option(None, help="Refuse a longer projection; stop starting runs."),
    threads: int = typer.Option(1, min=1, help="llama-server threads (one slot)."),
    prompt_tps: float = typer.Option(68.0, help="Prompt tokens/s, for the projection."),
    gen_tps: float = typer.Option(26.0, help="Generated tokens/s, for the projection."),
    reference_evaluations: int = typer.Option(
        200, min=2, help="Regret reference of your own tasks: evaluations (half random, half TPE)."
    ),
) -> None:
    """Run optimizers x Bayesmark tasks x seeds; print normalised regret at t = 5..30.

    A task of your own has no shipped regret reference: it is computed first (the loss of a
    median random evaluation, and the best of `--reference-evaluations`) and written to the
    JSON.
    """

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
        reference_evaluations=reference_evaluations,
    )
    if result["setup"]["stopped_early"]:
        typer.echo(f"stopped early after {result['setup']['wall_s'] / 3600:.2f} h", err=True)
    if result["records"]:
        typer.echo(format_table(result["summary"]))
    if out is not None:
        _write(out, result)
        typer.echo(f"wrote {out}")


def code(
    generators: str = typer.Option("sample,funcoder,pgtd", help="Comma-separated generators."),
    problems: str = typer.Option(
        "humaneval",
        help="humaneval (20-problem subset), mpi (the MPI train split), mpi-held-out, mpi-all, "
        "HumanEval/<n>, MPI names or problem folders.",
    ),
    limit: int = typer.Option(None, min=1, help="Only the first N problems."),
    model: str = typer.Option(DEFAULT_CODE_MODEL, help="The LLM shared by every run."),
    sandbox: str = typer.Option("auto", help="Sandbox backend: auto, docker or local."),
    out: Path = typer.Option(None, help="Write the JSON result here (after every run)."),
    runs_dir: Path = typer.Option(None, help="Keep the run folders here (default: temporary)."),
    dry_run: bool = typer.Option(False, help="Print the time projection only; run nothing."),
    max_hours: float = typer.Option(
        2.0, min=0.0, help="Refuse (exit 2) when the projection exceeds this many hours."
    ),
) -> None:
    """Run code generators x problems; print pass@1 / pass@k, LLM calls, tokens, wall time.

    The projection of the whole bench (every run spending its whole budget) is printed first;
    over `max_hours` it exits with status 2 without running.
    """
    console = Console()
    if not console.is_terminal:  # a log file: wide enough that no column is cut
        console = Console(width=160)
    chosen = [g.strip() for g in generators.split(",") if g.strip()]
    picked = select_problems(problems, limit)
    unknown = [g for g in chosen if g not in BENCH_GENERATORS]
    if unknown:
        typer.echo(
            f"unknown generator(s) {unknown}; known: {', '.join(BENCH_GENERATORS)}", err=True
        )
        raise typer.Exit(2)
    projection = project(chosen, picked)
    console.print(projection_table(projection))
    hours = projection["total_h"]
    if hours > max_hours:
        typer.echo(
            f"projected {hours:.2f} h > --max-hours {max_hours:g}: lower the budgets in "
            "workbench/bench/code_setup.py, pass fewer --problems / --limit, or raise "
            "--max-hours",
            err=True,
        )
        raise typer.Exit(2)
    if dry_run:
        return

    def progress(r: ProblemRecord, partial: dict[str, Any]) -> None:
        typer.echo(
            f"{r.problem} {r.generator}: {r.status} passed={r.passed} n={r.samples} "
            f"calls={r.llm_calls} {r.wall_s:.0f}s",
            err=True,
        )
        if out is not None:
            _write(out, partial)

    result = bench_code.run_code_bench(
        chosen,
        picked,
        model=model,
        runs_dir=runs_dir,
        sandbox=sandbox,
        on_record=progress,
        projection=projection,
    )
    records = [ProblemRecord(**r) for r in result["records"]]
    console.print(problems_table(records))
    console.print(summary_table(result["summary"]))
    measured = result["measured"]
    typer.echo(
        f"wall time {measured['wall_s'] / 3600:.2f} h (projected {projection['total_h']:.2f} h "
        "with every budget spent)"
    )
    if out is not None:
        _write(out, result)
        typer.echo(f"wrote {out}")


def _write(path: Path, data: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")


app.command("hpo")(hpo)
app.command("code")(code)
