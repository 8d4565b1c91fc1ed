"""`funcoder` end to end on the CI model (smollm2 via `make_llm_client`): plumbing, not quality."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import workbench.agents.funcoder  # noqa: F401  (registers `funcoder`)
from workbench.agents.funcoder.prompts import PROMPT_VERSION
from workbench.runs import start_run

TASK = """
name: tiny-max
kind: code
sandbox: {backend: local}
optimizer:
  name: funcoder
  settings: {max_depth: 1, conquer_samples: 2, tests_per_function: 3, max_tokens: 128}
budget: {iterations: 2, llm_calls: 8}
stop: {target: 1.0}
code:
  problem:
    entry_point: biggest
    prompt: |
      def biggest(a: int, b: int) -> int:
          \"\"\"Return the larger of a and b.
          >>> biggest(2, 5)
          5
          \"\"\"
    hidden_tests: ["assert biggest(-1, -4) == -1"]
"""


@pytest.mark.llm
def test_funcoder_run_on_a_real_model(tmp_path: Path, make_llm_client: Callable[..., Any]) -> None:
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
    assert 1 <= summary["llm"]["calls"] <= 8  # the budget holds
    events = [json.loads(x) for x in (run / "events.jsonl").read_text().splitlines()]
    assert sum(e["type"] == "llm_call" for e in events) == summary["llm"]["calls"]
    proposals = [e for e in events if e["type"] == "proposal"]
    # smollm2 may never write usable code: then the run ends with the budget and no proposal
    if not proposals:
        assert summary["stop_reason"].startswith("budget")
        return
    assert all(p["meta"]["prompt_version"] == PROMPT_VERSION for p in proposals)
    assert all(p["meta"]["llm_calls"] <= 8 for p in proposals)
    evaluations = [e for e in events if e["type"] == "evaluation"]
    assert len(evaluations) == len(proposals)
