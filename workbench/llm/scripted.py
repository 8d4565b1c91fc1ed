"""`ScriptedLLM`: an in-package double whose answers come from a plain function (STYLE habit 5).

Example:
    >>> from workbench.llm import ScriptedLLM
    >>> llm = ScriptedLLM(lambda request: '{"x": 2}')
    >>> llm.chat([{"role": "user", "content": "x?"}]).text
    '{"x": 2}'
    >>> llm.usage.calls
    1
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from workbench.llm.base import LLMClient
from workbench.llm.cache import CachedLLM, ResponseCache
from workbench.llm.metered import MeteredLLM
from workbench.llm.types import ChatRequest, ChatResult, CompletionRequest, CompletionResult
from workbench.llm.usage import Budget, CallRecord

__all__ = ["FunctionLLM", "ScriptedLLM"]

Script = Callable[[ChatRequest | CompletionRequest], Any]


def _count(text: str) -> int:
    """Whitespace-separated words: a stand-in for tokens that needs no tokenizer."""
    return len(text.split())


class FunctionLLM(LLMClient):
    """A backend that calls `fn(request)`.

    `fn` returns a `str` (the answer), or a `ChatResult` / `CompletionResult` to control
    everything (for example logprobs). It may raise to simulate failures. Token ids are UTF-8
    bytes, so `tokenize`/`detokenize` round-trip.
    """

    def __init__(self, fn: Script, model: str = "scripted") -> None:
        super().__init__()
        self.fn = fn
        self.model = model

    def request_chat(self, request: ChatRequest) -> ChatResult:
        started = time.monotonic()
        answer = self.fn(request)
        if isinstance(answer, ChatResult):
            return answer
        text = str(answer)
        prompt = " ".join(str(m.get("content", "")) for m in request.messages)
        return ChatResult(
            [text],
            self.model,
            _count(prompt),
            _count(text),
            latency_s=time.monotonic() - started,
            finish_reasons=["stop"],
        )

    def request_complete(self, request: CompletionRequest) -> CompletionResult:
        started = time.monotonic()
        answer = self.fn(request)
        if isinstance(answer, CompletionResult):
            return answer
        text = str(answer)
        prompt = request.prompt
        n_prompt = _count(prompt) if isinstance(prompt, str) else len(prompt)
        return CompletionResult(
            text,
            self.model,
            [],
            n_prompt,
            _count(text),
            latency_s=time.monotonic() - started,
            finish_reason="stop",
        )

    def tokenize(self, text: str) -> list[int]:
        return list(text.encode())

    def detokenize(self, ids: list[int]) -> str:
        return bytes(ids).decode(errors="replace")


class ScriptedLLM(MeteredLLM):
    """An `LLMClient` answering with `fn(request)`, with the same usage and budget accounting.

    Args:
        fn: ``fn(ChatRequest | CompletionRequest) -> str | ChatResult | CompletionResult``.
        model: the model name reported in results and records.
        budget: shared budget; `BudgetExceeded` is raised exactly as with a real model.
        on_call: called with each `CallRecord`.
        cache: a `ResponseCache` to put in front of `fn` (none by default).
        supports_json_schema: pretend the endpoint takes ``json_schema`` (else JSON mode).
    """

    def __init__(
        self,
        fn: Script,
        *,
        model: str = "scripted",
        budget: Budget | None = None,
        on_call: Callable[[CallRecord], None] | None = None,
        cache: ResponseCache | None = None,
        supports_json_schema: bool = True,
    ) -> None:
        backend = FunctionLLM(fn, model)
        backend.supports_json_schema = supports_json_schema
        inner: LLMClient = backend if cache is None else CachedLLM(backend, cache)
        super().__init__(inner, budget=budget, on_call=on_call)
