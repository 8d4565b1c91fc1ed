"""The `optoprime` optimizer on the loop, over a workflow task, with ScriptedLLM."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from workbench.contracts import Evaluation
from workbench.errors import ConfigError
from workbench.llm import ScriptedLLM
from workbench.optimizers import RunContext, SettingsError, make_optimizer
from workbench.tasks import load_task
from workbench.tasks.hpo import HpoSection, HpoTask

ROOT = Path(__file__).resolve().parents[3]
NUMERIC = ROOT / "tasks" / "workflow" / "numeric.yaml"


def numeric_script(step: float = 4.0) -> Any:
    """Moves x by `step` in the direction the feedback asks; remembers requests."""

    def fn(request: Any) -> str:
        fn.requests.append(request)  # type: ignore[attr-defined]
        user = str(request.messages[-1]["content"])
        name, value = re.search(r"\(float\) (x\d+)=(-?[\d.]+)", user).groups()  # type: ignore[union-attr]
        sign = 1 if "too small" in user.split("\n#Feedback\n")[1] else -1
        jitter = request.temperature  # different temperatures, different suggestions
        return json.dumps(
            {"reasoning": "r", "suggestion": {name: float(value) + sign * step + jitter}}
        )

    fn.requests = []  # type: ignore[attr-defined]
    return fn


def make(settings: dict[str, Any] | None = None, script: Any = None) -> tuple[Any, Any, Any]:
    _, task = load_task(NUMERIC)
    script = script or numeric_script()
    ctx = RunContext(task=task, seed=0, make_llm=lambda **kw: ScriptedLLM(script, **kw))
    return make_optimizer("optoprime", settings or {}, ctx), task, script


def run_step(opt: Any, task: Any, n: int) -> list[Evaluation]:
    cands = opt.propose(n)
    evals = [task.evaluate(c, RunContext()) for c in cands]
    opt.observe(evals)
    return evals


def test_first_the_baseline_then_one_candidate_per_temperature() -> None:
    opt, task, script = make({"temperatures": [0.0, 0.5, 1.0]})
    (base,) = run_step(opt, task, 3)
    assert base.scores == {"abs_error": 33.0}  # x = -5: 3x + 2 = -13
    assert "too small" in base.feedback
    cands = opt.propose(3)
    assert [c.meta["temperature"] for c in cands] == [0.0, 0.5, 1.0]
    assert [c.payload["params"]["x"] for c in cands] == [-1.0, -0.5, 0.0]
    assert all(c.parent_ids == [base.candidate_id] and c.meta["changed"] == ["x"] for c in cands)
    evals = [task.evaluate(c, RunContext()) for c in cands]
    opt.observe(evals)
    assert opt.values == {"x": 0.0}  # the best of the step: 3*0 + 2 is closest to 20
    calls = [e for e in opt.events if e["type"] == "optoprime_call"]
    assert len(calls) == 3 and {c["temperature"] for c in calls} == {0.0, 0.5, 1.0}
    assert "Score: abs_error = 33" in str(script.requests[0].messages[-1]["content"])


def test_reaches_the_target_and_logs_through_the_call_hook() -> None:
    logged: list[Any] = []
    _, task = load_task(NUMERIC)
    ctx = RunContext(
        task=task,
        seed=0,
        on_call=logged.append,
        make_llm=lambda **kw: ScriptedLLM(numeric_script(step=5.5), **kw),
    )
    opt = make_optimizer("optoprime", {"temperatures": [0.0]}, ctx)
    scores = [run_step(opt, task, 1)[0].score for _ in range(3)]
    assert scores == [33.0, 16.5, 0.0]  # x: -5 -> 0.5 -> 6
    kinds = {e["type"] if isinstance(e, dict) else "record" for e in logged}
    assert {"optoprime_call", "record"} <= kinds


def test_accept_improve_keeps_the_current_values_when_worse() -> None:
    def away(request: Any) -> str:
        user = str(request.messages[-1]["content"])
        name = re.search(r"\(float\) (x\d+)=", user).group(1)  # type: ignore[union-attr]
        return json.dumps({"reasoning": "r", "suggestion": {name: -100.0}})

    opt, task, _ = make({"temperatures": [0.0], "accept": "improve"}, away)
    run_step(opt, task, 1)
    (worse,) = run_step(opt, task, 1)
    assert worse.score == 318.0  # 3 * -100 + 2 = -298, 318 from 20
    assert opt.values == {"x": -5.0}
    best_opt, best_task, _ = make({"temperatures": [0.0], "accept": "best"}, away)
    run_step(best_opt, best_task, 1)
    run_step(best_opt, best_task, 1)
    assert best_opt.values == {"x": -100.0}


def test_a_repeated_suggestion_is_rejected_and_asked_again_with_its_feedback() -> None:
    answers = iter([10.0, 5.0, 5.0, 6.0])  # 5.0 repeats the step-1 value; the re-ask gives 6

    def script(request: Any) -> str:
        script.requests.append(str(request.messages[-1]["content"]))  # type: ignore[attr-defined]
        user = script.requests[-1]  # type: ignore[attr-defined]
        name = re.search(r"\(float\) (x\d+)=", user).group(1)  # type: ignore[union-attr]
        return json.dumps({"reasoning": "r", "suggestion": {name: next(answers)}})

    script.requests = []  # type: ignore[attr-defined]
    opt, task, _ = make({"temperatures": [0.0]}, script)
    run_step(opt, task, 1)  # baseline x = -5
    assert [e.score for e in run_step(opt, task, 1)] == [12.0]  # x = 10 (32)
    assert [e.score for e in run_step(opt, task, 1)] == [3.0]  # x = 5 (17)
    (again,) = opt.propose(1)  # 5.0 again: rejected, re-asked, 6.0
    assert again.payload == {"params": {"x": 6.0}}
    assert opt.opt.counters["rejected:repeat"] == 1
    reask = script.requests[-1]  # type: ignore[attr-defined]
    assert "already evaluated" in reask and "The output 17.0 is too small" in reask
    kinds = [e.get("kind") for e in opt.events if e["type"] == "optoprime_rejection"]
    assert kinds == ["repeat"]


def test_a_step_of_only_repeats_still_proposes_so_the_run_goes_on() -> None:
    def stuck(request: Any) -> str:
        user = str(request.messages[-1]["content"])
        name = re.search(r"\(float\) (x\d+)=", user).group(1)  # type: ignore[union-attr]
        return json.dumps({"reasoning": "r", "suggestion": {name: 10.0}})

    opt, task, _ = make({"temperatures": [0.0, 1.0]}, stuck)
    run_step(opt, task, 2)
    assert [e.score for e in run_step(opt, task, 2)] == [12.0]  # both agree: one candidate
    cands = opt.propose(2)  # 10.0 twice, asked again, 10.0 twice
    assert [c.payload["params"]["x"] for c in cands] == [10.0]
    assert opt.opt.counters["rejected:repeat"] == 4


def test_state_round_trip_resumes_with_the_same_prompt() -> None:
    opt, task, script = make({"temperatures": [0.0], "memory_size": 2})
    run_step(opt, task, 1)
    run_step(opt, task, 1)
    state = json.loads(json.dumps(opt.state()))
    assert state["values"] == {"x": -1.0} and state["current"]["id"] == "o00001"
    opt.propose(1)
    expected = str(script.requests[-1].messages[-1]["content"])

    fresh, _, script2 = make({"temperatures": [0.0], "memory_size": 2})  # a new task and module
    fresh.load_state(state)
    again = fresh.propose(1)
    assert str(script2.requests[-1].messages[-1]["content"]) == expected
    assert again[0].id == "o00002" and again[0].payload == {"params": {"x": 3.0}}
    assert fresh.state()["optoprime"]["memory"] == state["optoprime"]["memory"]


def test_observe_is_idempotent() -> None:
    opt, task, _ = make({"temperatures": [0.0]})
    evals = run_step(opt, task, 1)
    before = json.dumps(opt.state())
    opt.observe(evals)
    assert json.dumps(opt.state()) == before


def test_settings_and_task_kind_are_checked(tmp_path: Path) -> None:
    _, task = load_task(NUMERIC)
    ctx = RunContext(task=task)
    with pytest.raises(SettingsError, match="temperatures"):
        make_optimizer("optoprime", {"temperatures": []}, ctx)
    with pytest.raises(SettingsError, match="unknown key"):
        make_optimizer("optoprime", {"temprature": 1}, ctx)
    section = HpoSection.model_validate(
        {
            "objective": "workbench.tasks.bayesmark:objective",
            "space": {"a": {"type": "int", "low": 0, "high": 2}},
        }
    )
    hpo = HpoTask("h", section, tmp_path)
    with pytest.raises(ConfigError, match="kind: workflow"):
        make_optimizer("optoprime", {}, RunContext(task=hpo))


def test_a_candidate_dropped_before_evaluation_is_fed_back_in_the_next_call() -> None:
    opt, task, script = make({"temperatures": [0.0]})
    run_step(opt, task, 1)  # the baseline
    (dropped,) = opt.propose(1)
    opt.rejected(dropped.id, "it changes parameters it does not own: ['y']; change only yours")
    assert dropped.id not in opt.pending  # never observed: not waited for
    assert opt.opt.counters["rejected:dropped"] == 1
    opt.propose(1)
    last = str(script.requests[-1].messages[-1]["content"])
    assert "Your suggestion was not evaluated: it changes parameters it does not own" in last
    opt.rejected("unknown", "nothing")  # not one of its candidates: nothing to say
    assert opt.opt.counters["rejected:dropped"] == 1
