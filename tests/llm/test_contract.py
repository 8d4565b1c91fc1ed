"""One contract every `LLMClient` stack keeps (STYLE habit 6): a backend adds one id here."""

from __future__ import annotations

import json

import httpx
import httpx2
import pytest
from pydantic import BaseModel

from tests.llm._mock import body, chat_reply, completion_reply, mock_client
from workbench.llm import (
    CallRecord,
    CompletionRequest,
    CompletionResult,
    LLMClient,
    LLMConfig,
    ScriptedLLM,
    TokenLogprob,
    wrap,
)


class Item(BaseModel):
    name: str
    count: int


ANSWER = '{"name": "pear", "count": 2}'


def _scripted() -> LLMClient:
    def fn(request):
        if isinstance(request, CompletionRequest) and request.logprobs:
            top = [(" a", 1, -0.1), (" b", 2, -1.0)][: request.logprobs]
            return CompletionResult(" a", "scripted", [TokenLogprob(" a", 1, -0.1, top)], 1, 1)
        return ANSWER

    return ScriptedLLM(fn)


def _mock_openai() -> LLMClient:
    def handler(request: httpx2.Request) -> httpx2.Response:
        if request.url.path.endswith("/chat/completions"):
            return httpx2.Response(200, json=chat_reply(ANSWER))
        k = body(request).get("logprobs") or 0
        top = [{"id": i, "token": f" t{i}", "logprob": -i} for i in range(k)]
        items = [{"id": 1, "token": " a", "logprob": -0.1, "top_logprobs": top}]
        return httpx2.Response(200, json=completion_reply(" a", {"content": items} if k else None))

    def tokenizer(request: httpx.Request) -> httpx.Response:
        data = json.loads(request.content) if request.content else {}
        if request.url.path == "/tokenize":
            return httpx.Response(200, json={"tokens": list(data["content"].encode())})
        if request.url.path == "/apply-template":  # llama-server's shape
            turns = "".join(f"<|{m['role']}|>{m['content']}\n" for m in data["messages"])
            return httpx.Response(200, json={"prompt": turns + "<|assistant|>"})
        if request.url.path == "/props":
            return httpx.Response(200, json={"eos_token": "<|end|>", "model_path": "m.gguf"})
        return httpx.Response(200, json={"content": bytes(data["tokens"]).decode()})

    return wrap(mock_client(handler, tokenizer=tokenizer), LLMConfig(cache=False))


@pytest.fixture(
    params=["scripted", "openai-mock", pytest.param("llama-server", marks=pytest.mark.llm)]
)
def client(request: pytest.FixtureRequest) -> LLMClient:
    if request.param == "scripted":
        return _scripted()
    if request.param == "openai-mock":
        return _mock_openai()
    return request.getfixturevalue("llm_client")


def test_chat_samples_and_usage(client: LLMClient) -> None:
    result = client.chat([{"role": "user", "content": "A fruit as JSON."}], n=2, max_tokens=16)
    assert len(result.texts) == 2 and all(isinstance(t, str) for t in result.texts)
    assert client.usage.calls == 2 and client.usage.completion_tokens == result.completion_tokens


def test_structured_result(client: LLMClient) -> None:
    messages = [{"role": "user", "content": "Give a fruit name and a count as JSON."}]
    result = client.structured(messages, Item, max_tokens=48, seed=1)
    assert result.ok, (result.error, result.raw)
    assert isinstance(result.value, Item)


def test_completion_with_top_k(client: LLMClient) -> None:
    ids = client.tokenize("Hello")
    assert client.detokenize(ids) == "Hello"
    result = client.complete(ids, max_tokens=1, logprobs=2)
    assert result.tokens and len(result.tokens[0].top) == 2
    assert all(isinstance(tid, int) for _, tid, _ in result.tokens[0].top)


def test_chat_template_and_special_tokens(client: LLMClient) -> None:
    """Optional look-ups (PG-TD renders its prompt and finds the end of a turn with them): a
    backend that knows answers through the LLM layer's wrappers, one that does not says so."""
    messages = [{"role": "user", "content": "Write f."}]
    try:
        text = client.chat_template(messages)
    except NotImplementedError:
        assert isinstance(client, ScriptedLLM)
        assert client.special_tokens() == {}
        return
    assert "Write f." in text and not text.rstrip().endswith("Write f.")  # an open turn follows
    tokens = client.special_tokens()
    assert tokens.get("eos_token") or tokens.get("eot_token"), tokens
    assert client.usage.calls == 0  # look-ups are not model calls: no budget is spent


@pytest.mark.parametrize(
    "extra",
    [
        {"usage": {"prompt_tokens_details": {"cached_tokens": 7}}},  # OpenAI / vLLM
        {"timings": {"cache_n": 7, "prompt_n": 3}},  # llama-server
    ],
)
def test_server_kv_cache_reuse_is_reported_and_counted(extra: dict) -> None:
    def handler(request: httpx2.Request) -> httpx2.Response:
        reply = chat_reply("ok", prompt_tokens=10)
        for key, value in extra.items():
            reply[key] = {**reply.get(key, {}), **value}
        return httpx2.Response(200, json=reply)

    records: list[CallRecord] = []
    llm = wrap(mock_client(handler), LLMConfig(cache=False), on_call=records.append)
    result = llm.chat([{"role": "user", "content": "hi"}], n=2)
    assert result.prompt_tokens == 20 and result.cached_prompt_tokens == 14
    assert [r.cached_prompt_tokens for r in records] == [7, 7]  # one request per sample
    assert llm.usage.cached_prompt_tokens == 14
    assert llm.usage.to_dict()["cached_prompt_tokens"] == 14


def test_no_cache_report_means_zero() -> None:
    reply = httpx2.Response(200, json=chat_reply("ok"))
    llm = wrap(mock_client(lambda r: reply), LLMConfig(cache=False))
    assert llm.chat([{"role": "user", "content": "hi"}]).cached_prompt_tokens == 0
