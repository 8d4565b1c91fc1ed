"""Request -> cache key, and the cache wrapper's accounting."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from workbench.llm import (
    Budget,
    CallRecord,
    ChatRequest,
    CompletionRequest,
    ResponseCache,
    ScriptedLLM,
)

BASE = ChatRequest(
    model="m",
    messages=({"role": "user", "content": "hi"},),
    temperature=0.7,
    seed=3,
    max_tokens=16,
    stop=("\n",),
    response_format=None,
)


@pytest.mark.parametrize(
    "change",
    [
        {"model": "other"},
        {"messages": ({"role": "user", "content": "hi!"},)},
        {"temperature": 0.8},
        {"seed": 4},
        {"seed": None},
        {"max_tokens": 17},
        {"stop": ("\n\n",)},
        {"response_format": {"type": "json_object"}},
        {"sample_index": 1},
    ],
)
def test_every_request_field_changes_the_chat_key(change: dict) -> None:
    assert replace(BASE, **change).key() != BASE.key()


def test_key_is_stable_and_ignores_the_accounting_kind() -> None:
    same = ChatRequest(
        model="m",
        messages=({"content": "hi", "role": "user"},),
        temperature=0.7,
        seed=3,
        max_tokens=16,
        stop=("\n",),
    )
    assert same.key() == BASE.key()
    assert replace(BASE, kind="repair").key() == BASE.key()
    assert len(BASE.key()) == 64


@pytest.mark.parametrize(
    "change",
    [
        {"prompt": (1, 2, 4)},
        {"prompt": "1 2 3"},
        {"logprobs": 5},
        {"max_tokens": 2},
        {"temperature": 1.0},
        {"seed": 1},
        {"stop": ("x",)},
        {"model": "n"},
    ],
)
def test_every_request_field_changes_the_completion_key(change: dict) -> None:
    base = CompletionRequest(model="m", prompt=(1, 2, 3))
    assert replace(base, **change).key() != base.key()


def test_chat_and_completion_keys_never_collide() -> None:
    assert CompletionRequest(model="m", prompt="hi").key() != ChatRequest("m", ()).key()


def _counting_llm(tmp_path: Path, **kwargs) -> tuple[ScriptedLLM, list]:
    seen: list = []

    def answer(request):
        seen.append(request)
        if isinstance(request, CompletionRequest):
            return f"completion of {request.prompt}"
        return f"sample {request.sample_index} seed {request.sample_seed}"

    return ScriptedLLM(answer, cache=ResponseCache(tmp_path / "c.sqlite"), **kwargs), seen


def test_hit_costs_no_tokens_but_is_recorded(tmp_path: Path) -> None:
    records: list[CallRecord] = []
    budget = Budget(tokens=1000)
    llm, seen = _counting_llm(tmp_path, on_call=records.append, budget=budget)
    msgs = [{"role": "user", "content": "one two three"}]
    first = llm.chat(msgs, max_tokens=8)
    second = llm.chat(msgs, max_tokens=8)
    assert len(seen) == 1
    assert second.texts == first.texts and second.cached and not first.cached
    assert (second.prompt_tokens, second.completion_tokens) == (0, 0)
    assert [r.cached for r in records] == [False, True]
    assert records[1].prompt_tokens == records[1].completion_tokens == 0
    assert llm.usage.cache_hits == 1 and llm.usage.calls == 2
    assert budget.spent.tokens == first.prompt_tokens + first.completion_tokens


def test_n_samples_are_n_entries_and_grow_per_sample_index(tmp_path: Path) -> None:
    llm, seen = _counting_llm(tmp_path)
    msgs = [{"role": "user", "content": "pick"}]
    three = llm.chat(msgs, n=3, temperature=1.0, seed=10)
    assert len(set(three.texts)) == 3 and len(seen) == 3
    assert sorted(r.sample_seed for r in seen) == [10, 11, 12]
    five = llm.chat(msgs, n=5, temperature=1.0, seed=10)
    assert five.texts[:3] == three.texts  # the first three come from the cache
    assert len(seen) == 5 and len(llm.inner.cache) == 5


def test_cache_persists_as_json_across_instances(tmp_path: Path) -> None:
    llm, _ = _counting_llm(tmp_path)
    llm.complete("abc", max_tokens=4)
    llm.close()
    again, seen2 = _counting_llm(tmp_path)
    assert again.complete("abc", max_tokens=4).cached and seen2 == []
    import sqlite3

    (value,) = (
        sqlite3.connect(tmp_path / "c.sqlite").execute("SELECT value FROM responses").fetchone()
    )
    assert value.startswith("{")  # JSON, never pickle
