"""Each prompt optimizer end to end through ``workbench optimize`` on a real (tiny) model: one
BBH task, 4 validation examples, a budget of 3 validation evaluations, short answers. Asserts
plumbing, not quality: the plan is printed first, the run finishes, the projected calls equal
the calls logged (task model and optimizer model), val/test accuracy are reported."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
from typer.testing import CliRunner

from workbench.cli import app

pytestmark = pytest.mark.llm

CASES = {
    "ape": ("ape", "{demos: 2, max_tokens: 40}"),
    "opro": ("opro", "{candidates_per_step: 2, demos: 1, max_tokens: 40}"),
    "protegi": (
        "protegi",
        "{beam: 1, gradients: 1, edits_per_gradient: 2, minibatch: 2, errors_shown: 1, "
        "max_tokens: 40}",
    ),
    "exemplars": ("exemplars", "{selector: random_search, k: 2, source: both}"),
    "ape_racing": ("ape", "{demos: 2, max_tokens: 40, racing: {examples: 10, screen: 2}}"),
    "joint_tpe": (
        "joint",
        "{instruction: ape, instruction_settings: {demos: 1}, search: tpe, sets: 3, budget: 2, "
        "exemplar_budget: 1, selector_settings: {k: 1}, max_tokens: 40}",
    ),
}


def _task(
    tmp: Path, optimizer: str, settings: str, model: str, base_url: str, evaluations: int = 3
) -> Path:
    path = tmp / "task.yaml"
    path.write_text(
        f"""
name: bbh-boolean
kind: prompt
llm: {{model: "endpoint:{model}", base_url: "{base_url}", concurrency: 2}}
optimizer: {{name: {optimizer}, settings: {settings}}}
budget: {{evaluations: {evaluations}}}
prompt:
  dataset: boolean_expressions
  split: {{train: 4, val: 4, test: 2, seed: 0}}
  instruction: Evaluate the expression. Answer True or False.
  max_tokens: 24
""",
        encoding="utf-8",
    )
    return path


@pytest.mark.parametrize("case", sorted(CASES))
def test_prompt_optimizer_runs_end_to_end(
    case: str, tmp_path: Path, llm_base_url: str, llm_model: str
) -> None:
    optimizer, settings = CASES[case]
    evaluations = 4 if "racing" in settings else 3  # racing: seed + 2 screens + 1 promotion
    path = _task(tmp_path, optimizer, settings, llm_model, llm_base_url, evaluations)
    runs = tmp_path / "runs"
    res = CliRunner().invoke(app, ["optimize", str(path), "--no-cache", "--runs-dir", str(runs)])
    assert res.exit_code == 0, res.output
    assert "plan: " in res.output and "projected calls:" in res.output
    (run,) = runs.iterdir()
    summary = json.loads((run / "summary.json").read_text())
    plan = summary["plan"]
    proj = plan.get("projection_with_pool") or plan
    events = [json.loads(x) for x in (run / "events.jsonl").read_text().splitlines()]
    calls = Counter(e["role"] for e in events if e["type"] == "llm_call")
    assert summary["evaluations"] == proj["val_evaluations"] + proj["report_evaluations"]
    assert calls["task"] == summary["task_llm"]["calls"] == proj["task_calls"]
    assert calls["optimizer"] == proj["optimizer_calls"]
    final = summary["final"]
    assert 0.0 <= final["val_accuracy"] <= 1.0 and 0.0 <= final["test_accuracy"] <= 1.0
    assert final["gap"] == pytest.approx(final["val_accuracy"] - final["test_accuracy"])
    assert final["test_size"] == 2
    if "racing" in settings:  # 4 (the seed) + 2 x 2 screened + 1 x 2 promoted
        assert proj["val_examples"] == 10 and proj["task_calls"] == 10 + 2
