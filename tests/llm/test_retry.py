"""Retry policy on connection errors, 429 and 5xx; the concurrency limit."""

from __future__ import annotations

import asyncio
import threading
import time

import httpx2
import pytest

from tests.llm._mock import chat_reply, mock_client
from workbench.errors import EndpointError
from workbench.llm import LimitedLLM, LLMRequestError, RetryingLLM, ScriptedLLM
from workbench.llm.retry import shared_limiter
from workbench.llm.scripted import FunctionLLM

MSGS = [{"role": "user", "content": "hi"}]


def flaky(failures: list[httpx2.Response | Exception]):
    """A handler that fails as listed, then answers; returns (handler, attempts)."""
    attempts: list[int] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        attempts.append(1)
        if failures:
            item = failures.pop(0)
            if isinstance(item, Exception):
                raise item
            return item
        return httpx2.Response(200, json=chat_reply("fine"))

    return handler, attempts


def retrying(handler, **kwargs) -> tuple[RetryingLLM, list[float]]:
    sleeps: list[float] = []
    llm = RetryingLLM(mock_client(handler), sleep=sleeps.append, seed=0, **kwargs)
    return llm, sleeps


@pytest.mark.parametrize(
    "failure",
    [
        httpx2.ConnectError("refused"),
        httpx2.ReadTimeout("slow"),
        httpx2.Response(429, json={"error": {"message": "slow down"}}),
        httpx2.Response(500, json={"error": {"message": "oops"}}),
        httpx2.Response(503, text="unavailable"),
    ],
    ids=["connect", "timeout", "429", "500", "503"],
)
def test_transient_failures_are_retried(failure) -> None:
    handler, attempts = flaky([failure, failure])
    llm, sleeps = retrying(handler)
    assert llm.chat(MSGS).text == "fine"
    assert len(attempts) == 3 and len(sleeps) == 2 and llm.retries == 2


def test_backoff_grows_exponentially_with_jitter() -> None:
    handler, _ = flaky([httpx2.Response(500)] * 4)
    llm, sleeps = retrying(handler, max_retries=4, base_delay_s=1.0, max_delay_s=100)
    llm.chat(MSGS)
    for k, delay in enumerate(sleeps):
        assert 0.5 * 2**k <= delay <= 2**k


def test_retry_after_header_is_honoured() -> None:
    handler, _ = flaky([httpx2.Response(429, headers={"retry-after": "3"})])
    llm, sleeps = retrying(handler)
    llm.chat(MSGS)
    assert sleeps == [3.0]


def test_gives_up_after_max_retries() -> None:
    handler, attempts = flaky([httpx2.Response(502)] * 10)
    llm, _ = retrying(handler, max_retries=2)
    with pytest.raises(LLMRequestError) as info:
        llm.chat(MSGS)
    assert info.value.status == 502 and len(attempts) == 3


def test_client_errors_are_not_retried() -> None:
    handler, attempts = flaky([httpx2.Response(400, json={"error": {"message": "bad"}})])
    llm, sleeps = retrying(handler)
    with pytest.raises(LLMRequestError) as info:
        llm.chat(MSGS)
    assert info.value.status == 400 and not info.value.retryable
    assert len(attempts) == 1 and sleeps == []


def test_rejected_key_is_an_endpoint_error_naming_the_variable() -> None:
    handler, attempts = flaky([httpx2.Response(401, json={"error": {"message": "bad key"}})])
    llm = RetryingLLM(mock_client(handler, key_env="MY_KEY"), sleep=lambda s: None)
    with pytest.raises(EndpointError, match=r"\$MY_KEY"):
        llm.chat(MSGS)
    assert len(attempts) == 1


def _tracking_backend(delay: float = 0.05) -> tuple[FunctionLLM, dict[str, int]]:
    state = {"now": 0, "peak": 0}
    lock = threading.Lock()

    def fn(request):
        with lock:
            state["now"] += 1
            state["peak"] = max(state["peak"], state["now"])
        time.sleep(delay)
        with lock:
            state["now"] -= 1
        return "ok"

    return FunctionLLM(fn), state


def test_concurrency_limit_holds_for_threads_and_async() -> None:
    backend, state = _tracking_backend()
    llm = LimitedLLM(backend, threading.BoundedSemaphore(2))
    assert len(llm.chat(MSGS, n=6, temperature=1.0).texts) == 6
    assert state["peak"] == 2

    async def many() -> list:
        return await asyncio.gather(*(llm.achat(MSGS) for _ in range(6)))

    assert len(asyncio.run(many())) == 6 and state["peak"] == 2


def test_limiter_is_shared_per_endpoint() -> None:
    a = shared_limiter("http://a.test/v1", 3)
    assert shared_limiter("http://a.test/v1", 9) is a
    assert shared_limiter("http://b.test/v1", 3) is not a


def test_scripted_async_entry_points() -> None:
    llm = ScriptedLLM(lambda r: '{"x": 1}')

    async def run() -> tuple:
        return await llm.achat(MSGS), await llm.acomplete("p")

    chat, complete = asyncio.run(run())
    assert chat.text == complete.text == '{"x": 1}' and llm.usage.calls == 2
