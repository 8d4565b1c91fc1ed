"""bench/mpi.py: each method's task (the same FunCoder, the same LLM-call budget), and the
per-method and paired summary (issue 17)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import pytest

from workbench.optimizers import make_optimizer
from workbench.tasks import RunContext, build_task, parse_task_data
from workbench.tasks.mpi import library_dir
from workbench.tasks.workflow import load_module

ROOT = Path(__file__).resolve().parents[2]
BENCH = load_module(ROOT / "bench" / "mpi.py")
LLM = {"model": "endpoint:m", "base_url": "http://127.0.0.1:9/v1"}


def args(**over: Any) -> argparse.Namespace:
    base = {"seed": 3, "llm_calls": 9, "tuner_evaluations": 6, "wall_time_s": 900.0}
    return argparse.Namespace(**{**base, **over})


def test_both_methods_run_the_same_funcoder_at_the_same_call_budget() -> None:
    folder = str(library_dir() / "dense_gemm")
    alone = parse_task_data(BENCH.method_task("funcoder", folder, LLM, args()), ROOT)
    both = parse_task_data(BENCH.method_task("composed", folder, LLM, args()), ROOT)
    assert alone.optimizer.name == "funcoder" and alone.agents is None
    assert alone.budget.llm_calls == both.budget.llm_calls == 9
    assert alone.seed == both.seed == 3 and alone.llm.model == both.llm.model == "endpoint:m"
    assert both.agents is not None
    coder, tuner = both.agents
    assert coder.optimizer.settings == alone.optimizer.settings  # the same FunCoder
    assert coder.budget is not None and coder.budget.llm_calls == 9
    assert tuner.optimizer.name == "optuna" and tuner.budget is not None
    assert tuner.budget.evaluations == 6 and both.budget.evaluations == 9 + 6
    assert both.section.objective == "speed" and alone.section.objective == "pass_rate"
    assert {r.when: r.agent for r in both.routing.rules}["speed"] == "tuner"
    team: Any = make_optimizer(*both.proposer(), RunContext(task=build_task(both), seed=0))
    assert team.owned == {"coder": ["code"], "tuner": ["knobs"]}
    with pytest.raises(ValueError, match="unknown method"):
        BENCH.method_task("nobody", folder, LLM, args())


def row(method: str, problem: str, passed: bool, speedup: float, **over: Any) -> dict[str, Any]:
    held = {"passed": True, "speedup_2": speedup * 0.9} if passed else None
    return {
        "method": method,
        "problem": problem,
        "passed": passed,
        "stage": None if passed else over.pop("stage", "correctness"),
        "speedup_2": speedup if passed else 0.0,
        "held_out": held,
        "llm_calls": 9,
        "prompt_tokens": 1000,
        "completion_tokens": 200,
        "wall_s": 60.0,
        **over,
    }


def test_the_summary_counts_passes_stages_speedups_and_pairs_the_problems() -> None:
    rows = [
        row("funcoder", "a", True, 1.2),
        row("funcoder", "b", False, 0, stage="build"),
        row("funcoder", "c", False, 0, stage="smoke"),
        row("funcoder", "d", False, 0, stage="smoke"),
        row("composed", "a", True, 1.6),
        row("composed", "b", True, 1.4),
        row("composed", "c", True, 1.0),
        row("composed", "d", False, 0, stage="run"),
    ]
    out = BENCH.summarize(rows, ["funcoder", "composed"])
    alone, both = out["methods"]["funcoder"], out["methods"]["composed"]
    assert (alone["passed"], both["passed"]) == (1, 3)
    assert alone["first_failing_stage"] == {"build": 1, "smoke": 2}
    assert both["first_failing_stage"] == {"run": 1}
    assert both["speedup_2@1"] == pytest.approx((1.6 + 1.4 + 1.0 + 0) / 4)  # failed: 0
    assert both["median_speedup_2_passing"] == pytest.approx(1.4)
    assert both["median_speedup_2_held_out_size"] == pytest.approx(1.4 * 0.9)
    assert (both["llm_calls"], both["tokens"], both["wall_s"]) == (36, 4800, 240.0)
    assert out["paired"] == {
        "problems": 4,
        "composed_only": 2,
        "funcoder_only": 0,
        "sign_test_p": pytest.approx(0.5),
    }
    BENCH.table(out)  # renders


class Box:
    """A stand-in sandbox: only whether it was closed matters here."""

    def __init__(self) -> None:
        self.closed = False

    def close(self) -> None:
        self.closed = True


def test_a_sandbox_failure_is_judged_once_more_on_a_fresh_sandbox() -> None:
    from workbench.bench.server import on_sandbox
    from workbench.errors import SandboxFailure

    box, made = Box(), []

    def fresh() -> Any:
        made.append(Box())
        return made[-1]

    def flaky(sandbox: Any) -> str:
        if sandbox is box:
            raise SandboxFailure("the container went away")
        return "judged"

    assert on_sandbox(box, flaky, fresh) == ("judged", None)  # type: ignore[arg-type]
    assert len(made) == 1 and made[0].closed and not box.closed  # the bench's box stays open

    def broken(sandbox: Any) -> str:
        raise SandboxFailure("no docker")

    assert on_sandbox(box, broken, fresh) == (None, "SandboxFailure: no docker")  # type: ignore[arg-type]
    assert len(made) == 2 and made[1].closed

    def wrong(sandbox: Any) -> str:
        raise ValueError("a bug is not retried")

    with pytest.raises(ValueError):
        on_sandbox(box, wrong, fresh)  # type: ignore[arg-type]
    assert len(made) == 2
