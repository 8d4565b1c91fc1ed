"""Every ``evaluation`` event says which sandbox backend ran it (None: nothing ran in one)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.agents.helpers import events, hpo_task, write_task
from workbench.runs import start_run

SCORE = "import json\np = json.load(open('params.json'))\nprint(-(p['x'] - 0.5) ** 2)\n"
OBJECTIVE = "def objective(params):\n    return -abs(params['x'] - 0.5)\n"


def _command_task(tmp_path: Path, sandbox: dict[str, Any]) -> Path:
    (tmp_path / "score.py").write_text(SCORE)
    data = hpo_task("backend", budget={"evaluations": 3}, sandbox=sandbox)
    data["hpo"].pop("objective")
    data["hpo"].update(command=["python3", "score.py"], files=["score.py"])
    return write_task(tmp_path, data)


def _backends(tmp_path: Path, task: Path) -> list[Any]:
    result = start_run(task, tmp_path / "runs")
    evaluations = [e for e in events(result.run.path) if e["type"] == "evaluation"]
    assert len(evaluations) == 3 and all(e["status"] == "ok" for e in evaluations)
    return [e["backend"] for e in evaluations]


def test_a_local_run_says_local(tmp_path: Path) -> None:
    assert _backends(tmp_path, _command_task(tmp_path, {"backend": "local"})) == ["local"] * 3


def test_an_in_process_objective_says_none(tmp_path: Path) -> None:
    (tmp_path / "obj.py").write_text(OBJECTIVE)
    task = write_task(tmp_path, hpo_task("none", budget={"evaluations": 3}))
    assert _backends(tmp_path, task) == [None] * 3


@pytest.mark.docker
def test_a_docker_run_says_docker(tmp_path: Path, docker_sandbox: Any) -> None:
    task = _command_task(tmp_path, {"backend": "docker", "pool_size": 1})
    assert _backends(tmp_path, task) == ["docker"] * 3


@pytest.mark.docker
def test_auto_runs_in_docker_and_says_so(tmp_path: Path, docker_sandbox: Any) -> None:
    task = _command_task(tmp_path, {"backend": "auto", "pool_size": 1})
    assert _backends(tmp_path, task) == ["docker"] * 3
