"""Each shipped `tasks/mpi/*.yaml` generator task through `workbench optimize` with the real test
model (marker `llm`; smollm2 in CI) on a tiny MPI problem: budget respected, run dir written.
Structure, not quality: the tiny model is not expected to solve it."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.fixtures.needs import missing
from tests.optimizers.codegen.real_model_run import optimize_on_real_model
from tests.optimizers.codegen.scripted_mpi import tiny_problem
from workbench.optimizers.codegen.funcoder.prompts import PROMPT_VERSION_CPP as FUNCODER_CPP
from workbench.optimizers.codegen.pgtd.prompts import PROMPT_VERSION_CPP as PGTD_CPP
from workbench.optimizers.codegen.sample.prompts import PROMPT_VERSION_CPP as SAMPLE_CPP

pytestmark = [pytest.mark.llm, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[3]

CPP_PROMPTS = {"sample": SAMPLE_CPP, "funcoder": FUNCODER_CPP, "pgtd": PGTD_CPP}

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
    summary, log = optimize_on_real_model(tmp_path, task)
    llm_calls, proposals = log.get("llm_call", []), log.get("proposal", [])
    evaluations = log.get("evaluation", [])
    assert 1 <= len(llm_calls) <= calls
    # a tiny model may spend the budget before a whole program exists; otherwise it was judged
    assert proposals or summary["stop_reason"].startswith("budget")
    assert len(evaluations) == len(proposals)
    assert all(p["meta"]["prompt_version"] == CPP_PROMPTS[optimizer] for p in proposals)
    for e in evaluations:  # every program was judged by the MPI harness
        assert "np_pass_rate" in e["scores"] and 0.0 <= e["scores"]["np_pass_rate"] <= 1.0
    assert summary["optimizer"] == optimizer and summary["finished"]
