"""The `llambo` optimizer with a scripted model: validity, dedupe, fallback, budget, resume."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import optuna
import pytest

import workbench.optimizers.llambo  # noqa: F401  (registers `llambo`)
from tests.llambo.helpers import context, good_script, random_config, toy_objective
from workbench.contracts import Evaluation
from workbench.errors import BudgetExceeded
from workbench.llm import Budget, ScriptedLLM
from workbench.optimizers import make_optimizer
from workbench.optimizers.llambo import PROMPT_VERSION, config_text, expected_improvement


def _make(llm: ScriptedLLM) -> Any:
    return lambda **kw: llm


def _drive(opt: Any, steps: int, n: int = 1) -> list[Any]:
    """Propose/evaluate/observe `steps` times; returns every candidate."""
    out = []
    for _ in range(steps):
        cands = opt.propose(n)
        opt.observe(
            [Evaluation(c.id, "ok", {"score": toy_objective(c.payload["params"])}) for c in cands]
        )
        out += cands
    return out


def _keys(opt: Any) -> list[str]:
    trials = opt.study.get_trials(deepcopy=False)
    return [config_text(t.params, opt.space_specs) for t in trials if t.params]


def test_study_runs_with_warm_start_llm_steps_and_every_proposal_valid(tmp_path: Path) -> None:
    llm = ScriptedLLM(good_script())
    ctx = context(tmp_path, _make(llm))
    opt = make_optimizer("llambo", {"warm_start": 4}, ctx)
    cands = _drive(opt, 12)
    sources = [c.meta["source"] for c in cands]
    assert sources[:4] == ["warm"] * 4 and "llm" in sources[4:]
    space = ctx.task.search_space()
    for c in cands:
        assert c.meta["prompt_version"] == PROMPT_VERSION
        for name, spec in space.items():
            assert spec.check(c.payload["params"][name]) is None
    keys = _keys(opt)
    assert len(keys) == len(set(keys)) == 12
    complete = opt.study.get_trials(states=(optuna.trial.TrialState.COMPLETE,))
    assert len(complete) == 12 and (ctx.run_dir / "optuna.sqlite").is_file()
    assert opt.stats.warm_start == 4 and opt.stats.llm_proposals == 8
    opt.close()


def test_out_of_space_and_duplicates_are_rejected_reasked_then_fall_back(tmp_path: Path) -> None:
    seen_prompts: list[str] = []
    first: list[dict] = []

    def fn(request: Any) -> str:
        text = request.messages[-1]["content"]
        seen_prompts.append(text)
        if "No configuration has been evaluated yet" in text:
            first.extend(random_config(random.Random(i)) for i in range(3))
            return json.dumps({"configs": first})
        bad = dict(first[0], depth=99)  # outside the space
        return json.dumps({"configs": [first[1], bad]})  # first[1] is already evaluated

    llm = ScriptedLLM(fn)
    opt = make_optimizer("llambo", {"warm_start": 3}, context(tmp_path, _make(llm)))
    _drive(opt, 3)
    cands = _drive(opt, 1)
    assert cands[0].meta["source"] == "numerical"  # the fallback took the slot
    s = opt.stats
    assert (s.rejected_outside, s.rejected_duplicate, s.reasks, s.fallbacks) == (2, 2, 1, 1)
    assert "were rejected" in seen_prompts[-1] and "depth: outside" in seen_prompts[-1]
    keys = _keys(opt)
    assert len(keys) == len(set(keys))
    opt.close()


@pytest.mark.parametrize(
    "answer",
    [
        "not json at all",
        '{"configs": "nope"}',
        '{"configs": [{"lr": "x"}]}',
        '{"predictions": [1, 2]}',
        "",
        RuntimeError("connection reset"),
    ],
)
def test_malformed_answers_never_crash_a_study(tmp_path: Path, answer: Any) -> None:
    def fn(request: Any) -> str:
        if isinstance(answer, Exception):
            raise answer
        return answer

    llm = ScriptedLLM(fn)
    opt = make_optimizer("llambo", {"warm_start": 3}, context(tmp_path, _make(llm)))
    cands = _drive(opt, 6)
    assert len(cands) == 6
    assert {c.meta["source"] for c in cands} == {"numerical"}
    s = opt.stats
    assert s.parse_failures + s.call_errors >= 3
    assert s.fallbacks >= 1  # LLM slots that got no valid config went to TPE, counted
    keys = _keys(opt)
    assert len(keys) == len(set(keys)) == 6
    opt.close()


@pytest.mark.parametrize("limit", [5, 3])
def test_llm_calls_per_step_stay_within_the_budget(tmp_path: Path, limit: int) -> None:
    rng = random.Random(0)

    def fn(request: Any) -> str:  # always a duplicate-ridden or half-valid answer
        if rng.random() < 0.5:
            return '{"configs": [{"depth": 1000}]}'
        return good_script(rng.randrange(99))(request)

    llm = ScriptedLLM(fn)
    settings = {"warm_start": 3, "max_calls_per_step": limit, "n_samples": 4}
    opt = make_optimizer("llambo", settings, context(tmp_path, _make(llm)))
    per_step = []
    for _ in range(10):
        before = llm.usage.calls
        _drive(opt, 1, n=2)
        per_step.append(llm.usage.calls - before)
    assert max(per_step) <= limit and sum(per_step) > 0
    opt.close()


def test_batch_proposals_are_distinct(tmp_path: Path) -> None:
    llm = ScriptedLLM(good_script(3))
    opt = make_optimizer("llambo", {"warm_start": 3}, context(tmp_path, _make(llm)))
    _drive(opt, 1, n=3)
    cands = _drive(opt, 2, n=4)
    assert len(cands) == 8 and all(c.meta["source"] in ("llm", "numerical") for c in cands)
    keys = _keys(opt)
    assert len(keys) == len(set(keys)) == 11
    opt.close()


def test_tpe_share_grows_and_takes_over(tmp_path: Path) -> None:
    llm = ScriptedLLM(good_script())
    settings = {"warm_start": 3, "handover_start": 4, "handover_end": 6, "max_tpe_share": 1.0}
    opt = make_optimizer("llambo", settings, context(tmp_path, _make(llm)))
    shares = [opt.tpe_share(n) for n in range(10)]
    assert shares[:4] == [0.0] * 4 and shares[5] == 0.5 and shares[6:] == [1.0] * 4
    _drive(opt, 6)
    calls = llm.usage.calls
    late = _drive(opt, 4)
    assert llm.usage.calls == calls and {c.meta["source"] for c in late} == {"numerical"}
    opt.close()


def test_resume_from_state_continues_the_same_study(tmp_path: Path) -> None:
    llm = ScriptedLLM(good_script())
    ctx = context(tmp_path, _make(llm))
    first = make_optimizer("llambo", {"warm_start": 3}, ctx)
    _drive(first, 5)
    pending = first.propose(1)
    state = json.loads(json.dumps(first.state()))
    first.close()
    second = make_optimizer("llambo", {"warm_start": 3}, ctx)
    second.load_state(state)
    assert second.stats.llm_calls == state["stats"]["llm_calls"] > 0
    second.observe([Evaluation(pending[0].id, "ok", {"score": -1.0})])
    more = _drive(second, 2)
    assert all(c.meta["source"] != "warm" for c in more)  # the warm start is not replayed
    keys = _keys(second)
    assert len(keys) == len(set(keys)) == 8
    second.close()


def test_budget_exceeded_propagates_before_any_trial_is_asked(tmp_path: Path) -> None:
    llm = ScriptedLLM(good_script(), budget=Budget(calls=1))
    opt = make_optimizer("llambo", {"warm_start": 3}, context(tmp_path, _make(llm)))
    _drive(opt, 3)
    with pytest.raises(BudgetExceeded):
        opt.propose(1)
    running = opt.study.get_trials(states=(optuna.trial.TrialState.RUNNING,))
    assert running == []
    opt.close()


def test_expected_improvement_prefers_higher_mean_and_more_uncertainty() -> None:
    assert expected_improvement(1.0, 0.1, 0.5) > expected_improvement(0.6, 0.1, 0.5)
    assert expected_improvement(0.4, 0.5, 0.5) > expected_improvement(0.4, 0.1, 0.5)
    assert expected_improvement(0.4, 0.0, 0.5) == 0.0
