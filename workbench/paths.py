"""Where Workbench keeps what it builds and caches (override the root with WORKBENCH_CACHE_DIR)."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["cache_dir"]


def cache_dir(*parts: str) -> Path:
    """Return ``~/.cache/workbench/<parts...>`` (or under ``$WORKBENCH_CACHE_DIR``), created."""
    root = Path(os.environ.get("WORKBENCH_CACHE_DIR") or Path.home() / ".cache" / "workbench")
    path = root.joinpath(*parts)
    path.mkdir(parents=True, exist_ok=True)
    return path
