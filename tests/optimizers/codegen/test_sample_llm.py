"""`sample` end to end on the CI model (smollm2 via `make_llm_client`): plumbing, not quality."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.optimizers.codegen.real_model_run import run_on_real_model
from workbench.optimizers.codegen.sample.prompts import PROMPT_VERSION

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
    summary, events = run_on_real_model(tmp_path, TASK, make_llm_client, max_calls=4)
    proposals = [e for e in events if e["type"] == "proposal"]
    evaluations = [e for e in events if e["type"] == "evaluation"]
    # every proposal was evaluated and carries the prompt version
    assert proposals and len(evaluations) == len(proposals) == summary["evaluations"]
    assert all(p["meta"]["prompt_version"] == PROMPT_VERSION for p in proposals)
    assert all("public_pass_rate" in e["scores"] for e in evaluations)
    assert summary["stop_reason"] is not None
