"""The contract every `Optimizer` keeps, as a pytest suite (``optuna.testing.pytest_samplers``).

Subclass `OptimizerTestCase` and provide an ``optimizer_case`` fixture returning an
`OptimizerCase` (parametrize it to run the suite over many optimizers)::

    import pytest
    from workbench.testing.optimizers import OptimizerCase
    from workbench.testing.pytest_optimizers import OptimizerTestCase

    @pytest.fixture
    def optimizer_case() -> OptimizerCase:
        return OptimizerCase("mine", make_task=my_task, script=my_model, build=MyOptimizer)

    class TestMyOptimizer(OptimizerTestCase):
        pass

What it checks (`Optimizer` in `workbench/optimizers/base.py` states the contract):

- `propose(n)` returns at most `n` candidates, ids unique across calls, each JSON that
  `Candidate.from_dict` turns back into the same candidate;
- two instances of a case propose the same (the checks below compare twins);
- `observe` is idempotent: the same evaluations twice give the state and the next proposals
  that observing them once gives;
- `state()` is JSON, and `load_state` of it (round-tripped through JSON text) into a fresh
  instance in the same run folder proposes what the original would have, with new ids, whether
  it was saved after `propose` (evaluations pending) or after `observe` (the loop saves both);
- with a budget of k model calls no more than k calls reach the model, and running out ends
  `propose` with `BudgetExceeded` or an empty list, never another exception;
- `plan()` is None or a JSON dict.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from workbench.contracts import Candidate
from workbench.errors import BudgetExceeded
from workbench.llm import Budget
from workbench.testing.optimizers import OptimizerCase, Subject, json_problem, open_subject

__all__ = ["OptimizerTestCase"]

BUDGET_STEPS = 8
"""Steps the budget check runs at most, looking for the end of the budget."""


def _payloads(candidates: list[Candidate]) -> list[dict[str, Any]]:
    return [c.payload for c in candidates]


def _twins(case: OptimizerCase, tmp_path: Path) -> tuple[Subject, Subject]:
    return open_subject(case, tmp_path / "a"), open_subject(case, tmp_path / "b")


class OptimizerTestCase:
    """The contract suite; a subclass provides the ``optimizer_case`` fixture."""

    def test_propose_returns_at_most_n_candidates_with_new_ids(
        self, optimizer_case: OptimizerCase, tmp_path: Path
    ) -> None:
        """Asked for 0, 1, n, n + 1 and 0 candidates, `propose` returns at most that many,
        as `Candidate` objects whose ids were never proposed before."""
        subject = open_subject(optimizer_case, tmp_path)
        try:
            seen: set[str] = set()
            n = optimizer_case.n
            for ask in (0, 1, n, n + 1, 0):
                out = subject.step(ask)
                assert len(out) <= ask, f"propose({ask}) returned {len(out)} candidates"
                assert all(isinstance(c, Candidate) for c in out)
                ids = [c.id for c in out]
                assert len(set(ids)) == len(ids), f"duplicate ids in one proposal: {ids}"
                assert not seen & set(ids), f"ids proposed again: {sorted(seen & set(ids))}"
                seen |= set(ids)
        finally:
            subject.close()

    def test_candidates_round_trip_through_json(
        self, optimizer_case: OptimizerCase, tmp_path: Path
    ) -> None:
        """Every candidate's `to_dict()` is JSON whose `from_dict` is the candidate again."""
        subject = open_subject(optimizer_case, tmp_path)
        try:
            for _ in range(optimizer_case.warmup + 1):
                out = subject.step()
                for c in out:
                    data = c.to_dict()
                    assert json_problem(data) is None, f"{c.id}: {json_problem(data)}"
                    assert Candidate.from_dict(json.loads(json.dumps(data))) == c
                if not out:
                    break
        finally:
            subject.close()

    def test_same_case_proposes_the_same(
        self, optimizer_case: OptimizerCase, tmp_path: Path
    ) -> None:
        """Two instances (same task, seed and scripted model) propose the same payloads.

        The checks below compare twins, so this is their premise; a resumed run proposing
        what the unbroken one would have needs it too.
        """
        a, b = _twins(optimizer_case, tmp_path)
        try:
            for _ in range(optimizer_case.warmup + 1):
                pa, pb = _payloads(a.step()), _payloads(b.step())
                assert pa == pb
                if not pa:
                    break
        finally:
            a.close()
            b.close()

    def test_observe_is_idempotent(self, optimizer_case: OptimizerCase, tmp_path: Path) -> None:
        """Observing a step's evaluations twice leaves the state and the next proposals that
        observing them once leaves (a step re-run after a crash observes again)."""
        a, b = _twins(optimizer_case, tmp_path)
        try:
            a.warm_up()
            b.warm_up()
            ca, cb = a.propose(optimizer_case.n), b.propose(optimizer_case.n)
            if not ca:
                pytest.skip(f"{optimizer_case.name} stopped during the warm-up; nothing to observe")
            evals = a.evaluate(ca)
            a.optimizer.observe(evals)
            once = a.state_text()
            a.optimizer.observe(evals)
            assert a.state_text() == once, "state() changed when the evaluations came again"
            b.optimizer.observe(b.evaluate(cb))
            assert _payloads(a.propose(optimizer_case.n)) == _payloads(b.propose(optimizer_case.n))
        finally:
            a.close()
            b.close()

    def test_state_is_json(self, optimizer_case: OptimizerCase, tmp_path: Path) -> None:
        """`state()` is JSON before any step, with evaluations pending and after observing."""
        subject = open_subject(optimizer_case, tmp_path)
        try:
            assert json_problem(subject.optimizer.state()) is None, "fresh"
            subject.warm_up()
            assert json_problem(subject.optimizer.state()) is None, "after the warm-up"
            out = subject.propose(optimizer_case.n)
            state = subject.optimizer.state()
            assert json_problem(state) is None, f"pending: {json_problem(state)}"
            subject.optimizer.observe(subject.evaluate(out))
            state = subject.optimizer.state()
            assert json_problem(state) is None, f"observed: {json_problem(state)}"
        finally:
            subject.close()

    @pytest.mark.parametrize("saved", ["after_propose", "after_observe"])
    def test_load_state_resumes_where_the_original_was(
        self, optimizer_case: OptimizerCase, tmp_path: Path, saved: str
    ) -> None:
        """A fresh instance in the same run folder, given the state (through JSON text),
        proposes what the original goes on to propose for two steps, under ids not used
        before the save."""
        case = optimizer_case
        original, b = _twins(case, tmp_path)
        fresh: Subject | None = None
        try:
            original.warm_up()
            b.warm_up()
            ca, cb = original.propose(case.n), b.propose(case.n)
            if saved == "after_observe":
                original.optimizer.observe(original.evaluate(ca))
                b.optimizer.observe(b.evaluate(cb))
            text = json.dumps(b.optimizer.state())
            used = set(b.proposed)
            b.close()
            fresh = open_subject(case, tmp_path / "b")
            fresh.optimizer.load_state(json.loads(text))
            if saved == "after_propose":  # the loop evaluates the pending ones after a resume
                original.optimizer.observe(original.evaluate(ca))
                fresh.optimizer.observe(fresh.evaluate(cb))
            for step in range(2):
                want, got = original.step(), fresh.step()
                assert _payloads(got) == _payloads(want), f"step {step} after the resume"
                assert not used & {c.id for c in got}, "a resumed instance reused an id"
        finally:
            original.close()
            (fresh or b).close()

    @pytest.mark.parametrize("calls", [0, 1, 3])
    def test_budget_is_respected(
        self, optimizer_case: OptimizerCase, tmp_path: Path, calls: int
    ) -> None:
        """With a budget of `calls` model calls, no more reach the model, and a `propose`
        that runs out ends with `BudgetExceeded` or an empty list (and so does the next)."""
        subject = open_subject(optimizer_case, tmp_path, Budget(calls=calls))
        ended = False
        try:
            for _ in range(BUDGET_STEPS):
                try:
                    out = subject.step()
                except BudgetExceeded:
                    out = []
                assert subject.calls <= calls, f"{subject.calls} calls on a budget of {calls}"
                if not out:
                    ended = True
                    break
            if ended:  # the loop stops here; one more ask must not go on either
                try:
                    assert subject.step() == [], "proposed again after running out"
                except BudgetExceeded:
                    pass
                assert subject.calls <= calls, f"{subject.calls} calls on a budget of {calls}"
        finally:
            subject.close()

    def test_plan_is_none_or_a_json_dict(
        self, optimizer_case: OptimizerCase, tmp_path: Path
    ) -> None:
        """`plan()` is None or a JSON dict, before the run and after a few steps."""
        subject = open_subject(optimizer_case, tmp_path)

        def check(when: str) -> None:
            plan = subject.optimizer.plan()
            assert plan is None or isinstance(plan, dict), f"{when}: {type(plan).__name__}"
            assert json_problem(plan) is None, f"{when}: {json_problem(plan)}"

        try:
            check("before the run")
            subject.warm_up()
            check("after the warm-up")
        finally:
            subject.close()
