"""FunCoder with a scripted model and LocalSandbox: divide, conquer, consensus, budget, state."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest

from workbench.llm import Budget, ChatRequest, ScriptedLLM
from workbench.optimizers import RunContext, SettingsError, make_optimizer
from workbench.optimizers.codegen.funcoder import FunCoderOptimizer, parse_inputs
from workbench.optimizers.codegen.funcoder.prompts import (
    CONQUER_SYSTEM,
    DIVIDE_SYSTEM,
    PROMPT_VERSION,
)
from workbench.runs import start_run
from workbench.sandbox import Sandbox
from workbench.tasks import build_task, parse_task_text

REPO = Path(__file__).resolve().parents[3]

TASK = """
name: primes
kind: code
sandbox: {backend: local}
optimizer: {name: funcoder, settings: {conquer_samples: 3, tests_per_function: 5}}
budget: {iterations: 3, llm_calls: 40}
stop: {target: 1.0}
code:
  problem:
    entry_point: count_primes
    prompt: |
      def count_primes(n: int) -> int:
          \"\"\"Number of primes p <= n.
          >>> count_primes(10)
          4
          \"\"\"
    hidden_tests: ["assert count_primes(20) == 8", "assert count_primes(1) == 0"]
"""

PARENT = '''```python
def is_prime(k: int) -> bool:
    """Return True when k is a prime number."""
    raise NotImplementedError()


def count_primes(n: int) -> int:
    """Number of primes p <= n."""
    return sum(1 for k in range(n + 1) if is_prime(k))
```'''

ARCHITECT = "```python\ndef is_prime(k: int) -> bool:\n    return k % 2 == 1\n```"  # wrong
RIGHT_A = (
    "```python\ndef is_prime(k: int) -> bool:\n    if k < 2:\n        return False\n"
    "    return all(k % d for d in range(2, k))\n```"
)
RIGHT_B = (
    "```python\ndef is_prime(k: int) -> bool:\n    return k > 1 and not any("
    "k % d == 0 for d in range(2, int(k ** 0.5) + 1))\n```"
)
CRASHY = (
    "```python\ndef is_prime(k: int) -> bool:\n    if k < 2:\n        raise ValueError(k)\n"
    "    return True\n```"
)


class Script:
    """The scripted model: records the kinds of requests it saw."""

    def __init__(self, divide_first: str = PARENT) -> None:
        self.seen: list[str] = []
        self.divide_first = divide_first

    def __call__(self, request: ChatRequest) -> str:
        system = request.messages[0]["content"]
        task = request.messages[3]["content"]  # after the system message and the few-shot pair
        function = task.rsplit("def ", 1)[1].split("(")[0]  # the last function: the one asked
        if system == DIVIDE_SYSTEM:
            self.seen.append(f"divide-{function}")
            if function == "count_primes":
                return PARENT if len(request.messages) > 4 else self.divide_first
            return ARCHITECT
        if system == CONQUER_SYSTEM:
            self.seen.append(f"conquer-{function}")
            if function == "is_prime":
                return [RIGHT_A, RIGHT_B, CRASHY][request.sample_index % 3]
            return PARENT.split("\n\n\n")[1]  # the same parent: its helper is kept
        self.seen.append(f"tests-{function}")
        if function == "is_prime":
            return (
                "```python\nis_prime(1)\nis_prime(2)\nis_prime(9)\nis_prime(15)\nis_prime(17)\n```"
            )
        return "```python\ncount_primes(10)\ncount_primes(0)\ncount_primes(30)\n```"


def _ctx(script: Script, budget: Budget | None = None, text: str = TASK) -> RunContext:
    task = build_task(parse_task_text(text, REPO, source="t.yaml"))
    llm = ScriptedLLM(script, budget=budget)
    return RunContext(task=task, seed=0, budget=budget, make_llm=lambda **_: llm)


def test_divide_conquer_consensus_picks_the_agreeing_majority(local_sandbox: Sandbox) -> None:
    script = Script()
    opt = FunCoderOptimizer(_ctx(script), {"conquer_samples": 3}, sandbox=local_sandbox)
    (cand,) = opt.propose(1)
    code = cand.payload["code"]
    assert cand.payload["language"] == "python"
    # the helper is one of the two right ones, never the architect's or the crashing one
    assert "k % 2 == 1" not in code and "ValueError" not in code
    assert "def is_prime" in code and code.index("def is_prime") < code.index("def count_primes")
    assert script.seen[:2] == ["divide-count_primes", "divide-is_prime"]
    assert "conquer-is_prime" in script.seen and "conquer-count_primes" in script.seen
    helper = next(r for r in cand.meta["consensus"] if r["function"] == "is_prime")
    # candidates: architect (wrong), right A, right B, crashy; the winner is A or B
    assert helper["candidates"] == 4 and helper["inputs"] == 5 and helper["best"] in (1, 2)
    scores = helper["scores"]
    assert scores[helper["best"]] == max(scores) and scores[3] < 0
    assert cand.meta["prompt_version"] == PROMPT_VERSION and cand.meta["bad_answers"] == 0
    assert json.loads(json.dumps(opt.state()))["count"] == 1


def test_bad_divide_answer_is_counted_and_sent_back(local_sandbox: Sandbox) -> None:
    script = Script(divide_first="Sorry, I cannot help with that.")
    opt = FunCoderOptimizer(_ctx(script), {}, sandbox=local_sandbox)
    (cand,) = opt.propose(1)
    assert script.seen.count("divide-count_primes") == 2  # asked again with the problem stated
    assert cand.meta["bad_answers"] == 1 and "def is_prime" in cand.payload["code"]


def test_budget_ends_propose_with_best_so_far_then_stops(local_sandbox: Sandbox) -> None:
    budget = Budget(calls=3)
    opt = FunCoderOptimizer(_ctx(Script(), budget), {"conquer_samples": 3}, sandbox=local_sandbox)
    (cand,) = opt.propose(1)  # divide root, divide helper, the direct sample: then out
    assert cand.meta["mode"] == "solve-budget" and "def count_primes" in cand.payload["code"]
    assert budget.spent.calls == 3
    from workbench.errors import BudgetExceeded

    with pytest.raises(BudgetExceeded):
        opt.propose(1)


def test_parse_inputs_keeps_only_calls_of_the_function() -> None:
    reply = (
        "Tests:\n```python\n>>> f([1, 2])\nassert f(3) == 4\nf(3)  # dup\nprint(f(5))\n"
        "f(\ng(1)\n```"
    )
    assert parse_inputs(reply, "f", 10) == ["f([1, 2])", "f(3)", "f(5)"]
    assert parse_inputs(reply, "f", 2) == ["f([1, 2])", "f(3)"]


def test_settings_are_checked_with_their_path() -> None:
    ctx = _ctx(Script())
    with pytest.raises(SettingsError) as info:
        make_optimizer("funcoder", {"max_depth": 9, "colour": 1}, ctx)
    text = str(info.value)
    assert "max_depth" in text and "colour: unknown key" in text


def test_funcoder_run_end_to_end_writes_the_run_dir(tmp_path: Path) -> None:
    script = Script()
    (tmp_path / "t.yaml").write_text(TASK)
    calls: list[Any] = []

    def make_llm(budget: Any = None, on_call: Any = None) -> ScriptedLLM:
        def hook(record: Any) -> None:
            calls.append(record)
            if on_call is not None:
                on_call(record)

        return ScriptedLLM(script, budget=budget, on_call=hook)

    result = start_run(tmp_path / "t.yaml", tmp_path / "runs", make_llm=make_llm)
    summary = result.summary
    assert summary["stop_reason"] in ("target", "optimizer:exhausted")
    assert summary["best"]["score"] == 1.0 and summary["evaluations"] == 1
    run = result.run.path
    for name in ("events.jsonl", "summary.json", "best.json", "task.yaml"):
        assert (run / name).is_file(), name
    events = [json.loads(x) for x in (run / "events.jsonl").read_text().splitlines()]
    (proposal,) = [e for e in events if e["type"] == "proposal"]
    assert proposal["meta"]["prompt_version"] == PROMPT_VERSION
    (evaluation,) = [e for e in events if e["type"] == "evaluation"]
    assert evaluation["scores"]["hidden_pass_rate"] == 1.0
    llm_events = [e for e in events if e["type"] == "llm_call"]
    assert len(llm_events) == len(calls) == summary["llm"]["calls"] <= 40


DOUBLE = """
name: double
kind: code
sandbox: {backend: local}
optimizer: {name: funcoder, settings: {conquer_samples: 2, tests_per_function: 2}}
budget: {iterations: 4, llm_calls: 30}
stop: {target: 1.0}
code:
  problem:
    entry_point: double
    prompt: |
      def double(x: int) -> int:
          \"\"\"Return two times x.\"\"\"
    public_tests: [{input: [3], output: 6}]
"""


def test_failing_public_tests_lead_to_one_repair_round(tmp_path: Path) -> None:
    seen: list[ChatRequest] = []

    def model(request: ChatRequest) -> str:
        seen.append(request)
        system = request.messages[0]["content"]
        if system in (DIVIDE_SYSTEM, CONQUER_SYSTEM):
            repair = len(request.messages) > 4
            body = "return 2 * x" if repair else "return x * 3"
            return f"```python\ndef double(x: int) -> int:\n    {body}\n```"
        return "```python\ndouble(1)\ndouble(-4)\n```"

    (tmp_path / "t.yaml").write_text(DOUBLE)
    result = start_run(
        tmp_path / "t.yaml",
        tmp_path / "runs",
        make_llm=lambda budget=None, on_call=None: ScriptedLLM(
            model, budget=budget, on_call=on_call
        ),
    )
    assert result.summary["best"]["score"] == 1.0 and result.summary["evaluations"] == 2
    events = [json.loads(x) for x in (result.run.path / "events.jsonl").read_text().splitlines()]
    first, second = [e for e in events if e["type"] == "proposal"]
    assert first["meta"]["mode"] == "solve" and second["meta"]["mode"] == "repair"
    assert second["parent_ids"] == [first["id"]] and "2 * x" in second["payload"]["code"]
    repairs = [
        r for r in seen if len(r.messages) > 4 and r.messages[0]["content"] == CONQUER_SYSTEM
    ]
    assert repairs and "double(3) == 6" in repairs[0].messages[-1]["content"]
    # the run stopped at the target: nothing proposed after the passing program
    assert result.summary["stop_reason"] == "target"


def test_a_repair_never_proposes_the_program_that_already_failed(tmp_path: Path) -> None:
    """The repair round's consensus crowns the old program (its draft and two samples agree);
    the program proposed is the new one (issue 17: 9 proposals, 1 distinct program, 8 of them
    answered from the evaluation cache). A round with nothing new proposes the old one again,
    marked a repeat. And no two samples share a seed."""

    def model(request: ChatRequest) -> str:
        seeds.append(request.sample_seed)
        system = request.messages[0]["content"]
        if system in (DIVIDE_SYSTEM, CONQUER_SYSTEM):
            repair = len(request.messages) > 4
            body = "return x * 3"
            if repair and request.sample_index == 1 and "x + 4" not in json.dumps(asked):
                body = "return x + 4"  # new, and also wrong
            asked.append(body)
            return f"```python\ndef double(x: int) -> int:\n    {body}\n```"
        return "```python\ndouble(1)\ndouble(-4)\n```"

    asked: list[str] = []
    seeds: list[int | None] = []
    (tmp_path / "t.yaml").write_text(DOUBLE.replace("iterations: 4", "iterations: 3"))
    result = start_run(
        tmp_path / "t.yaml",
        tmp_path / "runs",
        make_llm=lambda budget=None, on_call=None: ScriptedLLM(
            model, budget=budget, on_call=on_call
        ),
    )
    events = [json.loads(x) for x in (result.run.path / "events.jsonl").read_text().splitlines()]
    proposals = [e for e in events if e["type"] == "proposal"]
    codes = [p["payload"]["code"].strip().splitlines()[-1].strip() for p in proposals]
    assert codes == ["return x * 3", "return x + 4", "return x * 3"]
    assert [p["meta"]["repeat"] for p in proposals] == [False, False, True]
    assert proposals[1]["meta"]["repeats"] >= 1  # the crowned old program was left out
    evaluated = [e for e in events if e["type"] == "evaluation"]
    assert [e["cached"] for e in evaluated] == [False, False, True]
    # every sample had a seed of its own: two repair rounds after the same failure (the same
    # prompt) drew with different seeds (they shared all but one before)
    assert len(seeds) > 6 and len(set(seeds)) == len(seeds)


def test_state_resumes_in_a_fresh_optimizer(local_sandbox: Sandbox) -> None:
    ctx = _ctx(Script())
    opt = FunCoderOptimizer(ctx, {"conquer_samples": 3}, sandbox=local_sandbox)
    (cand,) = opt.propose(1)
    from workbench.contracts import Evaluation

    opt.observe([Evaluation(cand.id, "ok", {"public_pass_rate": 0.0}, "public_pass_rate")])
    fresh = FunCoderOptimizer(ctx, {"conquer_samples": 3}, sandbox=local_sandbox)
    fresh.load_state(json.loads(json.dumps(opt.state())))
    assert fresh.best == opt.best and fresh.count == 1 and fresh.inputs == opt.inputs
    (again,) = fresh.propose(1)
    assert again.id != cand.id and again.meta["mode"] == "repair"


def test_docstring_examples_of_the_generator_modules() -> None:
    import doctest

    from workbench.optimizers.codegen.funcoder import steps

    result = doctest.testmod(steps)
    assert result.attempted > 0 and result.failed == 0


def test_depth_limit_leaves_helpers_to_conquer(local_sandbox: Sandbox) -> None:
    script = Script()
    opt = FunCoderOptimizer(
        _ctx(script), {"max_depth": 0, "conquer_samples": 3}, sandbox=local_sandbox
    )
    (cand,) = opt.propose(1)
    assert "divide-is_prime" not in script.seen  # not divided below the root
    helper = next(r for r in cand.meta["consensus"] if r["function"] == "is_prime")
    assert helper["candidates"] == 3  # no divide draft of the helper: the three samples only
    assert "ValueError" not in cand.payload["code"] and "def is_prime" in cand.payload["code"]


DIRECT_RIGHT = (
    "```python\ndef count_primes(n: int) -> int:\n    return sum(1 for k in range(2, n + 1) "
    "if all(k % d for d in range(2, k)))\n```"
)


class DirectScript(Script):
    """`Script`, but the direct root sample (greedy, no `is_prime` in its prompt) is right."""

    def __call__(self, request: ChatRequest) -> str:
        system, task = request.messages[0]["content"], request.messages[3]["content"]
        if system == CONQUER_SYSTEM and "is_prime" not in task and request.temperature == 0:
            self.seen.append("direct")
            return DIRECT_RIGHT
        return super().__call__(request)


def test_tight_budget_gives_the_root_its_vote_before_refining_helpers(
    local_sandbox: Sandbox,
) -> None:
    """9 calls: divide root + helper + direct (3) leave 6; refining the helper (3 + 1) would
    leave the root too little for its vote (3 + 1) and a repair (3), so the helper keeps its
    divide version (the wrong architect) and the root votes; the direct sample, the only one
    passing the public test, wins."""
    budget = Budget(calls=9)
    script = DirectScript()
    opt = FunCoderOptimizer(_ctx(script, budget), {"conquer_samples": 3}, sandbox=local_sandbox)
    (cand,) = opt.propose(1)
    assert script.seen[:3] == ["divide-count_primes", "divide-is_prime", "direct"]
    assert "conquer-is_prime" not in script.seen and "tests-is_prime" not in script.seen
    assert script.seen.count("conquer-count_primes") == 3
    (vote,) = cand.meta["consensus"]
    # the architect's root, the direct one, then the 3 samples, which use the wrong helper
    # like the architect (identical programs): 5 candidates, 3 model-written inputs
    assert vote["function"] == "count_primes" and vote["candidates"] == 5
    assert vote["inputs"] == 3 and vote["best"] == 1 and cand.meta["mode"] == "solve"
    assert "def is_prime" not in cand.payload["code"] and "range(2, n + 1)" in cand.payload["code"]
    assert budget.spent.calls == 7 == cand.meta["llm_calls"]  # 2 left for a repair round


def test_unlimited_budget_conquers_every_function(local_sandbox: Sandbox) -> None:
    script = DirectScript()
    opt = FunCoderOptimizer(_ctx(script), {"conquer_samples": 3}, sandbox=local_sandbox)
    (cand,) = opt.propose(1)
    assert [v["function"] for v in cand.meta["consensus"]] == ["is_prime", "count_primes"]
    assert script.seen.count("conquer-is_prime") == 3 and script.seen.count("direct") == 1


def test_no_direct_sample_when_the_root_needs_no_helper(local_sandbox: Sandbox) -> None:
    script = DirectScript(divide_first=DIRECT_RIGHT)
    opt = FunCoderOptimizer(_ctx(script), {"conquer_samples": 3}, sandbox=local_sandbox)
    opt.propose(1)
    assert "direct" not in script.seen and "divide-is_prime" not in script.seen
    script = DirectScript()
    opt = FunCoderOptimizer(
        _ctx(script), {"conquer_samples": 3, "direct": False}, sandbox=local_sandbox
    )
    opt.propose(1)
    assert "direct" not in script.seen


def test_test_inputs_are_asked_once_and_reused_by_the_repair_round(
    local_sandbox: Sandbox,
) -> None:
    seen: list[str] = []
    wrong, other = "return n // 2", "return n // 3"

    def model(request: ChatRequest) -> str:
        system = request.messages[0]["content"]
        if system == DIVIDE_SYSTEM:
            seen.append("divide")
            body = wrong
        elif system == CONQUER_SYSTEM:
            repair = len(request.messages) > 4
            seen.append("repair" if repair else "conquer")
            bodies = [DIRECT_RIGHT, DIRECT_RIGHT, wrong] if repair else [wrong, other, wrong]
            body = bodies[request.sample_index % 3]
            if body.startswith("```"):
                return body
        else:
            seen.append("tests")
            return "```python\ncount_primes(10)\ncount_primes(2)\ncount_primes(30)\n```"
        return f"```python\ndef count_primes(n: int) -> int:\n    {body}\n```"

    task = build_task(parse_task_text(TASK, REPO, source="t.yaml"))
    llm = ScriptedLLM(model)
    ctx = RunContext(task=task, seed=0, make_llm=lambda **_: llm)
    opt = FunCoderOptimizer(ctx, {"conquer_samples": 3}, sandbox=local_sandbox)
    (first,) = opt.propose(1)
    from workbench.contracts import Evaluation

    failed = "FAILED public_0: count_primes(10) == 4"
    opt.observe(
        [Evaluation(first.id, "ok", {"public_pass_rate": 0.0}, "public_pass_rate", feedback=failed)]
    )
    state = json.loads(json.dumps(opt.state()))
    fresh = FunCoderOptimizer(ctx, {"conquer_samples": 3}, sandbox=local_sandbox)
    fresh.load_state(state)  # the inputs survive a resume
    (second,) = fresh.propose(1)
    assert seen.count("tests") == 1 and seen.count("repair") == 3
    (vote,) = second.meta["consensus"]
    assert vote["inputs"] == 3 and "range(2, n + 1)" in second.payload["code"]


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_a_tie_goes_to_the_divide_draft_whatever_the_seed(
    local_sandbox: Sandbox, seed: int
) -> None:
    """The draft and the samples agree on every model-written input and pass the public test,
    but differ where nobody looked (n = 1): the draft, the lowest-temperature answer, wins."""
    count = "sum(1 for k in range(2, n + 1) if all(k % d for d in range(2, k)))"
    draft = f"return {count}"
    samples = [f"return {wrong} if n == 1 else {count}" for wrong in (5, 7, 9)]

    def model(request: ChatRequest) -> str:
        system = request.messages[0]["content"]
        if system in (DIVIDE_SYSTEM, CONQUER_SYSTEM):
            body = draft if system == DIVIDE_SYSTEM else samples[request.sample_index % 3]
            return f"```python\ndef count_primes(n: int) -> int:\n    {body}\n```"
        return "```python\ncount_primes(10)\ncount_primes(2)\ncount_primes(30)\n```"

    task = build_task(parse_task_text(TASK, REPO, source="t.yaml"))
    llm = ScriptedLLM(model)
    ctx = RunContext(task=task, seed=seed, make_llm=lambda **_: llm)
    opt = FunCoderOptimizer(ctx, {"conquer_samples": 3}, sandbox=local_sandbox)
    (cand,) = opt.propose(1)
    (vote,) = cand.meta["consensus"]
    assert vote["candidates"] == 4 and len(set(vote["scores"])) == 1  # a four-way tie
    assert vote["best"] == 0 and "if n == 1" not in cand.payload["code"]


def test_learned_instruction_and_exemplars_reach_divide_and_conquer(
    local_sandbox: Sandbox,
) -> None:
    seen: list[list[dict[str, Any]]] = []
    script = Script()

    def model(request: ChatRequest) -> str:
        seen.append(list(request.messages))
        messages = list(request.messages)
        system, guided = str(messages[0]["content"]).split("\n\nAlways", 1)[0], len(messages) > 4
        if guided:  # the scripted model answers the unguided prompt it knows
            messages = [{**messages[0], "content": system}, *messages[1:3], *messages[5:]]
        return script(dataclasses.replace(request, messages=tuple(messages)))

    shot = (
        'def double(x: int) -> int:\n    """2 * x."""',
        "def double(x: int) -> int:\n    return 2*x",
    )
    settings = {
        "conquer_samples": 3,
        "instruction": "Always handle n < 2 first.",
        "exemplars": [{"problem": shot[0], "solution": shot[1]}],
    }
    task = build_task(parse_task_text(TASK, REPO, source="t.yaml"))
    llm = ScriptedLLM(model)
    ctx = RunContext(task=task, seed=0, make_llm=lambda **_: llm)
    (cand,) = FunCoderOptimizer(ctx, settings, sandbox=local_sandbox).propose(1)
    assert "k % 2 == 1" not in cand.payload["code"]  # the same consensus as unguided
    guided_calls = [m for m in seen if m[0]["content"].startswith((DIVIDE_SYSTEM, CONQUER_SYSTEM))]
    assert guided_calls and len(guided_calls) == len(
        [m for m in seen if "You write test inputs" not in m[0]["content"]]
    )  # every divide and conquer call is guided; the test-input calls are not
    for messages in guided_calls:
        assert messages[0]["content"].endswith("\n\nAlways handle n < 2 first.")
        assert messages[3]["content"] == f"```python\n{shot[0]}\n```"  # after the built-in shot
        assert messages[4] == {"role": "assistant", "content": f"```python\n{shot[1]}\n```"}
    with pytest.raises(SettingsError, match="exemplars"):
        make_optimizer("funcoder", {"exemplars": [{"problem": "def f(): ..."}]}, ctx)
