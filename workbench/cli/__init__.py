"""The `workbench` command line: the only place that prints to the terminal.

Each command group lives in its own module (`llm.py`, `sandbox.py`, `run.py`, `bench.py`); this
module wires them into one typer app and turns Workbench's errors into one clear line and an exit
code: `UserError` -> 2, `RunError` -> 1. `--debug` (or `WORKBENCH_DEBUG=1`) shows the traceback
instead.
"""

from __future__ import annotations

import gc
import os
import sys

import typer

from workbench.cli._common import err_console, state
from workbench.cli.bench import app as bench_app
from workbench.cli.llm import app as llm_app
from workbench.cli.run import register as register_run_commands
from workbench.cli.sandbox import app as sandbox_app
from workbench.errors import RunError, UserError

__all__ = ["app", "main"]

app = typer.Typer(
    name="workbench",
    help="LLM-driven optimizer and code-generation workbench.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


@app.callback()
def _root(
    debug: bool = typer.Option(
        False, "--debug", help="Show tracebacks instead of one-line errors."
    ),
) -> None:
    """LLM-driven optimizer and code-generation workbench."""
    state.debug = state.debug or debug


app.add_typer(llm_app, name="llm", help="Build, serve and inspect the embedded local models.")
app.add_typer(sandbox_app, name="sandbox", help="Build and check the sandbox image.")
app.add_typer(bench_app, name="bench", help="Benchmark optimizers on task suites.")
register_run_commands(app)


def main(argv: list[str] | None = None) -> None:
    """Entry point of the `workbench` console script."""
    state.debug = os.environ.get("WORKBENCH_DEBUG", "") not in ("", "0")
    try:
        # standalone mode: typer handles its own usage errors (exit 2) and --help.
        app(args=argv)
    except UserError as exc:
        if state.debug:
            raise
        err_console.print(f"[bold red]error:[/bold red] {exc}", highlight=False, soft_wrap=True)
        sys.exit(2)
    except RunError as exc:
        if state.debug:
            raise
        err_console.print(
            f"[bold red]run stopped:[/bold red] {exc}", highlight=False, soft_wrap=True
        )
        sys.exit(1)
    except KeyboardInterrupt:
        err_console.print("[red]Interrupted.[/red]")
        sys.exit(130)
    finally:
        if argv is None:
            # The console script's process ends here. Its shutdown would garbage-collect every
            # object the run left (~350k: sklearn, langgraph, SQLAlchemy), about 1 s after a
            # quickstart run, only to free memory the exit frees anyway. Frozen, they are freed
            # without the collection; the command closed all it wrote (events, stores, JSON).
            # A caller in the same process passes `argv` and keeps its collector.
            gc.freeze()
