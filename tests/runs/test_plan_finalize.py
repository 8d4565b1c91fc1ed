"""The loop's generic hooks: `Optimizer.plan()` before the run, `Optimizer.final_candidate`
and `Task.finalize` after it (summary.json, events.jsonl, report), defaults that change nothing.

A toy kind (``toy_square``: the score of ``{"x": x}`` is ``-(x - 3)**2``; its held-out result
is ``x * 10``) keeps these tests free of any real kind's behaviour.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict

from tests.agents.helpers import events, write_task
from workbench.contracts import Candidate, Evaluation
from workbench.optimizers import FunctionOptimizer
from workbench.runs import start_run, write_report
from workbench.tasks.base import RunContext, Task, register_kind


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")
    held_out: bool = True


class _Toy(Task):
    primary = "score"

    def __init__(self, held_out: bool) -> None:
        self.name = "toy"
        self.held_out = held_out
        self.finalized: list[str] = []

    def evaluate(self, candidate: Candidate, ctx: RunContext) -> Evaluation:
        x = float(candidate.payload["x"])
        return Evaluation(candidate.id, "ok", scores={"score": -((x - 3) ** 2)}, primary="score")

    def finalize(
        self, best: Candidate, evaluation: Evaluation | None, ctx: RunContext
    ) -> dict[str, Any] | None:
        if not self.held_out:
            return None
        assert evaluation is not None and evaluation.candidate_id == best.id
        return {"held_out": best.payload["x"] * 10, "seen_score": evaluation.score}


register_kind("toy_square", _Section, lambda tf: _Toy(tf.section.held_out))


class _Planned(FunctionOptimizer):
    """Proposes x = 0, 1, 2, ...; plans its 5 evaluations; may pick the first as final."""

    def __init__(self, pick_first: bool = False) -> None:
        super().__init__(lambda n, seen: [{"x": len(seen) + i} for i in range(n)])
        self.pick_first = pick_first

    def plan(self) -> dict[str, Any]:
        return {
            "summary": "5 evaluations, no model calls",
            "evaluations": 5,
            "seen": len(self.seen),
        }

    def final_candidate(self, best: Candidate | None) -> Candidate | None:
        if self.pick_first:
            return Candidate(id="f00000", payload={"x": 0})
        return best


def _task(tmp: Path, held_out: bool = True) -> Path:
    data = {
        "name": "toy",
        "kind": "toy_square",
        "budget": {"evaluations": 5},
        "toy_square": {"held_out": held_out},
    }
    return write_task(tmp, data)


def test_finalize_result_is_in_summary_events_and_report(tmp_path: Path) -> None:
    res = start_run(_task(tmp_path), tmp_path / "runs", optimizer=_Planned())
    final = res.summary["final"]
    assert final["id"] == res.summary["best"]["id"] == "f00003"  # x = 3 is the optimum
    assert final["held_out"] == 30 and final["seen_score"] == 0.0 and final["score"] == 0.0
    assert json.loads((res.run.path / "summary.json").read_text())["final"] == final
    evs = events(res.run.path)
    types = [e["type"] for e in evs]
    assert types.index("plan") < types.index("proposal")  # the plan is logged before any work
    assert types.index("final") > max(i for i, t in enumerate(types) if t == "evaluation")
    (final_event,) = [e for e in evs if e["type"] == "final"]
    assert final_event["held_out"] == 30
    assert res.summary["plan"]["seen"] == 5  # asked again at the end
    assert "held_out" in write_report(res.run).read_text()


def test_optimizer_chooses_the_finalized_candidate(tmp_path: Path) -> None:
    res = start_run(_task(tmp_path), tmp_path / "runs", optimizer=_Planned(pick_first=True))
    assert res.summary["best"]["id"] == "f00003"
    assert res.summary["final"]["id"] == "f00000" and res.summary["final"]["held_out"] == 0


def test_default_hooks_add_nothing(tmp_path: Path) -> None:
    opt = FunctionOptimizer(lambda n, seen: [{"x": len(seen) + i} for i in range(n)])
    res = start_run(_task(tmp_path, held_out=False), tmp_path / "runs", optimizer=opt)
    assert res.summary["final"] is None and res.summary["plan"] is None
    assert res.summary["task_llm"] is None
    assert not {"plan", "final"} & {e["type"] for e in events(res.run.path)}


def test_resuming_a_finished_run_does_not_finalize_twice(tmp_path: Path) -> None:
    from workbench.runs import resume_run

    res = start_run(_task(tmp_path), tmp_path / "runs", optimizer=_Planned())
    again = resume_run(res.run, optimizer=_Planned())
    assert again.summary["final"] == res.summary["final"]
    assert [e["type"] for e in events(res.run.path)].count("final") == 1
