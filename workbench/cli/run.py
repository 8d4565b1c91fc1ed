"""`workbench optimize|resume|validate|report|runs`: the commands around a run."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from workbench.agents import RunStore
from workbench.cli._common import console
from workbench.quantities import MAX_SECONDS
from workbench.runs import (
    check_task,
    find_run,
    list_runs,
    prepare_run,
    resume_run,
    write_report,
)
from workbench.tasks import load_task_file, parse_task_text

__all__ = ["app", "runs_app"]

runs_app = typer.Typer(help="List and inspect runs.", no_args_is_help=True, add_completion=False)

RUNS_DIR = typer.Option(
    None, "--runs-dir", help="Folder of run folders [default: ./runs or $WORKBENCH_RUNS_DIR]."
)
IMPORT_TIMEOUT = typer.Option(
    60.0,
    "--import-timeout",
    min=0.1,
    max=MAX_SECONDS,
    help="Seconds importing each of your modules may take before it is stopped.",
)


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    return "-" if value is None else str(value)


class _Progress:
    """A rich progress bar fed by the loop's events."""

    def __init__(self, total: int | None) -> None:
        self.bar = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TextColumn("{task.fields[best]}"),
            console=console,
        )
        self.total = total
        self.task_id: Any = None
        self.llm_calls = 0

    def __enter__(self) -> _Progress:
        self.bar.__enter__()
        self.task_id = self.bar.add_task("evaluations", total=self.total, best="")
        return self

    def __exit__(self, *exc: object) -> None:
        self.bar.__exit__(*exc)  # type: ignore[arg-type]

    def __call__(self, event: dict[str, Any]) -> None:
        kind = event.get("type")
        if kind == "run":
            verb = "resuming" if event.get("resumed") else "run folder"
            self.bar.console.print(f"{verb}: {event.get('path')}", highlight=False)
        elif kind == "evaluation":
            self.bar.advance(self.task_id)
        elif kind == "best":
            self.bar.update(
                self.task_id, best=f"best {_fmt(event.get('score'))} ({event.get('id')})"
            )
        elif kind == "llm_call":
            self.llm_calls += 1
            self.bar.update(self.task_id, description=f"evaluations · {self.llm_calls} LLM calls")


def _print_plan(plan: dict[str, Any] | None) -> None:
    """Print an optimizer's `plan()` (its projected spend) before anything runs."""
    if not plan:
        return
    line = plan.get("summary") or json.dumps(plan)[:300]
    console.print(Text(f"plan: {line}"))


def _print_summary(summary: dict[str, Any], report: Path) -> None:
    table = Table(title=f"run {summary.get('run')}", show_header=False)
    best = summary.get("best") or {}
    rows = [
        ("task", summary.get("task")),
        ("optimizer", summary.get("optimizer")),
        ("stopped by", summary.get("stop_reason")),
        ("steps", summary.get("steps")),
        ("evaluations", summary.get("evaluations")),
        ("cached", summary.get("cached")),
        ("statuses", json.dumps(summary.get("statuses"))),
        (f"best {summary.get('metric')} ({summary.get('direction')})", best.get("score")),
        ("best candidate", best.get("id")),
        ("best payload", json.dumps(best.get("payload"))[:300] if best else None),
        ("elapsed s", summary.get("elapsed_s")),
    ]
    if summary.get("llm"):
        rows.append(("LLM usage", json.dumps(summary["llm"])[:300]))
    if summary.get("task_llm"):
        rows.append(("task-model usage", json.dumps(summary["task_llm"])[:300]))
    final = summary.get("final") or {}
    for key, value in final.items():
        if key not in ("payload", "id", "score"):
            rows.append(
                (f"final {key}", value if not isinstance(value, dict) else json.dumps(value))
            )
    for k, v in rows:
        table.add_row(k, Text(_fmt(v)))  # Text: a payload's "[...]" is not rich markup
    console.print(table)
    console.print(f"report: {report}")


def _finish(result: Any) -> None:

    _print_summary(result.summary, write_report(result.run))


def optimize(
    task: Path = typer.Argument(..., help="A task file (YAML)."),
    runs_dir: Path | None = RUNS_DIR,
    no_cache: bool = typer.Option(
        False, "--no-cache", help="Evaluate equal candidates again; bypass the LLM response cache."
    ),
    resume_latest: bool = typer.Option(
        False, "--resume-latest", help="Continue this task's latest run if it did not finish."
    ),
    import_timeout: float = IMPORT_TIMEOUT,
) -> None:
    """Run an optimization described by a task file, to its budget."""

    # a module hanging at import is stopped here, before a run folder exists
    task_file = load_task_file(task, import_timeout_s=import_timeout)
    if resume_latest:
        mine = [
            r
            for r in list_runs(runs_dir)
            if r.name.endswith(f"-{task_file.name}")
            or r.name.rsplit("-", 1)[0].endswith(f"-{task_file.name}")
        ]
        if mine and not (mine[-1].read_json("summary.json") or {}).get("finished"):
            resume(str(mine[-1].path), runs_dir)
            return
    # the task and the optimizer are built once, in the run's session; bad settings leave no
    # run folder
    with prepare_run(task_file, runs_dir, use_cache=not no_cache, source=task) as session:
        _print_plan(session.plan)
        with _Progress(task_file.budget.evaluations) as progress:
            result = session.run(on_event=progress)
    _finish(result)


def resume(
    run: str = typer.Argument(..., help="A run folder, a run name, or `latest`."),
    runs_dir: Path | None = RUNS_DIR,
    import_timeout: float = IMPORT_TIMEOUT,
) -> None:
    """Continue a run that was stopped or killed, from its last checkpoint."""

    rd = find_run(run, runs_dir)
    task_file = parse_task_text(
        rd.task_yaml.read_text(encoding="utf-8"),
        rd.path,
        str(rd.task_yaml),
        import_timeout_s=import_timeout,
    )
    done = (rd.read_json("summary.json") or {}).get("evaluations", 0)
    with _Progress(task_file.budget.evaluations) as progress:
        progress.bar.update(progress.task_id, completed=done)
        result = resume_run(rd, on_event=progress)
    _finish(result)


def validate(
    task: Path = typer.Argument(..., help="A task file (YAML)."),
    import_timeout: float = IMPORT_TIMEOUT,
) -> None:
    """Check a task file: schema, paths, the objective, the optimizer settings."""

    task_file = load_task_file(task, import_timeout_s=import_timeout)
    plan = check_task(task_file, task)
    console.print(
        f"[green]ok[/green]: {task} — task {task_file.name!r}, kind {task_file.kind}, "
        f"optimizer {task_file.proposer_label}",
        highlight=False,
    )
    _print_plan(plan)


def report(
    run: str = typer.Argument(..., help="A run folder, a run name, or `latest`."),
    runs_dir: Path | None = RUNS_DIR,
) -> None:
    """Write the run's HTML report and print its path."""

    console.print(str(write_report(find_run(run, runs_dir))), highlight=False)


@runs_app.command("list")
def runs_list(runs_dir: Path | None = RUNS_DIR) -> None:
    """List the runs, oldest first."""

    table = Table("run", "task", "stopped by", "evaluations", "best")
    for rd in list_runs(runs_dir):
        s = rd.read_json("summary.json") or {}
        best = rd.read_json("best.json") or {}
        table.add_row(
            rd.name,
            _fmt(s.get("task")),
            _fmt(s.get("stop_reason") or "(running?)"),
            _fmt(s.get("evaluations")),
            _fmt(best.get("score")),
        )
    console.print(table)


@runs_app.command("show")
def runs_show(
    run: str = typer.Argument(..., help="A run folder, a run name, or `latest`."),
    runs_dir: Path | None = RUNS_DIR,
) -> None:
    """Show a run's summary and its best candidates."""

    rd = find_run(run, runs_dir)
    summary = rd.read_json("summary.json") or {"run": rd.name, "stop_reason": "(not finished)"}
    table = Table(title=f"run {rd.name}", show_header=False)
    for k, v in summary.items():
        if k != "best":
            table.add_row(k, _fmt(v) if not isinstance(v, dict) else json.dumps(v))
    console.print(table)
    store = RunStore(rd.store_sqlite)
    try:
        rows = [r for r in store.evaluations() if r[2].score is not None]
    finally:
        store.close()
    reverse = summary.get("direction", "maximize") == "maximize"
    rows.sort(key=lambda r: r[2].score, reverse=reverse)  # type: ignore[arg-type,return-value]
    top = Table("id", "step", "score", "payload", title="best candidates")
    for step, cand, ev, _ in rows[:5]:
        top.add_row(cand.id, str(step), _fmt(ev.score), json.dumps(cand.payload)[:120])
    console.print(top)


app = typer.Typer(add_completion=False)
"""The run commands; the root app (`workbench.cli.COMMANDS`) takes each by name."""
app.command()(optimize)
app.command()(resume)
app.command()(validate)
app.command()(report)
