"""Integration on the embedded test model (marker `llm`): a short LLAMBO study on DT/wine
(`workbench optimize` in a subprocess) is killed mid-run, resumed, finishes, and keeps its
trials in the Optuna storage. Structure only: the CI model (smollm2) is far too small for
quality assertions."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import optuna
import pytest
import yaml

from tests.optimizers.llambo.helpers import REPO, SUITE
from workbench.llm import LLMClient
from workbench.optimizers.llambo import PROMPT_VERSION, check_config
from workbench.runs import resume_run
from workbench.tasks import load_task_file

pytestmark = pytest.mark.llm
BUDGET = 6


def _task(tmp_path: Path, llm: dict[str, Any]) -> Path:
    data = yaml.safe_load((SUITE / "dt-wine.yaml").read_text())
    data["budget"] = {"evaluations": BUDGET}
    data["llm"] = llm
    data["optimizer"]["settings"] = {
        "warm_start": 2,
        "n_candidates": 2,
        "n_samples": 1,  # exercise LLAMBO's LLM surrogate too
    }
    path = tmp_path / "dt-wine-short.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def _events(run: Path) -> list[dict[str, Any]]:
    path = run / "events.jsonl"
    if not path.is_file():
        return []
    lines = path.read_text().splitlines()
    return [json.loads(line) for line in lines if line.endswith("}")]


def _n_evals(runs: Path) -> int:
    counts = [
        e.get("n_evals", 0) for run in runs.glob("*") for e in _events(run) if e["type"] == "step"
    ]
    return max(counts, default=0)


def test_short_study_is_killed_resumed_and_stores_its_trials(
    tmp_path: Path, llm_base_url: str, llm_model: str, make_llm_client: Callable[..., LLMClient]
) -> None:
    llm = {"model": f"endpoint:{llm_model}", "base_url": llm_base_url, "cache": False}
    task = _task(tmp_path, llm)
    runs = tmp_path / "runs"
    code = "import sys; from workbench.cli import main; main(sys.argv[1:])"
    proc = subprocess.Popen(
        [sys.executable, "-c", code, "optimize", str(task), "--runs-dir", str(runs)],
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 300
    while _n_evals(runs) < 3 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.2)
    proc.kill()
    proc.wait()
    assert 3 <= _n_evals(runs) < BUDGET, "the run must be killed mid-way"
    (run,) = runs.iterdir()

    result = resume_run(run, make_llm=make_llm_client)
    assert result.summary["evaluations"] == BUDGET

    storage = f"sqlite:///{run / 'optuna.sqlite'}"
    study = optuna.load_study(study_name=run.name, storage=storage)
    done = study.get_trials(states=(optuna.trial.TrialState.COMPLETE,))
    assert len(done) == BUDGET
    space = load_task_file(task).section.space
    keys = [json.dumps(t.params, sort_keys=True) for t in done]
    assert len(set(keys)) == BUDGET  # nothing evaluated twice, across the kill
    for t in done:  # every stored configuration is a valid point of the space
        assert check_config(dict(t.params), space)[1] is None

    events = _events(run)
    calls = [e for e in events if e["type"] == "llm_call"]
    proposals = [e for e in events if e["type"] == "proposal"]
    assert calls and all(e["meta"]["prompt_version"] == PROMPT_VERSION for e in proposals)
    assert all(e["meta"]["step_llm_calls"] <= 5 for e in proposals)
    assert {e["meta"]["source"] for e in proposals} <= {"warm", "llm", "numerical"}
