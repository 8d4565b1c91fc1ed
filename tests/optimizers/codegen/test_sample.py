"""The `sample` generator with a scripted model and LocalSandbox, through the run API."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from workbench.llm import ChatRequest, ScriptedLLM
from workbench.optimizers import RunContext
from workbench.optimizers.codegen.sample import SampleOptimizer, extract_program
from workbench.optimizers.codegen.sample.prompts import PROMPT_VERSION
from workbench.runs import start_run
from workbench.tasks import build_task, parse_task_text

REPO = Path(__file__).resolve().parents[3]

TASK = """
name: add
kind: code
sandbox: {backend: local}
optimizer: {name: sample, settings: SETTINGS}
budget: BUDGET
parallel: PARALLEL
stop: {target: 1.0}
code:
  problem:
    entry_point: add
    prompt: |
      def add(a: int, b: int) -> int:
          \"\"\"Return a + b.\"\"\"
    public_tests: [{input: [1, 2], output: 3}, {input: [5, 5], output: 10}]
    hidden_tests: ["assert add(-1, 1) == 0"]
"""

WRONG = "```python\ndef add(a: int, b: int) -> int:\n    return a * b\n```"
WRONG2 = "```python\ndef add(a: int, b: int) -> int:\n    return a - b\n```"
RIGHT = "Here:\n```python\ndef add(a: int, b: int) -> int:\n    return a + b\n```"


def _task(settings: str = "{}", budget: str = "{iterations: 4}", parallel: int = 1) -> str:
    return (
        TASK.replace("SETTINGS", settings)
        .replace("BUDGET", budget)
        .replace("PARALLEL", str(parallel))
    )


def _run(tmp_path: Path, text: str, fn: Any) -> Any:
    (tmp_path / "t.yaml").write_text(text)

    def make_llm(budget: Any = None, on_call: Any = None) -> ScriptedLLM:
        return ScriptedLLM(fn, budget=budget, on_call=on_call)

    return start_run(tmp_path / "t.yaml", tmp_path / "runs", make_llm=make_llm)


def _events(result: Any) -> list[dict[str, Any]]:
    text = (result.run.path / "events.jsonl").read_text()
    return [json.loads(line) for line in text.splitlines()]


def test_wrong_then_repaired_with_the_feedback(tmp_path: Path) -> None:
    asked: list[ChatRequest] = []

    def model(request: ChatRequest) -> str:
        asked.append(request)
        return WRONG if len(asked) == 1 else RIGHT

    result = _run(tmp_path, _task(), model)
    assert result.summary["best"]["score"] == 1.0
    assert result.summary["evaluations"] == 2 and len(asked) == 2
    repair = asked[1].messages[-1]["content"]
    assert "add(5, 5) == 10" in repair and "got" in repair  # the failing public test
    assert "add(-1, 1)" not in repair  # hidden tests never reach the model
    proposals = [e for e in _events(result) if e["type"] == "proposal"]
    assert [p["meta"]["mode"] for p in proposals] == ["solve", "repair"]
    assert all(p["meta"]["prompt_version"] == PROMPT_VERSION for p in proposals)
    assert proposals[1]["parent_ids"] == [proposals[0]["id"]]
    assert (result.run.path / "best.json").is_file()


def test_greedy_single_sample_stops_when_public_tests_pass(tmp_path: Path) -> None:
    asked: list[ChatRequest] = []

    def model(request: ChatRequest) -> str:
        asked.append(request)
        return RIGHT

    result = _run(tmp_path, _task(budget="{iterations: 5}"), model)
    assert len(asked) == 1 and asked[0].temperature == 0.0
    assert result.summary["evaluations"] == 1 and result.summary["best"]["score"] == 1.0


def test_n_samples_best_by_public_tests(tmp_path: Path) -> None:
    def model(request: ChatRequest) -> str:
        return [WRONG, RIGHT, WRONG][request.sample_index]

    result = _run(tmp_path, _task("{samples: 3, temperature: 0.8}", parallel=3), model)
    assert result.summary["evaluations"] == 3 and result.summary["best"]["score"] == 1.0
    evals = [e for e in _events(result) if e["type"] == "evaluation"]
    assert sorted(e["score"] for e in evals) == [0.0, 0.0, 1.0]


def test_bad_answers_are_counted_and_budget_is_respected(tmp_path: Path) -> None:
    asked: list[ChatRequest] = []

    def model(request: ChatRequest) -> str:
        asked.append(request)
        return "I think you should add the numbers." if len(asked) % 2 else WRONG

    result = _run(tmp_path, _task(budget="{iterations: 20, llm_calls: 5}"), model)
    assert len(asked) == 5 and result.summary["llm"]["calls"] == 5
    assert result.summary["stop_reason"] == "budget:llm_calls"
    proposals = [e for e in _events(result) if e["type"] == "proposal"]
    assert proposals and proposals[-1]["meta"]["bad_answers"] >= 2
    # the parse error went back to the model in the next round
    assert "holds no Python code" in asked[1].messages[-1]["content"]


@pytest.mark.parametrize(
    ("reply", "ok"),
    [
        (RIGHT, True),
        ("def add(a, b):\n    return a + b\nprint(add(1, 2))\n", True),
        ("    return a + b\n", True),  # a body: completed with the prompt
        ("def plus(a, b):\n    return a + b\n", False),
        ("def add(a, b):\n    ...\n", False),
        ("no code here", False),
    ],
)
def test_extract_program(reply: str, ok: bool) -> None:
    task = build_task(parse_task_text(_task(), REPO, source="t.yaml"))
    program = extract_program(reply, task.public_problem())  # type: ignore[attr-defined]
    assert (program.code is not None) is ok
    if ok:
        assert "print(" not in program.code and "def add" in program.code
    else:
        assert program.error


def test_state_round_trips_through_json() -> None:
    task = build_task(parse_task_text(_task(), REPO, source="t.yaml"))
    llm = ScriptedLLM(lambda r: [WRONG, WRONG2][r.sample_index])
    ctx = RunContext(task=task, seed=0, make_llm=lambda **_: llm)
    opt = SampleOptimizer(ctx, {"samples": 2, "temperature": 0.5})
    (first,) = opt.propose(1)  # one queued sample stays
    fresh = SampleOptimizer(ctx, {"samples": 2, "temperature": 0.5})
    fresh.load_state(json.loads(json.dumps(opt.state())))
    (second,) = fresh.propose(1)
    assert second.id != first.id and llm.usage.calls == 2  # served from the queue


def test_a_repeated_program_is_not_evaluated_again(tmp_path: Path) -> None:
    """Greedy repair answering the same program: counted, not run, and the next round says
    so at a higher temperature (issue 17: 1 distinct program in 4 calls)."""
    asked: list[ChatRequest] = []

    def model(request: ChatRequest) -> str:
        asked.append(request)
        return [WRONG, WRONG, RIGHT][min(len(asked) - 1, 2)]

    result = _run(tmp_path, _task(budget="{iterations: 6}"), model)
    assert result.summary["best"]["score"] == 1.0
    proposals = [e for e in _events(result) if e["type"] == "proposal"]
    assert len(proposals) == 2 and result.summary["evaluations"] == 2  # WRONG once, RIGHT
    assert proposals[1]["meta"]["repeats"] == 1
    assert [r.temperature for r in asked] == [0.0, 0.0, 0.7]
    told = asked[2].messages[-1]["content"]
    assert f"the same program as {proposals[0]['id']}" in told
    assert "same program" not in asked[1].messages[-1]["content"]
    calls = [e for e in _events(result) if e["type"] == "llm_call"]
    assert [c["texts"] for c in calls] == [[WRONG], [WRONG], [RIGHT]]  # raw answers, traced


def test_an_unparsed_reply_is_proposed_without_its_markdown(tmp_path: Path) -> None:
    plus = "Sure:\n```python\ndef plus(a: int, b: int) -> int:\n    return a + b\n```\nDone."
    result = _run(tmp_path, _task("{attempts: 1}", budget="{iterations: 1}"), lambda r: plus)
    [proposal] = [e for e in _events(result) if e["type"] == "proposal"]
    assert proposal["meta"]["mode"] == "unparsed"
    code = json.dumps(proposal)
    assert "def plus" in code and "```" not in code and "Sure:" not in code
