"""`pgtd` against the real test model (marker `llm`; smollm2 in CI): structure, not quality."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.optimizers.codegen.real_model_run import optimize_on_real_model
from workbench.llm import LLMClient
from workbench.optimizers import RunContext
from workbench.optimizers.codegen.pgtd.optimizer import PGTDOptimizer
from workbench.optimizers.codegen.pgtd.prompts import PROMPT_VERSION
from workbench.sandbox import LocalSandbox
from workbench.tasks.code import problem_from_dict
from workbench.tasks.code.kind import CodeTask

pytestmark = pytest.mark.llm

PROBLEM: dict[str, Any] = {
    "task_id": "tiny/add",
    "entry_point": "add",
    "prompt": 'def add(a: int, b: int) -> int:\n    """Return the sum of a and b."""\n',
    "public_tests": [{"input": [1, 2], "output": 3}, {"input": [5, 7], "output": 12}],
    "hidden_tests": ["assert add(-1, 1) == 0"],
}


def test_pgtd_completes_a_tiny_problem_within_its_call_budget(
    make_llm_client: Callable[..., LLMClient], local_sandbox: LocalSandbox
) -> None:
    llm = make_llm_client(cache=False)
    task = CodeTask("tiny-add", problem_from_dict(PROBLEM))
    ctx = RunContext(task=task, make_llm=lambda **_: llm)
    opt = PGTDOptimizer(
        ctx, {"max_calls": 20, "horizon": 48, "early_stop": None}, sandbox=local_sandbox
    )
    proposed, batches = [], []
    for _ in range(30):
        got = opt.propose(4)
        if not got:
            break
        proposed += got
        batches.append([c.meta["public_reward"] for c in got])
    assert opt.search is not None
    counters = opt.search.counters
    assert opt.stopped in ("calls", "exhausted")
    assert 1 <= counters.model_calls <= 20
    assert llm.usage.calls == counters.model_calls  # every model call went through the client
    assert counters.topk_calls >= 1 and counters.rollout_calls >= 1
    assert opt.template == "server" and opt.eos_ids  # the model's own template and EOS ids
    assert proposed and len({c.id for c in proposed}) == len(proposed)
    for cand in proposed:
        assert cand.payload["language"] == "python"
        assert cand.payload["code"].startswith(PROBLEM["prompt"])  # the prefilled signature
        assert 0.0 <= cand.meta["public_reward"] <= 1.0
        assert cand.meta["prompt_version"] == PROMPT_VERSION
    assert all(b == sorted(b, reverse=True) for b in batches)  # best public reward first
    json.dumps(opt.state())


def test_workbench_optimize_runs_pgtd_on_a_code_task(
    llm_base_url: str, llm_model: str, tmp_path: Path
) -> None:
    task = {
        "name": "pgtd-tiny-add",
        "kind": "code",
        "llm": {"model": f"endpoint:{llm_model}", "base_url": llm_base_url, "cache": False},
        "optimizer": {"name": "pgtd", "settings": {"max_calls": 12, "horizon": 32}},
        "sandbox": {"backend": "local"},
        "budget": {"iterations": 3, "llm_calls": 12},
        "parallel": 2,
        "seed": 0,
        "code": {"problem": {k: v for k, v in PROBLEM.items() if k != "task_id"}},
    }
    summary, log = optimize_on_real_model(tmp_path, task)
    calls, proposals = log.get("llm_call", []), log.get("proposal", [])
    evaluations = log.get("evaluation", [])
    assert 1 <= len(calls) <= 12
    assert all(e["kind"] == "complete" for e in calls)
    assert proposals and all(p["meta"]["prompt_version"] == PROMPT_VERSION for p in proposals)
    assert len(evaluations) == len(proposals)
    assert all("public_pass_rate" in e["scores"] for e in evaluations if e["status"] == "ok")
    assert summary["optimizer"] == "pgtd" and summary["finished"]
