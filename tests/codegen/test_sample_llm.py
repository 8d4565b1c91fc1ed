"""`sample` end to end on the CI model (smollm2 via `make_llm_client`): plumbing, not quality."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import workbench.agents.sample  # noqa: F401  (registers `sample`)
from workbench.agents.sample.prompts import PROMPT_VERSION
from workbench.runs import start_run

TASK = """
name: tiny-add
kind: code
sandbox: {backend: local}
optimizer: {name: sample, settings: {samples: 2, temperature: 0.7, max_tokens: 96}}
budget: {iterations: 3, llm_calls: 4}
parallel: 2
stop: {target: 1.0}
code:
  problem:
    entry_point: add
    prompt: |
      def add(a: int, b: int) -> int:
          \"\"\"Return a + b.\"\"\"
    public_tests: [{input: [1, 2], output: 3}]
    hidden_tests: ["assert add(-1, 1) == 0"]
"""


@pytest.mark.llm
def test_sample_run_on_a_real_model(tmp_path: Path, make_llm_client: Callable[..., Any]) -> None:
    (tmp_path / "t.yaml").write_text(TASK)
    result = start_run(
        tmp_path / "t.yaml",
        tmp_path / "runs",
        make_llm=lambda budget=None, on_call=None: make_llm_client(
            budget=budget, on_call=on_call, cache=False
        ),
    )
    run = result.run.path
    for name in ("task.yaml", "events.jsonl", "summary.json", "store.sqlite"):
        assert (run / name).is_file(), name
    summary = json.loads((run / "summary.json").read_text())
    assert 1 <= summary["llm"]["calls"] <= 4  # the budget holds
    events = [json.loads(x) for x in (run / "events.jsonl").read_text().splitlines()]
    assert sum(e["type"] == "llm_call" for e in events) == summary["llm"]["calls"]
    proposals = [e for e in events if e["type"] == "proposal"]
    evaluations = [e for e in events if e["type"] == "evaluation"]
    # every proposal was evaluated and carries the prompt version
    assert proposals and len(evaluations) == len(proposals) == summary["evaluations"]
    assert all(p["meta"]["prompt_version"] == PROMPT_VERSION for p in proposals)
    assert all("public_pass_rate" in e["scores"] for e in evaluations)
    assert summary["stop_reason"] is not None
