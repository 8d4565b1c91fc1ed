"""`workbench llm ...`: setup, serve, status of the embedded local models."""

from __future__ import annotations

import typer

app = typer.Typer(no_args_is_help=True)
