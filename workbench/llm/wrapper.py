"""`WrapperLLM`: a client that forwards everything to an inner client (the wrappers' base)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar

from pydantic import BaseModel

from workbench.llm.base import LLMClient
from workbench.llm.types import ChatRequest, ChatResult, CompletionRequest, CompletionResult
from workbench.llm.usage import Usage

__all__ = ["WrapperLLM"]

T = TypeVar("T", bound=BaseModel)


class WrapperLLM(LLMClient):
    """Forwards the primitives to `inner`; subclasses override what they change.

    `request_structured` is *not* forwarded: the base runs the structured protocol on this
    object, so its chat requests pass through this wrapper (and are cached, retried, limited).
    """

    def __init__(self, inner: LLMClient) -> None:
        super().__init__()
        self.inner = inner
        self.model = inner.model
        self.supports_json_schema = inner.supports_json_schema

    def request_chat(self, request: ChatRequest) -> ChatResult:
        return self.inner.request_chat(request)

    def request_complete(self, request: CompletionRequest) -> CompletionResult:
        return self.inner.request_complete(request)

    def tokenize(self, text: str) -> list[int]:
        return self.inner.tokenize(text)

    def detokenize(self, ids: list[int]) -> str:
        return self.inner.detokenize(ids)

    def chat_template(self, messages: Sequence[dict[str, Any]]) -> str:
        return self.inner.chat_template(messages)

    def special_tokens(self) -> dict[str, str]:
        return self.inner.special_tokens()

    @property
    def usage(self) -> Usage:
        return self.inner.usage

    def close(self) -> None:
        self.inner.close()
