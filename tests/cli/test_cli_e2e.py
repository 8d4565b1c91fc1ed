"""`workbench optimize` end to end on shipped task files: run folder, report, a real best."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import yaml

from tests.agents.helpers import REPO, cli, events, run_dirs
from workbench.contracts import better


@pytest.mark.slow
@pytest.mark.parametrize("task", ["tasks/hpo/svm_wine.yaml", "tasks/hpo/dt_diabetes.yaml"])
def test_optimize_shipped_task_runs_to_budget_and_beats_random_start(
    task: str, tmp_path: Path
) -> None:
    spec = yaml.safe_load((REPO / task).read_text())
    budget = spec["budget"]["evaluations"]
    n_start = spec["optimizer"]["settings"].get("n_startup_trials", 5)
    direction = spec["hpo"].get("direction", "maximize")

    assert cli(["optimize", str(REPO / task), "--runs-dir", str(tmp_path)]) == 0

    (run,) = run_dirs(tmp_path)
    for name in (
        "task.yaml",
        "events.jsonl",
        "checkpoints.sqlite",
        "best.json",
        "summary.json",
        "report.html",
        "store.sqlite",
    ):
        assert (run / name).is_file(), name
    summary = json.loads((run / "summary.json").read_text())
    assert summary["evaluations"] == budget
    assert summary["stop_reason"] == "budget:evaluations"
    evals = [e for e in events(run) if e["type"] == "evaluation"]
    assert len(evals) == budget
    scores = [e["score"] for e in evals]
    assert all(s is not None and math.isfinite(s) for s in scores)
    # the best reported is the true optimum of what was evaluated, in the task's direction
    pick = max if direction == "maximize" else min
    assert summary["best"]["score"] == pick(scores)
    best = json.loads((run / "best.json").read_text())
    assert best["score"] == summary["best"]["score"] and best["payload"]["params"]
    # and at least as good as the best of the seeded random start
    assert not better(pick(scores[:n_start]), summary["best"]["score"], direction)
    html = (run / "report.html").read_text()
    assert "<svg" in html and summary["best"]["id"] in html
    # `runs show` and `report` work on the finished run by name
    assert cli(["runs", "show", run.name, "--runs-dir", str(tmp_path)]) == 0
    assert cli(["report", "latest", "--runs-dir", str(tmp_path)]) == 0


@pytest.mark.slow
def test_tpe_beats_its_random_start_on_svm_wine(tmp_path: Path) -> None:
    """The model phase of a seeded TPE run finds a strictly better point than its 5 random ones."""
    assert (
        cli(["optimize", str(REPO / "tasks/hpo/svm_wine.yaml"), "--runs-dir", str(tmp_path)]) == 0
    )
    (run,) = run_dirs(tmp_path)
    scores = [e["score"] for e in events(run) if e["type"] == "evaluation"]
    assert max(scores[5:]) > max(scores[:5])


@pytest.mark.parametrize(
    "task",
    [
        "tasks/hpo/quickstart.yaml",
        *sorted(f"tasks/hpo/{p.name}" for p in (REPO / "tasks/hpo").glob("*.yaml")),
    ],
)
def test_every_shipped_task_validates(task: str) -> None:
    assert cli(["validate", str(REPO / task)]) == 0


@pytest.mark.slow
def test_quickstart_finishes_its_evaluations_within_its_wall_budget(tmp_path: Path) -> None:
    """tasks/hpo/quickstart.yaml caps itself at 110 s; on 2 cores it runs all 40 evaluations."""
    assert (
        cli(["optimize", str(REPO / "tasks/hpo/quickstart.yaml"), "--runs-dir", str(tmp_path)]) == 0
    )
    (run,) = run_dirs(tmp_path)
    summary = json.loads((run / "summary.json").read_text())
    assert summary["stop_reason"] in ("budget:evaluations", "target")
    assert summary["elapsed_s"] < 110
