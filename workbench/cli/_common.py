"""Shared terminal objects for the CLI modules."""

from __future__ import annotations

from dataclasses import dataclass

from rich.console import Console

__all__ = ["CliState", "console", "err_console", "state"]

console = Console()
err_console = Console(stderr=True)


@dataclass
class CliState:
    """Process-wide CLI flags set by the root callback."""

    debug: bool = False


state = CliState()
