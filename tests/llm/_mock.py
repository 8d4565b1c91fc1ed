"""Scripted HTTP replies for the OpenAI-compatible backend (inputs to its parsers)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import httpx2

from workbench.llm import OpenAIClient

Handler = Callable[[httpx2.Request], httpx2.Response]


def chat_reply(text: str, prompt_tokens: int = 5, completion_tokens: int = 3) -> dict[str, Any]:
    return {
        "id": "c1",
        "object": "chat.completion",
        "created": 0,
        "model": "m",
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}
        ],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
    }


def completion_reply(text: str, logprobs: dict[str, Any] | None) -> dict[str, Any]:
    return {
        "id": "k1",
        "object": "text_completion",
        "created": 0,
        "model": "m",
        "choices": [{"index": 0, "text": text, "finish_reason": "length", "logprobs": logprobs}],
        "usage": {"prompt_tokens": 4, "completion_tokens": 2, "total_tokens": 6},
    }


def body(request: httpx2.Request) -> dict[str, Any]:
    return dict(json.loads(request.content))


def mock_client(
    handler: Handler,
    *,
    tokenizer: Callable[[httpx.Request], httpx.Response] | None = None,
    **kwargs: Any,
) -> OpenAIClient:
    """An `OpenAIClient` whose HTTP goes to `handler` (and `tokenizer` for /tokenize)."""
    http = httpx2.Client(transport=httpx2.MockTransport(handler))
    tok = httpx.Client(transport=httpx.MockTransport(tokenizer or (lambda r: httpx.Response(404))))
    return OpenAIClient(
        "m", "http://server.test/v1", http_client=http, tokenizer_client=tok, **kwargs
    )
