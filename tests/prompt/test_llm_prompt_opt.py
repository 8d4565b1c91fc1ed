"""Each prompt optimizer end to end on a real (tiny) model: one BBH task, 4 validation
examples, a budget of 3 validation evaluations, short answers. Asserts plumbing, not quality:
the run finishes, the projected calls equal the calls made, val/test accuracy are reported."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from workbench.optimizers.prompt import run_prompt

pytestmark = pytest.mark.llm

CASES = {
    "ape": ("ape", "{demos: 2, max_tokens: 40}"),
    "opro": ("opro", "{candidates_per_step: 2, demos: 1, max_tokens: 40}"),
    "protegi": (
        "protegi",
        "{beam: 1, gradients: 1, edits_per_gradient: 2, minibatch: 2, errors_shown: 1, "
        "max_tokens: 40}",
    ),
    "exemplars": ("exemplars_opt", "{selector: random_search, k: 2, source: both}"),
    "joint_tpe": (
        "joint",
        "{instruction: ape, instruction_settings: {demos: 1}, search: tpe, sets: 3, budget: 2, "
        "exemplar_budget: 1, selector_settings: {k: 1}, max_tokens: 40}",
    ),
}


def _task(tmp: Path, optimizer: str, settings: str) -> Path:
    path = tmp / "task.yaml"
    path.write_text(
        f"""
name: bbh-boolean
kind: prompt
optimizer: {{name: {optimizer}, settings: {settings}}}
budget: {{evaluations: 3}}
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
    case: str, tmp_path: Path, make_llm_client: Callable[..., Any]
) -> None:
    optimizer, settings = CASES[case]
    task_client = make_llm_client(cache=False)

    def make_llm(budget: Any = None, on_call: Any = None) -> Any:
        return make_llm_client(budget=budget, on_call=on_call, cache=False)

    res = run_prompt(
        _task(tmp_path, optimizer, settings),
        tmp_path / "runs",
        make_llm=make_llm,
        task_client=task_client,
        use_cache=False,
    )
    block = res.prompt
    proj = block["projection_with_pool"] or block["projection"]
    assert res.run.summary["evaluations"] == proj["val_evaluations"] + proj["report_evaluations"]
    assert block["actual"]["task_calls"] == proj["task_calls"]
    assert block["actual"]["optimizer_calls"] == proj["optimizer_calls"]
    assert 0.0 <= block["val_accuracy"] <= 1.0 and 0.0 <= block["test_accuracy"] <= 1.0
    assert block["gap"] == pytest.approx(block["val_accuracy"] - block["test_accuracy"])
    summary = json.loads((res.run.run.path / "summary.json").read_text())
    assert summary["prompt"]["test_size"] == 2
    assert (res.run.run.path / "prompt.json").is_file()
