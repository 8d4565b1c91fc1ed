"""The composed code task of ``tasks/graph/``: a prompt agent and an exemplar selector tune
FunCoder's prompt over a train split; FunCoder runs inside each evaluation on the run's budget
and sandbox (a scripted model that solves a problem only when told the magic word)."""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from workbench.contracts import Candidate
from workbench.llm import Budget, ChatRequest, ScriptedLLM
from workbench.optimizers.codegen.funcoder.prompts import CONQUER_SYSTEM, DIVIDE_SYSTEM
from workbench.runs import start_run
from workbench.sandbox import LocalSandbox
from workbench.tasks import RunContext, build_task, load_task_file, parse_task_data
from workbench.tasks.code import load_humaneval
from workbench.tasks.workflow import load_module

ROOT = Path(__file__).resolve().parents[3]
GRAPH = ROOT / "tasks" / "graph"
MODULE = load_module(GRAPH / "funcoder_prompt.py")
BY_ENTRY = {p.entry_point: p for p in load_humaneval()}
MAGIC = "Think of the reference solution."
URL = "http://127.0.0.1:9/v1"


class Model:
    """FunCoder's model: the reference solution when the system prompt holds `MAGIC`, else a
    body returning None; the optimizer's model (OptoPrime) always suggests `MAGIC`."""

    def __init__(self) -> None:
        self.funcoder: list[list[dict[str, Any]]] = []
        self.optimizer = 0
        self.calls = 0

    def __call__(self, request: ChatRequest) -> str:
        self.calls += 1
        messages = list(request.messages)
        system = str(messages[0]["content"])
        last = str(messages[-1]["content"])
        if system.startswith((DIVIDE_SYSTEM, CONQUER_SYSTEM)):
            self.funcoder.append(messages)
            entry = re.findall(r"def (\w+)\(", last)[-1]
            problem = BY_ENTRY[entry]
            if MAGIC in system:
                return f"```python\n{problem.canonical_solution}\n```"
            head = re.search(rf"def {entry}\(.*?:\n", problem.prompt, re.S)
            assert head is not None
            return f"```python\n{head.group(0)}    return None\n```"
        if system.startswith("You write test inputs"):
            return "```python\n```"
        self.optimizer += 1
        name = re.search(r"\b(instruction\d+)\b", last)
        assert name is not None, last[-500:]
        return json.dumps({"reasoning": "ask for it", "suggestion": {name.group(1): MAGIC}})


@pytest.fixture(scope="module")
def box() -> Iterator[LocalSandbox]:
    sandbox = LocalSandbox()
    yield sandbox
    sandbox.close()


def test_the_splits_are_disjoint_and_the_held_out_one_has_at_least_20_problems() -> None:
    pool, train, test = (set(MODULE.SPLITS[k]) for k in ("pool", "train", "test"))
    assert len(test) >= 20 and len(train) >= 5 and len(pool) == 6
    assert not (pool & train or pool & test or train & test)
    developed_on = {f"HumanEval/{i}" for i in range(0, 164, 8)} | {"HumanEval/53"}
    assert not (pool | train | test) & developed_on
    assert {p for s in MODULE.EXEMPLAR_SETS.values() for p in s} <= pool


def test_funcoder_runs_inside_the_evaluation_on_the_runs_budget(box: LocalSandbox) -> None:
    task = build_task(load_task_file(GRAPH / "funcoder_prompt.yaml"))
    assert task.needs_sandbox  # the entry takes the run's context: its generators run code
    model, budget = Model(), Budget(calls=500)
    llm = ScriptedLLM(model, budget=budget)
    ctx = RunContext(seed=0, budget=budget, open_sandbox=lambda: box, make_llm=lambda **_: llm)
    plain = task.evaluate(Candidate("plain", {"params": {}}), ctx)
    told = task.evaluate(
        Candidate("told", {"params": {"instruction": MAGIC, "exemplars": "b"}}), ctx
    )
    assert plain.status == told.status == "ok"
    assert plain.score is not None and plain.score < 0.3
    assert told.score == 1.0  # every train problem solved, by the hidden tests
    assert "solved 0 of" in plain.feedback or "solved 1 of" in plain.feedback
    assert all(p in plain.feedback for p in MODULE.SPLITS["train"][:1])
    assert budget.spent.calls == model.calls >= len(model.funcoder) > 0  # all on the budget
    shown = [m for m in model.funcoder[-4:]]  # the exemplars of set b reach the prompts
    pool_b = MODULE.SPLITS["pool"][2]
    entry = next(p.entry_point for p in load_humaneval() if p.task_id == pool_b)
    assert all(any(f"def {entry}(" in str(x["content"]) for x in m) for m in shown)
    bad = task.evaluate(Candidate("bad", {"params": {"exemplars": "zzz"}}), ctx)
    assert bad.status == "error" and "exemplars must be one of" in bad.feedback


def test_the_two_agents_learn_the_prompt_in_one_run(tmp_path: Path) -> None:
    data = yaml.safe_load((GRAPH / "funcoder_prompt.yaml").read_text())
    data["workflow"]["module"] = str(GRAPH / "funcoder_prompt.py")
    data["sandbox"] = {"backend": "local"}
    data["budget"] = {"evaluations": 4, "llm_calls": 200}
    model = Model()

    def make_llm(budget: Any = None, on_call: Any = None) -> ScriptedLLM:
        return ScriptedLLM(model, budget=budget, on_call=on_call)

    task = parse_task_data(data, GRAPH)
    result = start_run(task, tmp_path / "runs", make_llm=make_llm, make_task_llm=make_llm)
    summary = result.summary
    assert summary["optimizer"] == "prompter=optoprime, selector=optuna"
    assert summary["best"]["score"] == 1.0 and summary["stop_reason"] == "target"
    assert summary["best"]["payload"]["params"]["instruction"] == MAGIC
    assert summary["best"]["id"].startswith("prompter.")
    # one account: the agents' calls are the run's `llm`, FunCoder's inside the evaluations
    # its `task_llm` (the workflow's own model calls), on the same budget
    assert summary["llm"]["calls"] == model.optimizer == 1  # the prompter's one suggestion
    assert summary["agents"]["prompter"]["llm"]["calls"] == model.optimizer
    assert summary["task_llm"]["calls"] == model.calls - model.optimizer >= len(model.funcoder)


@pytest.mark.docker
@pytest.mark.llm
@pytest.mark.slow
def test_the_task_file_runs_on_docker_with_a_real_model(
    tmp_path: Path, make_llm_client: Callable[..., Any], docker_sandbox: Any
) -> None:
    data = yaml.safe_load((GRAPH / "funcoder_prompt.yaml").read_text())
    data["workflow"]["module"] = str(GRAPH / "funcoder_prompt.py")
    data["sandbox"] = {"backend": "docker"}
    data["budget"] = {"evaluations": 2, "llm_calls": 60}

    def make_llm(budget: Any = None, on_call: Any = None) -> Any:
        return make_llm_client(budget=budget, on_call=on_call, cache=False)

    result = start_run(
        parse_task_data(data, GRAPH), tmp_path / "runs", make_llm=make_llm, make_task_llm=make_llm
    )
    summary = result.summary
    assert summary["evaluations"] >= 1
    assert summary["stop_reason"] in ("budget:evaluations", "budget:llm_calls", "target")
    assert summary["task_llm"]["calls"] >= len(MODULE.SPLITS["train"])  # FunCoder ran
    assert summary["best"] is not None and 0.0 <= summary["best"]["score"] <= 1.0
    evaluated = [json.loads(x) for x in (result.run.path / "events.jsonl").read_text().splitlines()]
    first = next(e for e in evaluated if e["type"] == "evaluation")
    assert "FunCoder solved" in first["feedback"]


@pytest.mark.parametrize("workflow_llm", [None, {"model": "endpoint:coder", "base_url": URL}])
def test_the_generators_use_the_runs_model_or_the_workflows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, workflow_llm: dict[str, Any] | None
) -> None:
    data = yaml.safe_load((GRAPH / "funcoder_prompt.yaml").read_text())
    data["workflow"]["module"] = str(GRAPH / "funcoder_prompt.py")
    data["workflow"]["llm"] = workflow_llm
    data.update(
        sandbox={"backend": "local"},
        budget={"evaluations": 1},
        llm={"model": "endpoint:run-model", "base_url": URL},
    )
    opened: list[str] = []
    model = Model()

    @contextlib.contextmanager
    def fake_open(config: Any, budget: Any = None, on_call: Any = None, **_: Any) -> Any:
        opened.append(config.model if hasattr(config, "model") else str(config))
        yield ScriptedLLM(model, budget=budget, on_call=on_call)

    monkeypatch.setattr("workbench.llm.open_llm", fake_open)
    result = start_run(parse_task_data(data, GRAPH), tmp_path / "runs")
    assert result.summary["evaluations"] == 1 and model.funcoder
    want = "endpoint:run-model" if workflow_llm is None else "endpoint:coder"
    assert opened and set(opened) == {want}  # FunCoder's calls, on the model the file names
