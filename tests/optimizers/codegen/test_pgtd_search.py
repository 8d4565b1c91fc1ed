"""PG-TD search on a scripted "language model" over a tiny vocabulary.

The model writes ``return X op Y``. Greedy decoding says ``return a + b``; the reward (tests of
``f(a, b) = a * b``) prefers ``return a * b``, whose ``*`` is only the model's third choice.
"""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from workbench.errors import BudgetExceeded
from workbench.optimizers.codegen.pgtd import PGTDSearch

EOS, RET, A, B, PLUS, MINUS, TIMES, ONE = range(8)
PROMPT = (99,)
WORDS = {EOS: "", RET: "return ", A: "a", B: "b", PLUS: " + ", MINUS: " - ", TIMES: " * ", ONE: "1"}
OPERANDS = {A, B, ONE}
OPERATORS = {PLUS, MINUS, TIMES}
TESTS = [(2, 3), (0, 5), (4, 4), (1, 7)]


def next_logprobs(generated: Sequence[int]) -> list[tuple[int, float]]:
    """The scripted model: logprobs of the plausible next tokens (most likely first)."""
    g = list(generated)
    if not g:
        return [(RET, -0.1), (A, -3.0), (B, -4.0)]
    if g == [RET]:
        return [(A, -0.2), (B, -1.8), (ONE, -3.0)]
    if len(g) == 2 and g[1] in OPERANDS:
        return [(PLUS, -0.3), (MINUS, -1.5), (TIMES, -2.0), (EOS, -2.5)]
    if len(g) == 3 and g[2] in OPERATORS:
        return [(B, -0.2), (A, -1.9), (ONE, -2.5)]
    return [(EOS, -0.05), (PLUS, -3.5), (TIMES, -4.0)]


def text_of(generated: Sequence[int]) -> str:
    return "".join(WORDS[t] for t in generated if t != EOS)


def toy_reward(program: str) -> float:
    """Pass rate of ``f(a, b) == a * b`` on TESTS for programs ``return X [op Y]``."""
    words = program.removeprefix("return ").split()

    def value(word: str, a: int, b: int) -> int | None:
        return {"a": a, "b": b, "1": 1}.get(word)

    passed = 0
    for a, b in TESTS:
        if len(words) == 1:
            got = value(words[0], a, b)
        elif len(words) == 3:
            x, y = value(words[0], a, b), value(words[2], a, b)
            ops = {"+": lambda p, q: p + q, "-": lambda p, q: p - q, "*": lambda p, q: p * q}
            got = None if x is None or y is None else ops[words[1]](x, y)
        else:
            got = None
        passed += got == a * b
    return passed / len(TESTS)


class ScriptedModel:
    """`topk` / `rollout` callables over `next_logprobs`, counting what they are asked."""

    def __init__(self, horizon: int = 6, report_steps: bool = True) -> None:
        self.horizon = horizon
        self.report_steps = report_steps
        self.topk_prefixes: list[tuple[int, ...]] = []
        self.rollout_prefixes: list[tuple[int, ...]] = []

    def topk(self, prefix: Sequence[int]) -> list[tuple[int, float]]:
        self.topk_prefixes.append(tuple(prefix))
        return next_logprobs(prefix[len(PROMPT) :])

    def rollout(self, prefix: Sequence[int]) -> tuple:
        self.rollout_prefixes.append(tuple(prefix))
        ids = list(prefix)
        steps = []
        while (len(ids) == len(PROMPT) or ids[-1] != EOS) and len(ids) - len(PROMPT) < self.horizon:
            options = next_logprobs(ids[len(PROMPT) :])
            steps.append(options)
            ids.append(options[0][0])
        text = text_of(ids[len(PROMPT) :])
        return (ids, text, steps) if self.report_steps else (ids, text)


def _search(model: ScriptedModel, **kwargs: object) -> PGTDSearch:
    rewards: list[str] = []

    def reward(text: str) -> float:
        rewards.append(text)
        return toy_reward(text)

    search = PGTDSearch(
        PROMPT,
        topk=model.topk,
        rollout=model.rollout,
        reward=reward,
        eos_ids=[EOS],
        decode=text_of,
        horizon=model.horizon,
        **kwargs,  # type: ignore[arg-type]
    )
    search.reward_log = rewards  # type: ignore[attr-defined]
    return search


def test_toy_reward_prefers_the_product() -> None:
    assert toy_reward("return a * b") == 1.0
    assert toy_reward("return a + b") == 0.0
    assert toy_reward("return a") == 0.25  # only (0, 5)


def test_greedy_decoding_misses_the_program() -> None:
    _, greedy_text, _ = ScriptedModel().rollout(PROMPT)
    assert greedy_text == "return a + b"
    assert toy_reward(greedy_text) == 0.0


@pytest.mark.parametrize("report_steps", [True, False])
def test_search_finds_the_program_within_budget(report_steps: bool) -> None:
    model = ScriptedModel(report_steps=report_steps)
    result = _search(model, max_calls=30, early_stop=1.0).run()
    assert result.best is not None
    assert result.best.text == "return a * b"
    assert result.best.reward == 1.0
    assert result.stopped == "early_stop"
    assert result.counters.model_calls <= 30
    assert result.counters.model_calls == len(model.topk_prefixes) + len(model.rollout_prefixes)
    assert result.programs[0].text == "return a + b"  # the first rollout is the greedy one


def test_without_early_stop_the_search_exhausts_the_tiny_tree_and_keeps_the_best() -> None:
    model = ScriptedModel(horizon=4)
    result = _search(model, max_calls=500, max_simulations=2000).run()
    assert result.stopped == "exhausted"
    assert result.best is not None and result.best.text == "return a * b"
    texts = [p.text for p in result.programs]
    assert len(texts) == len(set(texts))  # each program scored once


def test_rollout_steps_fill_the_topk_cache_and_save_calls() -> None:
    with_steps = ScriptedModel(report_steps=True)
    r1 = _search(with_steps, max_simulations=12).run()
    without = ScriptedModel(report_steps=False)
    r2 = _search(without, max_simulations=12).run()
    # same decisions either way: the cached top-k equals what the model would say
    assert [p.text for p in r1.programs] == [p.text for p in r2.programs]
    assert r1.counters.topk_hits > 0 and r2.counters.topk_hits == 0
    assert r1.counters.topk_calls + r1.counters.topk_hits == r2.counters.topk_calls
    assert len(with_steps.topk_prefixes) == r1.counters.topk_calls
    assert r1.counters.model_calls < r2.counters.model_calls


def test_no_prefix_is_asked_twice_and_rewards_are_cached() -> None:
    model = ScriptedModel()
    search = _search(model, max_simulations=40)
    result = search.run()
    assert len(model.topk_prefixes) == len(set(model.topk_prefixes))
    assert len(model.rollout_prefixes) == len(set(model.rollout_prefixes))
    log = search.reward_log  # type: ignore[attr-defined]
    assert len(log) == len(set(log)) == result.counters.reward_calls
    assert result.counters.reward_hits > 0
    assert result.counters.simulations == 40


def test_greedy_rollouts_serve_longer_prefixes_along_them() -> None:
    model = ScriptedModel()
    search = _search(model, max_simulations=3)
    search.run()
    # the first rollout starts at (99, RET) (the root itself is never rolled out, as in the
    # anchor); the second simulation reaches (99, RET, A), which that rollout went through
    assert model.rollout_prefixes[0] == (99, RET)
    assert search.counters.rollout_hits >= 1
    assert (99, RET, A) not in model.rollout_prefixes


def test_sampling_rollouts_are_cached_for_their_exact_prefix_only() -> None:
    model = ScriptedModel()
    search = _search(model, max_simulations=3, greedy_rollouts=False)
    search.run()
    assert search.counters.rollout_hits == 0
    assert model.rollout_prefixes[:2] == [(99, RET), (99, RET, A)]


def test_call_budget_stops_the_search() -> None:
    model = ScriptedModel()
    result = _search(model, max_calls=3).run()
    assert result.stopped == "calls"
    assert result.counters.model_calls == 3
    assert len(model.topk_prefixes) + len(model.rollout_prefixes) == 3
    assert result.best is not None  # what was found is kept


def test_llm_budget_exceeded_ends_the_search_with_what_was_found() -> None:
    model = ScriptedModel(report_steps=False)
    calls = {"n": 0}

    def metered_topk(prefix: Sequence[int]) -> list[tuple[int, float]]:
        calls["n"] += 1
        if calls["n"] > 2:
            raise BudgetExceeded("llm_calls", 2, 2)
        return model.topk(prefix)

    search = PGTDSearch(
        PROMPT,
        topk=metered_topk,
        rollout=model.rollout,
        reward=toy_reward,
        eos_ids=[EOS],
        decode=text_of,
        horizon=6,
    )
    result = search.run()
    assert result.stopped == "budget"
    assert result.best is not None
    assert result.to_dict()["stopped"] == "budget"


def test_terminal_prefix_without_decode_goes_to_rollout() -> None:
    seen: list[tuple[int, ...]] = []

    def rollout(prefix: Sequence[int]) -> tuple:
        seen.append(tuple(prefix))
        return (tuple(prefix), "x" * (len(prefix) - 1))

    search = PGTDSearch(
        [7],
        topk=lambda p: [(0, -0.1), (1, -0.2)],
        rollout=rollout,
        reward=lambda text: float(len(text)),
        eos_ids=[0],
        horizon=2,
        max_simulations=50,
    )
    result = search.run()
    assert result.stopped == "exhausted"
    assert result.best is not None and result.best.text == "xx"
    assert len(seen) == len(set(seen))
