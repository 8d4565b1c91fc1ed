"""`workbench optimize|resume|validate|report|runs`: the commands around a run."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add the run commands to the root app."""
