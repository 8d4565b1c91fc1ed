"""The `llambo` optimizer with a scripted model: validity, dedupe, fallback, budget, resume."""

from __future__ import annotations

import itertools
import json
import random
from pathlib import Path
from typing import Any

import optuna
import pytest

from tests.optimizers.llambo.helpers import context, good_script, random_config, toy_objective
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


def _row(config: dict) -> list:
    return list(config.values())


def test_out_of_space_and_duplicates_are_rejected_reasked_then_fall_back(tmp_path: Path) -> None:
    seen: list[list[dict]] = []
    first = [random_config(random.Random(i)) for i in range(3)]
    first[0]["drop"] = 0.5  # the upper bound: a clamped drop=0.9 row is then first[0] again

    def fn(request: Any) -> str:
        seen.append(list(request.messages))
        if "No configuration has been evaluated yet" in request.messages[1]["content"]:
            return json.dumps({"configs": [_row(c) for c in first]})
        bad = dict(first[0], drop=0.9)  # outside the space; clamped, it is first[0] again
        return json.dumps({"configs": [_row(first[1]), _row(bad)]})  # first[1]: evaluated

    llm = ScriptedLLM(fn)
    opt = make_optimizer("llambo", {"warm_start": 3}, context(tmp_path, _make(llm)))
    _drive(opt, 3)
    cands = _drive(opt, 1)
    assert cands[0].meta["source"] == "numerical"  # the fallback took the slot
    s = opt.stats
    assert (s.rejected_outside, s.rejected_duplicate, s.reasks, s.fallbacks) == (2, 2, 1, 1)
    ask, reask = seen[-2], seen[-1]
    assert reask[: len(ask)] == ask  # the re-ask continues the conversation (cached prefix)
    assert reask[-2]["role"] == "assistant" and "were rejected" in reask[-1]["content"]
    assert "drop: outside" in reask[-1]["content"] and "already evaluated" in reask[-1]["content"]
    assert s.clipped == 0
    why = cands[0].meta["step_rejections"]  # the run log says what was rejected, and why
    assert cands[0].meta["step_rejected"] == len(why) == 4
    assert sum("drop: outside" in w for w in why) == 2
    assert sum("already evaluated" in w for w in why) == 2
    keys = _keys(opt)
    assert len(keys) == len(set(keys))
    opt.close()


def test_rows_still_outside_after_the_reask_are_clamped_into_the_space(tmp_path: Path) -> None:
    first = [random_config(random.Random(i)) for i in range(3)]
    asked: list[int] = []

    def fn(request: Any) -> str:
        if "No configuration has been evaluated yet" in request.messages[1]["content"]:
            return json.dumps({"configs": [_row(c) for c in first]})
        asked.append(len(request.messages))
        return json.dumps({"configs": [_row(dict(first[0], depth=99, drop=-0.2))]})

    llm = ScriptedLLM(fn)
    settings = {"warm_start": 3, "clip_outside": True}
    opt = make_optimizer("llambo", settings, context(tmp_path, _make(llm)))
    _drive(opt, 3)
    (cand,) = _drive(opt, 1)
    assert asked == [2, 4]  # asked, then re-asked in the same conversation
    assert cand.meta["source"] == "llm"
    assert cand.payload["params"]["depth"] == 15 and cand.payload["params"]["drop"] == 0.0
    s = opt.stats
    assert (s.rejected_outside, s.reasks, s.clipped, s.fallbacks) == (2, 1, 1, 0)
    opt.close()


def test_prompts_only_grow_between_steps(tmp_path: Path) -> None:
    prompts: list[list[dict]] = []
    script = good_script(5)

    def fn(request: Any) -> str:
        prompts.append(list(request.messages))
        return script(request)

    llm = ScriptedLLM(fn)
    opt = make_optimizer("llambo", {"warm_start": 2}, context(tmp_path, _make(llm)))
    _drive(opt, 6)
    steps = [p for p in prompts if "Evaluated configurations" in p[1]["content"]]
    assert len(steps) >= 3
    for before, after in itertools.pairwise(steps):
        assert after[0] == before[0]  # the system message never changes
        history = before[1]["content"].split("\n\n")[0]
        assert after[1]["content"].startswith(history)  # rows are only appended
        assert len(after[1]["content"].split("\n\n")[0]) > len(history)
    assert steps[-1][1]["content"].count("\n[") == 5  # one row per observation
    opt.close()


def test_the_proposal_is_the_best_candidate_by_density_ratio(tmp_path: Path) -> None:
    """Of the rows the model offers, the one most like the best observations is evaluated."""
    near = {"lr": 2e-3, "drop": 0.05, "depth": 8, "act": "tanh"}
    far = {"lr": 9e-2, "drop": 0.49, "depth": 1, "act": "relu"}
    inits = [
        {"lr": 1e-3, "drop": 0.0, "depth": 7, "act": "tanh"},
        {"lr": 1e-5, "drop": 0.4, "depth": 14, "act": "relu"},
        {"lr": 5e-2, "drop": 0.3, "depth": 2, "act": None},
        {"lr": 2e-5, "drop": 0.45, "depth": 12, "act": "relu"},
    ]

    def fn(request: Any) -> str:
        return json.dumps({"configs": [_row(far), _row(near), _row(far | {"depth": 2})]})

    llm = ScriptedLLM(fn)
    opt = make_optimizer(
        "llambo", {"warm_start": 0, "warm_start_after_inits": 0}, context(tmp_path, _make(llm))
    )
    for config in inits:
        opt.study.enqueue_trial(config)
    _drive(opt, 4)
    cands = _drive(opt, 1)
    assert cands[0].meta["source"] == "llm"
    assert cands[0].payload["params"] == pytest.approx(near)
    assert llm.usage.calls == 1  # ranking costs no LLM call
    opt.close()


def test_a_cut_off_answer_is_salvaged_and_its_repair_call_counted(tmp_path: Path) -> None:
    good = [random_config(random.Random(i)) for i in range(3)]

    def fn(request: Any) -> str:
        if "No configuration" in request.messages[1]["content"]:
            return json.dumps({"configs": [_row(c) for c in good]})
        text = json.dumps({"configs": [_row(random_config(random.Random(9)))]})
        return text[:-2]  # cut off after the first row (max_tokens)

    llm = ScriptedLLM(fn)
    opt = make_optimizer("llambo", {"warm_start": 3}, context(tmp_path, _make(llm)))
    _drive(opt, 3)
    cands = _drive(opt, 1)
    assert cands[0].meta["source"] == "llm"  # the complete row was used
    assert llm.usage.parse_failures == 2  # the answer and the layer's repair both failed
    assert cands[0].meta["step_llm_calls"] == 2  # so the step spent two requests
    assert opt.stats.parse_failures == 1
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
    assert max(per_step) <= opt.stats.max_step_calls <= limit  # failed requests count too
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


def test_a_near_copy_of_an_observed_row_is_ranked_last(tmp_path: Path) -> None:
    best = {"lr": 1e-3, "drop": 0.0, "depth": 7, "act": "tanh"}
    copy = {"lr": 1.01e-3, "drop": 0.001, "depth": 7, "act": "tanh"}
    other = {"lr": 3e-3, "drop": 0.1, "depth": 9, "act": "tanh"}
    inits = [best, {"lr": 1e-5, "drop": 0.4, "depth": 14, "act": "relu"}]

    def fn(request: Any) -> str:
        return json.dumps({"configs": [_row(copy), _row(other)]})

    llm = ScriptedLLM(fn)
    opt = make_optimizer(
        "llambo", {"warm_start": 0, "warm_start_after_inits": 0}, context(tmp_path, _make(llm))
    )
    for config in inits:
        opt.study.enqueue_trial(config)
    _drive(opt, 2)
    (cand,) = _drive(opt, 1)
    assert cand.payload["params"] == pytest.approx(other)
    opt.close()


def test_after_consecutive_failed_steps_tpe_takes_over_without_llm_calls(tmp_path: Path) -> None:
    first = [random_config(random.Random(i)) for i in range(3)]

    def fn(request: Any) -> str:
        if "No configuration has been evaluated yet" in request.messages[1]["content"]:
            return json.dumps({"configs": [_row(c) for c in first]})
        return json.dumps({"configs": [_row(first[0])]})  # always a duplicate

    llm = ScriptedLLM(fn)
    settings = {"warm_start": 3, "max_failed_steps": 2}
    opt = make_optimizer("llambo", settings, context(tmp_path, _make(llm)))
    _drive(opt, 5)  # 3 warm starts, then 2 failed LLM steps
    calls = llm.usage.calls
    late = _drive(opt, 3)
    assert llm.usage.calls == calls and {c.meta["source"] for c in late} == {"numerical"}
    s = opt.stats
    assert (s.fallbacks, s.failed_streak, s.gave_up_slots) == (2, 2, 3)
    keys = _keys(opt)
    assert len(keys) == len(set(keys)) == 8
    opt.close()


def test_on_a_plateau_the_model_is_asked_to_leave_it_and_tpe_waits(tmp_path: Path) -> None:
    """Every row scores the same (a degenerate region): no target, the farthest row first, and
    TPE (nothing to model) takes no slot even after the hand-over."""
    inits = [
        {"lr": 1e-3, "drop": 0.4, "depth": 7, "act": "tanh"},
        {"lr": 2e-3, "drop": 0.45, "depth": 8, "act": "tanh"},
        {"lr": 1e-3, "drop": 0.5, "depth": 6, "act": "tanh"},
    ]
    asks: list[str] = []
    rng = random.Random(3)

    def fn(request: Any) -> str:
        asks.append(request.messages[-1]["content"])
        near = {"lr": 1.5e-3, "drop": 0.42, "depth": 7, "act": "tanh"}
        fresh = random_config(rng)
        return json.dumps({"configs": [_row(near), _row(fresh)]})

    llm = ScriptedLLM(fn)
    settings = {
        "warm_start": 0,
        "warm_start_after_inits": 0,
        "handover_start": 4,
        "handover_end": 5,
        "max_failed_steps": 0,
    }
    opt = make_optimizer("llambo", settings, context(tmp_path, _make(llm)))
    for config in inits:
        opt.study.enqueue_trial(config)
    flat = []
    for _ in range(6):
        cands = opt.propose(1)
        opt.observe([Evaluation(c.id, "ok", {"score": 0.25}) for c in cands])
        flat += cands
    later = flat[3:]
    assert [c.meta["source"] for c in later] == ["llm"] * 3  # past the hand-over, still the LLM
    assert all("stuck on a plateau" in a and "expect to reach" not in a for a in asks)
    assert "3 rows above share the best" in asks[0] and "6 rows above" not in asks[0]
    # the near row (first in every answer) loses to the row farthest from the observed
    assert later[0].payload["params"] != pytest.approx(
        {"lr": 1.5e-3, "drop": 0.42, "depth": 7, "act": "tanh"}
    )
    assert opt.stats.plateau_steps == 3
    opt.close()


def test_the_target_prompt_returns_once_the_plateau_is_left(tmp_path: Path) -> None:
    asks: list[str] = []

    def fn(request: Any) -> str:
        asks.append(request.messages[-1]["content"])
        return json.dumps({"configs": [_row(random_config(random.Random(len(asks))))]})

    llm = ScriptedLLM(fn)
    settings = {"warm_start": 0, "warm_start_after_inits": 0, "max_failed_steps": 0}
    opt = make_optimizer("llambo", settings, context(tmp_path, _make(llm)))
    for i in range(3):
        opt.study.enqueue_trial(random_config(random.Random(100 + i)))
    scores = iter([0.25, 0.25, 0.25, 0.75, 0.5])
    for _ in range(5):
        cands = opt.propose(1)
        opt.observe([Evaluation(c.id, "ok", {"score": next(scores)}) for c in cands])
    assert "stuck on a plateau" in asks[0]  # three rows tie at 0.25
    assert "expect to reach" in asks[1] and "plateau" not in asks[1]  # 0.75 leads alone
    assert opt.stats.plateau_steps == 1
    opt.close()
