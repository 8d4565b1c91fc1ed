"""Each shipped `tasks/mpi/*.yaml` generator task through `workbench optimize` with the real test
model (marker `llm`; smollm2 in CI) on a tiny MPI problem: budget respected, run dir written.
Structure, not quality: the tiny model is not expected to solve it."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.agents.scripted_mpi import tiny_problem
from tests.fixtures.needs import missing
from tests.loop.helpers import cli, events, run_dirs

pytestmark = [pytest.mark.llm, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]

# shipped task -> (settings overrides for a 135M model on 1 thread, LLM-call budget)
CASES: dict[str, tuple[dict[str, Any], int]] = {
    "sample_dot_product.yaml": ({"max_tokens": 160}, 2),
    "funcoder_histogram.yaml": (
        {"max_tokens": 160, "max_depth": 0, "conquer_samples": 2},
        5,
    ),
    "pgtd_argmin.yaml": ({"max_calls": 6, "horizon": 48}, 6),
}


@pytest.mark.parametrize("shipped", sorted(CASES))
def test_shipped_mpi_task_runs_with_the_test_model(
    shipped: str, llm_base_url: str, llm_model: str, tmp_path: Path
) -> None:
    if shutil.which("mpicxx") is None or shutil.which("mpirun") is None:
        missing("host MPICH is not installed (apt-get install mpich libmpich-dev)")
    overrides, calls = CASES[shipped]
    task = yaml.safe_load((REPO / "tasks" / "mpi" / shipped).read_text())
    optimizer = task["optimizer"]["name"]
    task["llm"] = {"model": f"endpoint:{llm_model}", "base_url": llm_base_url, "cache": False}
    task["optimizer"]["settings"] = {**task["optimizer"].get("settings", {}), **overrides}
    task["budget"] = {"iterations": 3, "llm_calls": calls, "wall_time_s": 300}
    task["sandbox"] = {"backend": "local"}
    task["mpi"] = {"problem": "./tiny_dot"}
    tiny_problem(tmp_path)
    path = tmp_path / "task.yaml"
    path.write_text(yaml.safe_dump(task, sort_keys=False), encoding="utf-8")

    assert cli(["optimize", str(path), "--runs-dir", str(tmp_path / "runs")]) == 0

    (run,) = run_dirs(tmp_path / "runs")
    for name in ("events.jsonl", "summary.json", "store.sqlite"):
        assert (run / name).is_file(), name
    log = events(run)
    llm_calls = [e for e in log if e["type"] == "llm_call"]
    proposals = [e for e in log if e["type"] == "proposal"]
    evaluations = [e for e in log if e["type"] == "evaluation"]
    assert 1 <= len(llm_calls) <= calls
    summary = json.loads((run / "summary.json").read_text())
    # a tiny model may spend the budget before a whole program exists; otherwise it was judged
    assert proposals or summary["stop_reason"].startswith("budget")
    assert len(evaluations) == len(proposals)
    assert all(p["meta"]["prompt_version"].endswith("cpp-1") for p in proposals)
    for e in evaluations:  # every program was judged by the MPI harness
        assert "np_pass_rate" in e["scores"] and 0.0 <= e["scores"]["np_pass_rate"] <= 1.0
    assert summary["optimizer"] == optimizer and summary["finished"]
    assert summary["llm"]["calls"] == len(llm_calls) <= calls
