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
from typing import Any

import typer
from typer.core import TyperGroup

from workbench._imports import import_object
from workbench.cli._common import err_console, state
from workbench.errors import RunError, UserError

__all__ = ["COMMANDS", "app", "main"]

COMMANDS: dict[str, tuple[str, str | None, str]] = {
    "optimize": ("workbench.cli.run:app", "optimize", ""),
    "resume": ("workbench.cli.run:app", "resume", ""),
    "validate": ("workbench.cli.run:app", "validate", ""),
    "report": ("workbench.cli.run:app", "report", ""),
    "runs": ("workbench.cli.run:runs_app", None, "List and inspect runs."),
    "llm": ("workbench.cli.llm:app", None, "Build, serve and inspect the embedded local models."),
    "sandbox": ("workbench.cli.sandbox:app", None, "Build and check the sandbox image."),
    "bench": ("workbench.cli.bench:app", None, "Benchmark optimizers on task suites."),
}
"""The commands: name -> (the module's typer app, the command in it or None for the whole app
as a group, the group's help). A command's module is imported when the command runs (or for
``--help``), so each module imports what it drives at its top and `workbench sandbox check`
does not load the loop, nor `workbench optimize` the benchmark engine."""


class _Commands(TyperGroup):
    """The root group: commands come from `COMMANDS`, loaded by name when first asked for."""

    def list_commands(self, ctx: Any) -> list[str]:
        return [*COMMANDS, *(n for n in super().list_commands(ctx) if n not in COMMANDS)]

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        if cmd_name not in self.commands and cmd_name in COMMANDS:
            target, member, help_text = COMMANDS[cmd_name]
            command = typer.main.get_command(import_object(target))
            if member is not None:
                command = command.commands[member]  # type: ignore[attr-defined]
            else:
                command.help = command.help or help_text
            command.name = cmd_name
            self.commands[cmd_name] = command
        return super().get_command(ctx, cmd_name)

    def format_help(self, ctx: Any, formatter: Any) -> None:
        for name in COMMANDS:  # every command's short help is listed
            self.get_command(ctx, name)
        super().format_help(ctx, formatter)


app = typer.Typer(
    name="workbench",
    help="LLM-driven optimizer and code-generation workbench.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    cls=_Commands,
)


@app.callback()
def _root(
    debug: bool = typer.Option(
        False, "--debug", help="Show tracebacks instead of one-line errors."
    ),
) -> None:
    """LLM-driven optimizer and code-generation workbench."""
    state.debug = state.debug or debug


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
