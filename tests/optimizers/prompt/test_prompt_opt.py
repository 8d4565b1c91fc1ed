"""Prompt optimizers with scripted models: call patterns, history order, beam, harvesting,
budgets, and projected calls equal to the calls made."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.tasks.prompt.test_kind import _content, solver, write_task
from workbench.errors import ConfigError
from workbench.llm import ScriptedLLM
from workbench.optimizers import RunContext
from workbench.optimizers.prompt import PromptOptimizer
from workbench.runs import run_prompt
from workbench.tasks import build_task, load_task_file


class OptModel:
    """A scripted optimizer model that logs which prompt kind it got."""

    def __init__(self, answer: str = "<INS>Be CAREFUL {n}.</INS>") -> None:
        self.answer = answer
        self.kinds: list[str] = []
        self.prompts: list[str] = []

    def __call__(self, request: Any) -> str:
        text = _content(request)
        self.prompts.append(text)
        if "input-output pairs" in text:
            kind = "ape"
        elif "previous instructions" in text:
            kind = "opro"
        elif "Give one reason" in text:
            kind = "gradient"
        elif "improved instruction" in text:
            kind = "edit"
        else:
            kind = "other"
        self.kinds.append(kind)
        if kind == "gradient":
            return "It does not say to be careful."
        return self.answer.format(n=len(self.kinds), s=request.seed)

    def make(self, budget: Any = None, on_call: Any = None) -> ScriptedLLM:
        return ScriptedLLM(self, model="opt", budget=budget, on_call=on_call)


def _run(tmp: Path, optimizer: str, settings: str, evals: int, opt: OptModel, **kw: Any) -> Any:
    path = write_task(tmp, optimizer, settings, evals)
    return run_prompt(
        path, tmp / "runs", make_llm=opt.make, task_client=solver(), use_cache=False, **kw
    )


def _assert_projection_exact(block: dict[str, Any]) -> None:
    proj = block["projection_with_pool"] or block["projection"]
    assert block["actual"]["task_calls"] == proj["task_calls"]
    assert block["actual"]["optimizer_calls"] == proj["optimizer_calls"]
    assert block["evaluations"] == proj["val_evaluations"] + proj["report_evaluations"]


def test_ape_proposes_from_demos_and_keeps_the_best(tmp_path: Path) -> None:
    opt = OptModel()
    res = _run(tmp_path, "ape", "{demos: 3}", 5, opt)
    block = res.prompt
    assert opt.kinds == ["ape"] * 4  # B - 1 proposals, one call each
    assert all(p.count("Input:") == 3 for p in opt.prompts)
    assert block["val_accuracy"] == 1.0 and "CAREFUL" in block["final"]["payload"]["instruction"]
    assert block["test_accuracy"] == 1.0 and block["gap"] == 0.0
    _assert_projection_exact(block)
    summary = json.loads((res.run.run.path / "summary.json").read_text())
    assert summary["prompt"]["test_accuracy"] == 1.0
    events = [json.loads(x) for x in (res.run.run.path / "events.jsonl").read_text().splitlines()]
    first = next(e for e in events if e["type"] == "proposal")
    assert first["meta"]["projection"]["task_calls"] == block["projection"]["task_calls"]
    assert first["meta"]["prompt_version"]


def test_opro_history_is_ascending_and_steps_follow_settings(tmp_path: Path) -> None:
    opt = OptModel(answer="<INS>Try {n}.</INS>")
    res = _run(tmp_path, "opro", "{candidates_per_step: 2, demos: 1}", 7, opt)
    assert opt.kinds == ["opro"] * 6
    assert opt.prompts[0] == opt.prompts[1]  # one meta-prompt per step
    assert opt.prompts[2] != opt.prompts[1]
    last = opt.prompts[-1]
    scores = [int(s) for s in re.findall(r"score:\n(\d+)", last)]
    assert len(scores) == 5 and scores == sorted(scores)
    _assert_projection_exact(res.prompt)


def test_protegi_gradients_edits_and_beam(tmp_path: Path) -> None:
    opt = OptModel()
    settings = "{beam: 2, gradients: 1, edits_per_gradient: 2, minibatch: 4, errors_shown: 2}"
    res = _run(tmp_path, "protegi", settings, 7, opt)
    # round 1: beam = the seed -> 1 gradient + 2 edits; round 2: beam of 2 -> 2 x (1 + 2)
    assert opt.kinds == [
        "gradient",
        "edit",
        "edit",
        "gradient",
        "edit",
        "edit",
        "gradient",
        "edit",
        "edit",
    ]
    grad = next(p for p, k in zip(opt.prompts, opt.kinds, strict=True) if k == "gradient")
    assert grad.count("Correct answer:") == 2  # errors_shown failed examples
    block = res.prompt
    assert block["minibatch_calls"] == 3 * 4
    _assert_projection_exact(block)


def test_unparseable_answers_are_counted_and_still_evaluated(tmp_path: Path) -> None:
    opt = OptModel(answer="   ")
    res = _run(tmp_path, "ape", "{}", 3, opt)
    assert res.prompt["parse_failures"] == 2
    assert res.prompt["evaluations"] == 3


@pytest.mark.parametrize("selector", ["random_search", "mutation"])
def test_exemplar_search_harvests_only_correct_outputs(tmp_path: Path, selector: str) -> None:
    opt = OptModel()
    res = _run(tmp_path, "exemplars_opt", f"{{selector: {selector}, k: 2}}", 8, opt)
    block = res.prompt
    assert opt.kinds == []  # selectors call no optimizer model
    # 1 seed run + min(7 left, distinct ordered 2-sets of the pool): the pool caps the search
    assert block["evaluations"] == 1 + min(7, math.perm(block["pool_size"], 2))
    # the seed instruction gets inputs starting with an even digit right: only those are pooled
    pool = json.loads((res.run.run.path / "summary.json").read_text())["prompt"]
    assert pool["pool_size"] == block["pool_size"] > 0
    final = block["final"]["payload"]
    assert len(final["exemplars"]) == 2 and block["val_accuracy"] == 1.0
    for ex in final["exemplars"]:
        if "So the answer" in ex["output"]:  # a model exemplar, verified
            a, b = (int(x) for x in ex["input"].split("+"))
            assert a % 2 == 0 and ex["output"] == f"So the answer is {a + b}."
    _assert_projection_exact(block)


@pytest.mark.parametrize("selector", ["random", "nearest", "diversity"])
def test_heuristic_selectors_spend_one_report_evaluation(tmp_path: Path, selector: str) -> None:
    res = _run(tmp_path, "exemplars_opt", f"{{selector: {selector}, k: 2}}", 8, OptModel())
    block = res.prompt
    assert block["evaluations"] == 2 and block["final"]["stage"] == "report"
    if selector == "nearest":
        assert block["final"]["payload"]["selection"] == "nearest"
    _assert_projection_exact(block)


def test_joint_staged_runs_instruction_then_exemplars(tmp_path: Path) -> None:
    opt = OptModel(answer="<INS>Try {n}.</INS>")
    settings = "{instruction: ape, selector: random_search, selector_settings: {k: 2}}"
    res = _run(tmp_path, "joint", settings, 8, opt)
    block = res.prompt
    assert opt.kinds == ["ape"] * 3 and block["evaluations"] == 8
    events = [json.loads(x) for x in (res.run.run.path / "events.jsonl").read_text().splitlines()]
    stages = [e["meta"]["stage"] for e in events if e["type"] == "proposal"]
    assert stages == ["seed"] + ["instruction"] * 3 + ["exemplars"] * 4
    _assert_projection_exact(block)


def test_joint_tpe_searches_pairs(tmp_path: Path) -> None:
    opt = OptModel(answer="<INS>Try {n}.</INS>")
    settings = "{instruction: ape, search: tpe, sets: 4, selector_settings: {k: 2}}"
    res = _run(tmp_path, "joint", settings, 10, opt)
    block = res.prompt
    events = [json.loads(x) for x in (res.run.run.path / "events.jsonl").read_text().splitlines()]
    pairs = [e["meta"]["pair"] for e in events if e["type"] == "proposal" and "pair" in e["meta"]]
    assert len(pairs) == 5 and len({tuple(p) for p in pairs}) == 5
    assert all(p[1] != 0 for p in pairs)  # zero-shot pairs are already known
    assert block["val_accuracy"] == 1.0
    _assert_projection_exact(block)


def test_loop_budget_cuts_the_plan_exactly(tmp_path: Path) -> None:
    opt = OptModel()
    path = write_task(tmp_path, "ape", "{budget: 10}", 4)
    res = run_prompt(path, tmp_path / "runs", make_llm=opt.make, task_client=solver())
    assert res.run.summary["evaluations"] == 4
    assert res.run.summary["stop_reason"] == "budget:evaluations"


def test_bad_settings_name_the_field(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="demoz"):
        _run(tmp_path, "ape", "{demoz: 3}", 4, OptModel())


def _drive(task: Any, make: Callable[[], Any], steps: int, cut: int | None) -> list[dict[str, Any]]:
    """Propose/evaluate/observe one at a time; at `cut`, continue in a fresh optimizer
    restored from the JSON state."""
    opt = make()
    payloads = []
    for step in range(steps):
        if step == cut:
            saved = json.loads(json.dumps(opt.state()))
            opt = make()
            opt.load_state(saved)
        cands = opt.propose(1)
        if not cands:
            break
        payloads.append(cands[0].payload)
        opt.observe([task.evaluate(c, RunContext()) for c in cands])
    return payloads


@pytest.mark.parametrize(
    ("method", "settings"),
    [
        ("opro", {"candidates_per_step": 2}),
        ("exemplars", {"selector": "mutation", "k": 2}),
        ("joint", {"search": "tpe", "sets": 3, "selector_settings": {"k": 1}}),
    ],
)
def test_state_round_trips_through_json(
    tmp_path: Path, method: str, settings: dict[str, Any]
) -> None:
    task = build_task(load_task_file(write_task(tmp_path, evals=9)))
    task.use_client(solver())  # type: ignore[attr-defined]
    opt_model = OptModel(answer="<INS>Try {s}.</INS>")  # depends on the seeded request

    def make() -> PromptOptimizer:
        ctx = RunContext(task=task, seed=3, make_llm=opt_model.make)
        return PromptOptimizer(ctx, method, dict(settings))

    whole = _drive(task, make, 9, None)
    resumed = _drive(task, make, 9, 5)
    assert len(whole) >= 7 and len(resumed) == len(whole)  # mutation: the pool caps the search
    assert resumed[5:] == whole[5:]


def test_pool_holds_exactly_the_correct_validation_outputs(tmp_path: Path) -> None:
    task = build_task(load_task_file(write_task(tmp_path, evals=4)))
    task.use_client(solver())  # type: ignore[attr-defined]
    ctx = RunContext(task=task, seed=0, make_llm=OptModel().make)
    opt = PromptOptimizer(ctx, "exemplars", {"selector": "random_search", "k": 2})
    (seed,) = opt.propose(3)  # the seed runs alone: the pool must exist before any selection
    assert seed.meta["stage"] == "seed" and seed.payload["exemplars"] == []
    ev = task.evaluate(seed, RunContext())
    opt.observe([ev])
    opt.observe([ev])  # idempotent
    right = {t["input"] for t in ev.tests if t["passed"]}
    assert 0 < len(right) < len(ev.tests)
    assert {e.input for e in opt.pool.model} == right
    assert all(e.output == f"So the answer is {e.target}." for e in opt.pool.model)
    assert len(opt.records) == 1
    nxt = opt.propose(3)
    assert len(nxt) == 3 and all(c.meta["stage"] == "exemplars" for c in nxt)
