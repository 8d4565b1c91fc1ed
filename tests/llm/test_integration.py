"""Against a real llama-server with smollm2 (marker `llm`; see tests/fixtures/llm.py)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable

import pytest
from pydantic import BaseModel

from workbench.errors import BudgetExceeded
from workbench.llm import Budget, CallRecord, LLMClient

pytestmark = pytest.mark.llm


def ask(text: str) -> list[dict]:
    return [{"role": "user", "content": text}]


def test_chat_round_trip(llm_client: LLMClient) -> None:
    result = llm_client.chat(ask("Say hello."), max_tokens=16, seed=1)
    assert result.text.strip() and not result.cached
    assert result.prompt_tokens > 0 and 0 < result.completion_tokens <= 16
    assert llm_client.usage.calls == 1 and llm_client.usage.tokens == (
        result.prompt_tokens + result.completion_tokens
    )


def test_stop_sequence_is_honoured(llm_client: LLMClient) -> None:
    result = llm_client.chat(
        ask("Count from 1 to 20 separated by commas."), max_tokens=48, stop=["5"]
    )
    assert "5" not in result.text and "6" not in result.text


def test_n_samples_at_temperature_are_distinct(llm_client: LLMClient) -> None:
    result = llm_client.chat(
        ask("Invent a name for a cat."), n=4, temperature=1.2, seed=7, max_tokens=16
    )
    assert len(result.texts) == 4
    assert len(set(result.texts)) >= 3


def test_completion_from_token_ids_with_top_k_logprobs(llm_client: LLMClient) -> None:
    ids = llm_client.tokenize("def add(a, b):\n    return")
    assert ids and llm_client.detokenize(ids) == "def add(a, b):\n    return"
    result = llm_client.complete(ids, max_tokens=3, logprobs=5)
    assert len(result.tokens) == result.completion_tokens > 0
    first = result.tokens[0]
    assert len(first.top) == 5 and all(tid is not None for _, tid, _ in first.top)
    assert first.id == first.top[0][1] and first.logprob == pytest.approx(first.top[0][2])
    assert [lp for *_, lp in first.top] == sorted((lp for *_, lp in first.top), reverse=True)
    assert result.text.startswith(first.token)
    # PG-TD's call: the next token's top-k at an exact prefix, extended by a chosen id
    step = llm_client.complete([*ids, first.top[1][1]], max_tokens=1, logprobs=3)
    assert len(step.tokens) == 1 and len(step.tokens[0].top) == 3


class Person(BaseModel):
    name: str
    age: int


def test_json_schema_output_into_pydantic(llm_client: LLMClient) -> None:
    result = llm_client.structured(
        ask("Describe a person as JSON with name and age."), Person, max_tokens=48, seed=3
    )
    assert result.ok, (result.error, result.raw)
    assert isinstance(result.value, Person) and result.value.name
    assert llm_client.usage.parse_failures == 0


def test_second_identical_call_is_a_cache_hit_with_zero_tokens(
    make_llm_client: Callable[..., LLMClient],
) -> None:
    records: list[CallRecord] = []
    budget = Budget(tokens=10_000)
    llm = make_llm_client(budget=budget, on_call=records.append)
    messages = ask(f"Repeat this id: {uuid.uuid4().hex[:8]}")
    first = llm.chat(messages, max_tokens=16)
    charged = budget.spent.tokens
    second = llm.chat(messages, max_tokens=16)
    assert second.texts == first.texts and second.cached and not first.cached
    assert [r.cached for r in records] == [False, True]
    assert records[1].prompt_tokens == records[1].completion_tokens == 0
    assert budget.spent.tokens == charged > 0
    assert llm.usage.cache_hits == 1


def test_budget_stops_the_run(make_llm_client: Callable[..., LLMClient]) -> None:
    budget = Budget(calls=2)
    llm = make_llm_client(budget=budget, cache=False)
    llm.chat(ask("One."), max_tokens=4)
    llm.chat(ask("Two."), max_tokens=4)
    with pytest.raises(BudgetExceeded) as info:
        llm.chat(ask("Three."), max_tokens=4)
    assert info.value.limit == "llm_calls" and llm.usage.calls == 2


def test_async_calls_run_concurrently(llm_client: LLMClient) -> None:
    async def many() -> list:
        return await asyncio.gather(
            *(llm_client.achat(ask(f"Say {i}."), max_tokens=8) for i in range(3))
        )

    results = asyncio.run(many())
    assert len(results) == 3 and all(r.text for r in results)


def test_server_reports_the_reused_prompt_prefix(
    make_llm_client: Callable[..., LLMClient],
) -> None:
    """llama-server keeps a slot's KV cache: a longer prompt with the same start reuses it."""
    llm = make_llm_client()
    head = f"Session {uuid.uuid4().hex}. " + "Numbers: " + " ".join(map(str, range(120)))
    first = llm.chat(ask(head), max_tokens=4, seed=1)
    second = llm.chat(ask(head + " And one more question: what is 2+2?"), max_tokens=4, seed=1)
    assert first.cached_prompt_tokens < first.prompt_tokens
    assert second.cached_prompt_tokens >= 100  # most of the shared head was not recomputed
    both = first.cached_prompt_tokens + second.cached_prompt_tokens
    assert llm.usage.cached_prompt_tokens == both
