"""bench/graph.py: each arm's task (same budget, its agents' parameters) and the paired summary."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import pytest

from workbench.tasks.workflow import load_module

BENCH = load_module(Path(__file__).resolve().parents[2] / "bench" / "graph.py")
LLM = {"model": "endpoint:m", "base_url": "http://127.0.0.1:9/v1"}


def args(**over: Any) -> argparse.Namespace:
    base = {"evaluations": 30, "llm_calls": 45, "temperature": 0.7, "max_tokens": 400}
    return argparse.Namespace(**{**base, **over})


def test_every_arm_has_the_same_budget_and_its_own_agents() -> None:
    tasks = {arm: BENCH.arm_task(arm, "digits", 1, LLM, args()) for arm in BENCH.ARMS}
    owned = {arm: {a.name: a.parameters for a in t.agents} for arm, t in tasks.items()}
    assert owned == {
        "both": {"coder": ["features"], "tuner": ["C", "gamma"]},
        "llambo": {"tuner": ["C", "gamma"]},
        "optoprime": {"coder": ["features", "C", "gamma"]},
    }
    for t in tasks.values():
        assert t.budget.evaluations == 30 and t.budget.llm_calls == 45 and t.seed == 1
        assert t.workflow.args == {"dataset": "digits", "split_name": "train"}
        assert (t.llm.model, t.llm.base_url) == (LLM["model"], LLM["base_url"])
        for a in t.agents:
            if a.name == "coder":
                assert a.optimizer.settings["temperatures"] == [0.7]
    assert [r.agent for r in tasks["both"].routing.rules] == ["coder"]
    assert tasks["both"].routing.policy == "gains"
    with pytest.raises(ValueError, match="unknown arm"):
        BENCH.arm_task("nobody", "wine", 0, LLM, args())


def test_the_summary_pairs_seeds_and_says_where_the_composition_leads() -> None:
    tests = {
        ("wine", "both"): [0.95, 0.93, 0.96],
        ("wine", "llambo"): [0.80, 0.78, 0.82],
        ("wine", "optoprime"): [0.90, 0.94, 0.91],
        ("digits", "both"): [0.97, 0.96, None],  # a run whose best failed on held-out data
        ("digits", "llambo"): [0.98, 0.97, 0.99],
        ("digits", "optoprime"): [0.50, 0.60, 0.70],
    }
    rows = [
        {"dataset": d, "arm": a, "seed": s, "test": v, "cv_best": v}
        for (d, a), values in tests.items()
        for s, v in enumerate(values)
    ]
    out = BENCH.summarize(rows, ["wine", "digits", "breast_cancer"], list(BENCH.ARMS))
    wine = out["datasets"]["wine"]
    assert wine["arms"]["both"]["mean_test"] == pytest.approx(0.9466666, 1e-5)
    versus = wine["both_minus"]["optoprime"]
    assert versus["diffs"] == pytest.approx([0.05, -0.01, 0.05])
    low, high = versus["ci95"]
    assert low < 0 < versus["mean"] < high  # three pairs: an interval that includes 0
    assert wine["both_best_mean"] is True
    digits = out["datasets"]["digits"]
    assert digits["both_minus"]["llambo"]["pairs"] == 2  # the missing held-out score is dropped
    assert digits["both_best_mean"] is False  # behind llambo
    assert "breast_cancer" not in out["datasets"]  # no runs yet
    assert out["both_best_mean_on"] == 1
    assert BENCH.interval([0.1]) is None


def test_the_code_arm_trains_on_train_and_scores_held_out_problems() -> None:
    a = args(code_evaluations=8, code_llm_calls=300)
    train, test = (BENCH.code_task(2, LLM, a, split) for split in ("train", "test"))
    assert train.workflow.args == {"split": "train"} and test.workflow.args == {"split": "test"}
    assert train.budget.evaluations == 8 and train.seed == 2 and train.sandbox.backend == "docker"
    assert [x.name for x in train.agents] == ["prompter", "selector"]


def test_the_code_summary_pairs_seeds_and_problems() -> None:
    def held(rate: float, problems: dict[str, float]) -> dict[str, Any]:
        return {
            "pass_rate": rate,
            "solved": sum(v == 1.0 for v in problems.values()),
            "problems": problems,
        }

    rows = [
        {
            "default_test": held(0.5, {"a": 1.0, "b": 0.0}),
            "learned_test": held(1.0, {"a": 1.0, "b": 1.0}),
        },
        {
            "default_test": held(0.5, {"a": 0.0, "b": 1.0}),
            "learned_test": held(0.75, {"a": 0.5, "b": 1.0}),
        },
        {"default_test": held(0.0, {"a": 0.0, "b": 0.0}), "learned_test": held(None, {})},  # type: ignore[arg-type]
    ]
    out = BENCH.code_summary(rows)
    assert out["seeds"] == 2  # the run without a held-out score is left out
    assert out["diff_mean"] == pytest.approx(0.375)
    assert (out["problem_wins"], out["problem_losses"]) == (2, 0)
    assert out["sign_test_p"] == pytest.approx(0.5)  # 2 of 2: p = 2 * 1/4
    assert BENCH.sign_test(0, 0) == 1.0 and BENCH.sign_test(10, 0) == pytest.approx(2 / 1024)
