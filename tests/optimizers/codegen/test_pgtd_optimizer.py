"""The `pgtd` optimizer on a scripted character-level model (ScriptedLLM: token ids = bytes).

The scripted model writes ``return a + b`` greedily; the public tests want ``a * b``, whose
``*`` is the model's second choice at one position. PG-TD must find it within its call budget.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from workbench.contracts import Evaluation
from workbench.errors import BudgetExceeded, ConfigError, EndpointError
from workbench.llm import Budget, CompletionRequest, CompletionResult, ScriptedLLM, TokenLogprob
from workbench.optimizers import RunContext, make_optimizer
from workbench.optimizers.codegen.pgtd.llm import TokenModel
from workbench.optimizers.codegen.pgtd.optimizer import PGTDOptimizer
from workbench.optimizers.codegen.pgtd.prompts import PROMPT_VERSION
from workbench.sandbox import LocalSandbox
from workbench.tasks.code import CodeProblem, problem_from_dict

PROMPT = 'def mul(a, b):\n    """Return a times b."""\n'
BRANCH = "    return a "
OPS = [("+", -0.2), ("*", -1.9), ("-", -2.5)]
ENDING = "b\n```\nThis function multiplies."


class CodeTask:
    """The smallest task the optimizer accepts: it shows a `CodeProblem` (the
    `ProvidesPublicProblem` capability)."""

    def __init__(self, problem: CodeProblem) -> None:
        self.problem = problem

    def public_problem(self) -> CodeProblem:
        return self.problem


def mul_problem() -> CodeProblem:
    return problem_from_dict(
        {
            "task_id": "toy/mul",
            "entry_point": "mul",
            "prompt": PROMPT,
            "public_tests": [{"input": [2, 3], "output": 6}, {"input": [4, 5], "output": 20}],
            "hidden_tests": [{"input": [0, 7], "output": 0}],
        }
    )


def next_chars(generated: str) -> list[tuple[str, float]]:
    """The scripted model: the most likely next characters after `generated`."""
    if generated == BRANCH:
        return list(OPS)
    for op, _ in OPS:
        target = BRANCH + op + " " + ENDING
        if target.startswith(generated) and len(generated) < len(target):
            nxt = target[len(generated)]
            break
    else:
        nxt = "`"  # off script: close the fence
    return [(nxt, -0.01), *[(c, lp) for c, lp in (("#", -5.0), ("x", -6.0)) if c != nxt]]


class CharModel:
    """`fn(request)` for ScriptedLLM, emulating llama-server's completions with logprobs."""

    def __init__(self, with_ids: bool = True) -> None:
        self.with_ids = with_ids
        self.requests: list[CompletionRequest] = []

    def __call__(self, request: Any) -> Any:
        assert isinstance(request, CompletionRequest), "pgtd only sends completions"
        self.requests.append(request)
        assert not isinstance(request.prompt, str), "pgtd sends token ids"
        text = bytes(request.prompt).decode()
        generated = text.rsplit(PROMPT, 1)[1]
        k = request.logprobs or 1
        out, tokens = "", []
        for _ in range(request.max_tokens):
            alts = next_chars(generated + out)[:k]
            char, lp = alts[0]
            tid = ord(char) if self.with_ids else None
            top = [(c, ord(c) if self.with_ids else None, p) for c, p in alts]
            tokens.append(TokenLogprob(char, tid, lp, top))
            out += char
            if request.stop and any(s in out for s in request.stop):
                cut = min(out.index(s) for s in request.stop if s in out)
                return CompletionResult(out[:cut], "scripted", tokens, finish_reason="stop")
        return CompletionResult(out, "scripted", tokens, finish_reason="length")


@pytest.fixture
def sandbox() -> Iterator[LocalSandbox]:
    with LocalSandbox() as box:
        yield box


def make(
    fn: Any, sandbox: LocalSandbox, budget: Budget | None = None, **settings: Any
) -> PGTDOptimizer:
    llm = ScriptedLLM(fn, budget=budget)
    ctx = RunContext(task=CodeTask(mul_problem()), make_llm=lambda **_: llm)
    return PGTDOptimizer(ctx, {"horizon": 40, **settings}, sandbox=sandbox)


def drain(opt: PGTDOptimizer, n: int = 2) -> list[Any]:
    out = []
    for _ in range(50):
        got = opt.propose(n)
        if not got:
            return out
        out += got
    raise AssertionError("the optimizer never ran out of proposals")


def test_finds_the_second_choice_token_within_budget(sandbox: LocalSandbox) -> None:
    model = CharModel()
    opt = make(model, sandbox, max_calls=12)
    cands = drain(opt)
    codes = [c.payload["code"] for c in cands]
    assert PROMPT + "    return a + b\n" in codes  # the greedy program was found too
    assert cands[0].payload == {"code": PROMPT + "    return a * b\n", "language": "python"}
    assert cands[0].meta["public_reward"] == 1.0
    assert cands[0].meta["prompt_version"] == PROMPT_VERSION
    assert opt.stopped == "early_stop"
    assert opt.search is not None and opt.search.counters.model_calls <= 12
    assert len(model.requests) == opt.search.counters.model_calls  # every call is counted
    assert opt.template == "chatml"  # no server template behind a ScriptedLLM


def test_greedy_program_is_proposed_with_its_public_reward(sandbox: LocalSandbox) -> None:
    opt = make(CharModel(), sandbox, max_calls=12)
    first = opt.propose(1)
    assert [c.payload["code"] for c in first] == [PROMPT + "    return a + b\n"]
    assert first[0].meta["public_reward"] == 0.0


def test_call_budget_is_respected(sandbox: LocalSandbox) -> None:
    model = CharModel()
    opt = make(model, sandbox, max_calls=3, early_stop=None)
    cands = drain(opt, n=4)
    assert opt.stopped == "calls"
    assert len(model.requests) == 3
    assert cands and all(c.payload["language"] == "python" for c in cands)


def test_run_budget_ends_the_search_cleanly(sandbox: LocalSandbox) -> None:
    model = CharModel()
    opt = make(model, sandbox, budget=Budget(calls=2), max_calls=50, early_stop=None)
    cands = drain(opt)
    assert opt.stopped == "budget"
    assert len(model.requests) == 2
    assert [c.payload["code"] for c in cands] == [PROMPT + "    return a + b\n"]


def test_endpoint_without_token_ids_fails_clearly(sandbox: LocalSandbox) -> None:
    opt = make(CharModel(with_ids=False), sandbox)
    with pytest.raises(EndpointError, match="token-id prompt"):
        opt.propose(1)


def test_endpoint_without_logprobs_fails_clearly(sandbox: LocalSandbox) -> None:
    opt = make(lambda request: "def", sandbox)
    with pytest.raises(EndpointError, match="no token logprobs"):
        opt.propose(1)


def test_endpoint_that_cannot_tokenize_fails_clearly(sandbox: LocalSandbox) -> None:
    class NoTokenizer(ScriptedLLM):
        def tokenize(self, text: str) -> list[int]:
            raise NotImplementedError("OpenAIClient cannot tokenize")

    llm = NoTokenizer(CharModel())
    ctx = RunContext(task=CodeTask(mul_problem()), make_llm=lambda **_: llm)
    with pytest.raises(EndpointError, match=r"cannot tokenize.*vllm"):
        PGTDOptimizer(ctx, {}, sandbox=sandbox).propose(1)


def test_generator_sees_no_hidden_tests() -> None:
    from workbench.tasks.code.kind import CodeTask as KindTask

    task = KindTask("mul", mul_problem())
    opt = PGTDOptimizer(RunContext(task=task), {})
    assert opt.problem.hidden_tests == [] and len(opt.problem.public_tests) == 2
    assert task.problem.hidden_tests  # the task keeps them for scoring


def test_needs_a_code_task() -> None:
    with pytest.raises(ConfigError, match="kind: code"):
        PGTDOptimizer(RunContext(task=None), {})


def test_settings_are_validated_through_the_registry() -> None:

    ctx = RunContext(task=CodeTask(mul_problem()))
    with pytest.raises(ConfigError, match=r"optimizer\.settings\.widht: unknown key"):
        make_optimizer("pgtd", {"widht": 3}, ctx)
    opt = make_optimizer("pgtd", {"width": 2, "max_calls": 7}, ctx)
    assert isinstance(opt, PGTDOptimizer) and opt.settings.max_calls == 7


def test_state_round_trips_and_resumes_without_model_calls(sandbox: LocalSandbox) -> None:
    import json

    model = CharModel()
    opt = make(model, sandbox, max_calls=30, early_stop=None)
    first = opt.propose(2)
    opt.observe([Evaluation(first[0].id, "ok", {"pass_rate": 0.0}, primary="pass_rate")])
    state = json.loads(json.dumps(opt.state()))
    calls_before = len(model.requests)
    assert opt.search is not None
    tree_before = opt.search.counters.to_dict()

    replay_model = CharModel()
    resumed = make(replay_model, sandbox, max_calls=30, early_stop=None)
    resumed.load_state(state)
    resumed._start()
    assert resumed.search is not None
    assert resumed.search.counters.to_dict() == tree_before
    assert replay_model.requests == []  # the tree came back from the saved answers
    assert resumed.scores == {first[0].id: {"pass_rate": 0.0}}
    rest_a = [c.payload["code"] for c in opt.propose(3)]
    rest_b = [c.payload["code"] for c in resumed.propose(3)]
    assert rest_a == rest_b  # the resumed search continues exactly as the unbroken one
    assert len(model.requests) - calls_before == len(replay_model.requests)
    assert {c.id for c in first}.isdisjoint({c.id for c in resumed.propose(1)})


def test_token_model_ends_programs_at_the_fence() -> None:
    llm = ScriptedLLM(CharModel())
    model = TokenModel(llm, prefill=PROMPT, logprobs=3, horizon=30)
    prompt = model.prompt_ids("<|im_start|>assistant\n```python\n" + PROMPT)
    ids, text, steps = model.rollout(prompt)
    assert text == PROMPT + "    return a + b\n"
    assert len(steps) == len(ids) - len(prompt)
    assert model.is_stop(tuple(ids)) and not model.is_stop(tuple(ids[:-1]))
    with pytest.raises(BudgetExceeded):
        budgeted = TokenModel(ScriptedLLM(CharModel(), budget=Budget(calls=0)))
        budgeted.topk(prompt)


def test_stop_hook_makes_a_prefix_terminal() -> None:
    from workbench.optimizers.codegen.pgtd import SearchTree

    tree = SearchTree([0], eos_ids=[9], stop=lambda prefix: prefix[-1] == 7)
    children = tree.expand(tree.root, [(7, -0.1), (5, -0.2), (9, -0.3)])
    assert [c.terminal for c in children] == [True, False, True]
    assert not SearchTree([0], eos_ids=[9]).is_terminal((0, 7))
