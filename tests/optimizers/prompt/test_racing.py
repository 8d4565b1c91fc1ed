"""Racing (successive halving on validation examples): the schedule, the example budget every
method obeys, promotions of the best screened prompts, exact projections, a shared test split."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.optimizers.prompt.test_prompt_opt import OptModel, _drive
from tests.tasks.prompt.test_kind import _content, solver, write_task
from workbench.contracts import Candidate
from workbench.errors import ConfigError
from workbench.llm import ScriptedLLM
from workbench.optimizers import RunContext
from workbench.optimizers.prompt import (
    PromptOptimizer,
    make_plan,
    race_candidates,
    race_cost,
    race_rungs,
)
from workbench.runs import run_prompt
from workbench.tasks import build_task, load_task_file
from workbench.tasks.prompt import split

RACE = "racing: {examples: 20, screen: 2, eta: 2}"


def test_race_schedule_halves_until_the_whole_split() -> None:
    assert race_rungs(7, 2, 8, 2) == [(2, 7), (4, 3), (8, 1)]
    assert race_rungs(1, 2, 8, 2) == [(2, 1), (4, 1), (8, 1)]
    assert race_rungs(0, 2, 8, 2) == []
    assert race_rungs(9, 3, 6, 3) == [(3, 9), (6, 3)]
    assert race_cost(7, 2, 8, 2) == 7 * 2 + 3 * 2 + 1 * 4
    assert race_cost(1, 2, 8, 2) == 8  # one candidate sees the whole split
    assert race_candidates(24, 2, 8, 2) == 7  # 24 = 32 - the seed's 8
    assert race_candidates(7, 2, 8, 2) == 0
    for budget in range(40):
        n = race_candidates(budget, 2, 8, 2)
        assert race_cost(n, 2, 8, 2) <= budget < race_cost(n + 1, 2, 8, 2)


def test_racing_plan_turns_examples_into_candidates() -> None:
    race = {"examples": 32, "screen": 2, "eta": 2}
    ape = make_plan("ape", {"racing": race}, None, 8)
    assert ape.budget == 1 + 7 and ape.exemplar_budget == 0  # seed + 7 screened
    rs = make_plan("exemplars", {"selector": "random_search", "racing": race}, None, 8)
    assert (rs.budget, rs.exemplar_budget) == (1, 7)
    heuristic = make_plan("exemplars", {"selector": "random", "racing": race}, None, 8)
    assert (heuristic.budget, heuristic.exemplar_budget) == (1, 0)
    joint = make_plan("joint", {"racing": race}, None, 8)  # 24 split 12 / 12
    assert (joint.budget, joint.exemplar_budget) == (1 + 3, 3)
    with pytest.raises(ConfigError, match=r"racing\.examples"):
        make_plan("exemplars", {"selector": "random", "racing": {"examples": 12}}, None, 8)
    with pytest.raises(ConfigError, match="remove budget"):
        make_plan("ape", {"budget": 5, "racing": race}, None, 8)
    with pytest.raises(ConfigError, match="screen"):
        make_plan("ape", {"racing": {"examples": 32, "screen": 0}}, None, 8)


def _with_race(settings: str) -> str:
    return "{" + RACE + "}" if settings == "{}" else settings[:-1] + ", " + RACE + "}"


@pytest.mark.parametrize(
    ("optimizer", "settings"),
    [
        ("ape", "{}"),
        ("opro", "{candidates_per_step: 2}"),
        ("protegi", "{minibatch: 2, gradients: 1, edits_per_gradient: 2}"),
        ("exemplars", "{selector: none}"),
        ("exemplars", "{selector: random, k: 2, source: both}"),
        ("exemplars", "{selector: random_search, k: 2, source: both}"),
        ("exemplars", "{selector: mutation, k: 2, source: both}"),
        ("joint", "{source: both}"),
        ("joint", "{search: tpe, source: both}"),
    ],
)
def test_every_method_obeys_the_example_budget_and_its_projection(
    tmp_path: Path, optimizer: str, settings: str
) -> None:
    path = write_task(tmp_path, optimizer, _with_race(settings), 200)
    res = run_prompt(
        path, tmp_path / "runs", make_llm=OptModel().make, task_client=solver(), use_cache=False
    )
    block = res.prompt
    proj = block["projection_with_pool"] or block["projection"]
    assert block["actual"]["val_examples"] == proj["val_examples"] <= 20
    assert block["actual"]["task_calls"] == proj["task_calls"]
    assert block["actual"]["optimizer_calls"] == proj["optimizer_calls"]
    assert block["evaluations"] == proj["val_evaluations"] + proj["report_evaluations"]
    assert proj["racing"]["examples"] == 20
    if optimizer != "exemplars" or "search" in settings or "random_search" in settings:
        assert proj["val_examples"] == 20  # searching methods spend the whole budget
    assert "val" not in block["final"]["payload"]  # the test split sees the plain prompt


def test_race_promotes_the_best_screened_prompts_and_ends_on_the_whole_split(
    tmp_path: Path,
) -> None:
    # the CAREFUL proposals are always right, the others only on even first digits
    words = iter(["Be CAREFUL.", "Be quick.", "Be CAREFUL now.", "Be fast."])

    def answer(request: Any) -> str:
        return f"<INS>{next(words)}</INS>"

    path = write_task(tmp_path, "ape", _with_race("{}"), 200)
    res = run_prompt(
        path,
        tmp_path / "runs",
        make_llm=lambda budget=None, on_call=None: ScriptedLLM(
            answer, model="opt", budget=budget, on_call=on_call
        ),
        task_client=solver(),
        use_cache=False,
    )
    rows = [json.loads(x) for x in (res.run.run.path / "events.jsonl").read_text().splitlines()]
    proposals = [e for e in rows if e["type"] == "proposal"]
    vals = [(e["meta"]["stage"], e["payload"].get("val")) for e in proposals]
    # V = 6, 20 examples: seed 6, 4 screened x 2, 2 promoted x 2, 1 promoted x 2
    assert vals[0] == ("seed", None)
    assert vals[1:5] == [("instruction", [0, 1])] * 4
    assert vals[5:7] == [("race", [2, 3])] * 2
    assert vals[7:] == [("race", [4, 5])]
    promoted = [e["payload"]["instruction"] for e in proposals[5:]]
    block = res.prompt
    assert block["final"]["payload"]["instruction"] == "Be CAREFUL."  # right on all 6
    assert block["val_accuracy"] == 1.0 and block["test_accuracy"] == 1.0
    assert promoted[-1] == "Be CAREFUL."
    assert set(promoted[:2]) <= {"Be CAREFUL.", "Be quick.", "Be CAREFUL now.", "Be fast."}


def test_promotions_rank_by_merged_scores(tmp_path: Path) -> None:
    """A prompt lucky on the screen but wrong later is promoted once, then loses to one that is
    right everywhere; the final prompt's validation accuracy is over the whole split."""
    words = iter(["LUCKY", "BAD one", "Be CAREFUL.", "BAD two"])

    def opt_answer(request: Any) -> str:
        return f"<INS>{next(words)}</INS>"

    def task_answer(request: Any) -> str:
        msgs = request.messages
        q = msgs[-1]["content"]
        a, b = (int(x) for x in q.split("+"))
        text = _content(request)
        if "LUCKY" in text:
            good = q in lucky  # right only on the screen (the first two validation inputs)
        elif "BAD" in text:
            good = False
        else:
            good = "CAREFUL" in text or a % 2 == 0
        return f"So the answer is {a + b if good else a + b + 1}."

    path = write_task(tmp_path, "ape", _with_race("{}"), 200)
    task: Any = build_task(load_task_file(path))
    lucky = {e.input for e in task.splits.val[:2]}
    res = run_prompt(
        path,
        tmp_path / "runs",
        make_llm=lambda budget=None, on_call=None: ScriptedLLM(
            opt_answer, model="opt", budget=budget, on_call=on_call
        ),
        task_client=ScriptedLLM(task_answer, model="task"),
        use_cache=False,
    )
    events = [json.loads(x) for x in (res.run.run.path / "events.jsonl").read_text().splitlines()]
    race = [
        (e["payload"]["instruction"], e["meta"]["rung"])
        for e in events
        if e["type"] == "proposal" and e["meta"]["stage"] == "race"
    ]
    assert race == [("LUCKY", 1), ("Be CAREFUL.", 1), ("Be CAREFUL.", 2)]
    block = res.prompt
    assert block["final"]["payload"]["instruction"] == "Be CAREFUL."
    assert block["val_accuracy"] == 1.0 and block["actual"]["val_examples"] == 20


def test_test_seed_shares_the_test_split_across_seeds() -> None:
    data = list(range(40))
    a = split(data, train=10, val=8, test=12, seed=1, test_seed=0)
    b = split(data, train=10, val=8, test=12, seed=2, test_seed=0)
    assert a.test == b.test and len(a.test) == 12
    assert a.val != b.val
    for parts in (a, b):
        assert not set(parts.test) & (set(parts.train) | set(parts.val))
        assert not set(parts.train) & set(parts.val)
    assert split(data, train=10, val=8, test=12, seed=1).test != a.test or True
    assert a == split(data, train=10, val=8, test=12, seed=1, test_seed=0)


def test_ape_fixed_demos_repeats_one_proposal_prompt(tmp_path: Path) -> None:
    fixed, fresh = OptModel(), OptModel()
    for opt, flag in ((fixed, "true"), (fresh, "false")):
        path = write_task(tmp_path, "ape", f"{{demos: 2, fixed_demos: {flag}}}", 5)
        run_prompt(path, tmp_path / flag, make_llm=opt.make, task_client=solver())
    assert len(fixed.prompts) == len(fresh.prompts) == 4
    assert len(set(fixed.prompts)) == 1  # one prompt, sampled 4 times
    assert len(set(fresh.prompts)) > 1
    assert fixed.prompts[0] == fresh.prompts[0]  # the same first draw


def test_a_loop_budget_below_the_race_is_refused(tmp_path: Path) -> None:
    path = write_task(tmp_path, "ape", _with_race("{}"), 5)  # the race needs 8 evaluations
    with pytest.raises(ConfigError, match="raise it to 8"):
        run_prompt(path, tmp_path / "runs", make_llm=OptModel().make, task_client=solver())


def test_payload_val_indices_pick_validation_examples(tmp_path: Path) -> None:
    task: Any = build_task(load_task_file(write_task(tmp_path)))
    task.use_client(solver())
    ev = task.evaluate(Candidate("c", {"instruction": "x", "val": [4, 1]}), RunContext())
    assert [t["val_index"] for t in ev.tests] == [4, 1]
    assert [t["input"] for t in ev.tests] == [task.splits.val[4].input, task.splits.val[1].input]
    assert task.usage.calls == 2
    bad = task.evaluate(Candidate("d", {"instruction": "x", "val": [6]}), RunContext())
    assert bad.status == "error" and "0..5" in (bad.feedback or "")


@pytest.mark.parametrize(
    ("method", "settings"),
    [
        ("ape", {}),
        ("exemplars", {"selector": "mutation", "k": 2, "source": "both"}),
        ("joint", {"search": "tpe", "sets": 3, "selector_settings": {"k": 1}, "source": "both"}),
    ],
)
@pytest.mark.parametrize("cut", [3, 6, 9])
def test_a_race_resumes_from_json_state(
    tmp_path: Path, method: str, settings: dict[str, Any], cut: int
) -> None:
    task: Any = build_task(load_task_file(write_task(tmp_path, evals=50)))
    task.use_client(solver())
    opt_model = OptModel(answer="<INS>Try {s}.</INS>")  # depends on the seeded request
    race = {"examples": 20, "screen": 2, "eta": 2}

    def make() -> PromptOptimizer:
        ctx = RunContext(task=task, seed=3, make_llm=opt_model.make)
        return PromptOptimizer(ctx, method, {**settings, "racing": race})

    whole = _drive(task, make, 40, None)
    resumed = _drive(task, make, 40, cut)
    assert any("val" in p and p["val"][0] > 0 for p in whole)  # promotions happened
    assert resumed == whole
    rows = sum(len(task.val_indices(p)) for p in whole)
    assert rows <= 20
