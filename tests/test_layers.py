"""The import-linter contracts in pyproject.toml hold, and fail when a layer imports upwards.

`scripts/test.sh` runs `lint-imports` before pytest; these tests prove the contracts can fail:
a copy of the package with one planted upward import (tasks -> runs) or a langgraph import
outside `workbench.agents` must break them, with the offending line named.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
LINT = Path(sys.executable).parent / "lint-imports"

pytestmark = pytest.mark.skipif(
    not LINT.exists() and os.environ.get("CI") != "true",
    reason="import-linter is not installed (pip install -e '.[dev]')",
)


def _lint(root: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(root)}
    return subprocess.run(
        [str(LINT), "--no-cache"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def _copy(tmp_path: Path) -> Path:
    root = tmp_path / "tree"
    root.mkdir()
    shutil.copy(REPO / "pyproject.toml", root / "pyproject.toml")
    shutil.copytree(
        REPO / "workbench", root / "workbench", ignore=shutil.ignore_patterns("__pycache__")
    )
    return root


def test_the_package_keeps_its_layers() -> None:
    proc = _lint(REPO)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "0 broken" in proc.stdout


def test_a_planted_upward_import_breaks_the_layers(tmp_path: Path) -> None:
    root = _copy(tmp_path)
    target = root / "workbench" / "tasks" / "base.py"
    target.write_text(target.read_text() + "\n\ndef _planted():\n    import workbench.runs\n")
    proc = _lint(root)
    assert proc.returncode == 1, proc.stdout
    assert "workbench.tasks is not allowed to import workbench.runs" in proc.stdout
    assert "workbench.tasks.base -> workbench.runs" in proc.stdout


def test_langgraph_outside_the_agents_layer_is_refused(tmp_path: Path) -> None:
    root = _copy(tmp_path)
    target = root / "workbench" / "optimizers" / "base.py"
    target.write_text(target.read_text() + "\n\nimport langgraph  # planted\n")
    proc = _lint(root)
    assert proc.returncode == 1, proc.stdout
    assert "workbench.optimizers.base -> langgraph" in proc.stdout


def test_a_planted_circle_between_sibling_packages_is_refused(tmp_path: Path) -> None:
    root = _copy(tmp_path)
    opt = root / "workbench" / "optimizers"
    for here, there in (("llambo", "optoprime"), ("optoprime", "llambo")):
        init = opt / here / "__init__.py"
        init.write_text(
            init.read_text() + f"\n\ndef _planted():\n    import workbench.optimizers.{there}\n"
        )
    proc = _lint(root)
    assert proc.returncode == 1, proc.stdout
    assert "No cycles are allowed in workbench.optimizers" in proc.stdout
