"""`LLMClient`: the one base every backend and wrapper implements.

A backend implements two primitives, `request_chat(ChatRequest)` (one sample) and
`request_complete(CompletionRequest)`; tokenize/detokenize are optional. The public calls
(`chat`, `structured`, `complete` and their async twins, which run the same code in a thread)
are built here once on top of those primitives, so a wrapper that overrides a primitive
(cache, retries, concurrency limit, usage) changes every public call at once.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import time
from abc import ABC, abstractmethod
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from workbench.llm.types import (
    ChatRequest,
    ChatResult,
    CompletionRequest,
    CompletionResult,
    StructuredResult,
)
from workbench.llm.usage import Usage

__all__ = ["LLMClient"]

T = TypeVar("T", bound=BaseModel)

REPAIR_PROMPT = (
    "Your previous answer could not be used: {error}\n"
    "Answer again with only a JSON object that matches this JSON schema:\n{schema}"
)


class LLMClient(ABC):
    """Every model behind one interface; see the module docstring for the layering."""

    model: str = ""
    supports_json_schema: bool = True

    def __init__(self) -> None:
        self._usage = Usage()

    # -- primitives -----------------------------------------------------------------------------
    @abstractmethod
    def request_chat(self, request: ChatRequest) -> ChatResult:
        """Answer one chat request with exactly one sample."""

    @abstractmethod
    def request_complete(self, request: CompletionRequest) -> CompletionResult:
        """Answer one plain completion request."""

    def tokenize(self, text: str) -> list[int]:
        """Token ids of `text` (no special tokens added)."""
        raise NotImplementedError(f"{type(self).__name__} cannot tokenize")

    def detokenize(self, ids: list[int]) -> str:
        """Text of token ids."""
        raise NotImplementedError(f"{type(self).__name__} cannot detokenize")

    def chat_template(self, messages: Sequence[dict[str, Any]]) -> str:
        """The chat rendered with the model's own template, ending with an open assistant
        turn (what the model sees for `messages`); for token-level search over a chat model.

        Raises:
            NotImplementedError: the backend cannot tell (callers fall back to a generic
                template such as ChatML).
        """
        raise NotImplementedError(f"{type(self).__name__} has no chat template")

    def special_tokens(self) -> dict[str, str]:
        """The model's named special tokens (``eos_token``, ``eot_token``, ...); empty when the
        backend does not say."""
        return {}

    def request_structured(
        self, request: ChatRequest, schema: type[T], *, repair: bool = True
    ) -> StructuredResult[T]:
        """Ask for JSON matching `schema`, validate it, and make one repair call if needed."""
        return structured_call(self, request, schema, repair=repair)

    def close(self) -> None:
        """Release resources (no-op by default)."""
        return None

    @property
    def usage(self) -> Usage:
        """Running totals of this client's calls."""
        return self._usage

    # -- public calls ---------------------------------------------------------------------------
    def chat(
        self,
        messages: Sequence[dict[str, Any]],
        *,
        n: int = 1,
        temperature: float = 0.0,
        seed: int | None = None,
        stop: Sequence[str] | None = None,
        max_tokens: int = 512,
    ) -> ChatResult:
        """Chat with `n` samples; each sample is its own request (and cache entry).

        Returns:
            ChatResult whose `texts` has `n` entries and whose token counts are summed.
        """
        if n < 1:
            raise ValueError(f"n must be >= 1, got {n}")
        base = ChatRequest(
            model=self.model,
            messages=tuple(dict(m) for m in messages),
            temperature=temperature,
            seed=seed,
            max_tokens=max_tokens,
            stop=tuple(stop) if stop else None,
        )
        requests = [_with(base, sample_index=i) for i in range(n)]
        if n == 1:
            return self.request_chat(requests[0])
        with ThreadPoolExecutor(max_workers=min(n, 16)) as pool:
            results = list(pool.map(self.request_chat, requests))
        return _merge(results)

    def structured(
        self,
        messages: Sequence[dict[str, Any]],
        schema: type[T],
        *,
        temperature: float = 0.0,
        seed: int | None = None,
        max_tokens: int = 1024,
    ) -> StructuredResult[T]:
        """A typed answer: check `.ok`, then use `.value` (or `.error` and `.raw`)."""
        request = ChatRequest(
            model=self.model,
            messages=tuple(dict(m) for m in messages),
            temperature=temperature,
            seed=seed,
            max_tokens=max_tokens,
            kind="structured",
        )
        return self.request_structured(request, schema)

    def complete(
        self,
        prompt: str | Sequence[int],
        *,
        max_tokens: int = 64,
        temperature: float = 0.0,
        seed: int | None = None,
        logprobs: int | None = None,
        stop: Sequence[str] | None = None,
    ) -> CompletionResult:
        """A plain completion of text or of token ids; `logprobs=k` returns top-k per token."""
        request = CompletionRequest(
            model=self.model,
            prompt=prompt if isinstance(prompt, str) else tuple(int(i) for i in prompt),
            max_tokens=max_tokens,
            temperature=temperature,
            seed=seed,
            logprobs=logprobs,
            stop=tuple(stop) if stop else None,
        )
        return self.request_complete(request)

    async def achat(self, messages: Sequence[dict[str, Any]], **kwargs: Any) -> ChatResult:
        """`chat` in a worker thread (same code path, same limits)."""
        return await asyncio.to_thread(self.chat, messages, **kwargs)

    async def astructured(
        self, messages: Sequence[dict[str, Any]], schema: type[T], **kwargs: Any
    ) -> StructuredResult[T]:
        """`structured` in a worker thread."""
        return await asyncio.to_thread(self.structured, messages, schema, **kwargs)

    async def acomplete(self, prompt: str | Sequence[int], **kwargs: Any) -> CompletionResult:
        """`complete` in a worker thread."""
        return await asyncio.to_thread(self.complete, prompt, **kwargs)

    def __enter__(self) -> LLMClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _with(request: ChatRequest, **changes: Any) -> ChatRequest:
    return dataclasses.replace(request, **changes)


def _merge(results: list[ChatResult]) -> ChatResult:
    return ChatResult(
        texts=[t for r in results for t in r.texts],
        model=results[0].model,
        prompt_tokens=sum(r.prompt_tokens for r in results),
        completion_tokens=sum(r.completion_tokens for r in results),
        cached_prompt_tokens=sum(r.cached_prompt_tokens for r in results),
        cached=all(r.cached for r in results),
        latency_s=max(r.latency_s for r in results),
        finish_reasons=[f for r in results for f in r.finish_reasons],
    )


def json_schema_format(schema: type[BaseModel]) -> dict[str, Any]:
    """OpenAI's ``json_schema`` response format for a pydantic model."""
    return {
        "type": "json_schema",
        "json_schema": {"name": schema.__name__, "schema": schema.model_json_schema()},
    }


class SchemaNotSupported(Exception):
    """Raised by a backend whose endpoint rejects the ``json_schema`` response format."""


def structured_call(
    client: LLMClient, request: ChatRequest, schema: type[T], *, repair: bool = True
) -> StructuredResult[T]:
    """The structured-output protocol, on top of `client.request_chat`.

    1. ``json_schema`` response format (or JSON mode plus the schema in the prompt when the
       endpoint rejects it); 2. validate with pydantic; 3. on failure, one repair call that shows
       the model its answer and the error; 4. a failed `StructuredResult` if that fails too.
    """
    schema_text = json.dumps(schema.model_json_schema())
    started = time.monotonic()
    messages = list(request.messages)
    fmt: dict[str, Any] = json_schema_format(schema)
    if not client.supports_json_schema:
        fmt = {"type": "json_object"}
        messages = _with_schema_hint(messages, schema_text)
    first = _with(request, messages=tuple(messages), response_format=fmt)
    try:
        result = client.request_chat(first)
    except SchemaNotSupported:
        fmt = {"type": "json_object"}
        messages = _with_schema_hint(messages, schema_text)
        first = _with(request, messages=tuple(messages), response_format=fmt)
        result = client.request_chat(first)
    spent = [result]
    value, error = _validate(schema, result.text)
    failures = 0 if error is None else 1
    raw = result.text
    if error is not None and repair:
        repair_messages = (
            *messages,
            {"role": "assistant", "content": raw},
            {"role": "user", "content": REPAIR_PROMPT.format(error=error, schema=schema_text)},
        )
        second = _with(first, messages=repair_messages, kind="repair")
        result = client.request_chat(second)
        spent.append(result)
        raw = result.text
        value, error = _validate(schema, raw)
        failures += int(error is not None)
    return StructuredResult(
        ok=error is None,
        value=value,
        raw=raw,
        error=error,
        parse_failures=failures,
        prompt_tokens=sum(r.prompt_tokens for r in spent),
        completion_tokens=sum(r.completion_tokens for r in spent),
        cached_prompt_tokens=sum(r.cached_prompt_tokens for r in spent),
        cached=all(r.cached for r in spent),
        latency_s=time.monotonic() - started,
        model=spent[-1].model,
    )


def _with_schema_hint(messages: list[dict[str, Any]], schema_text: str) -> list[dict[str, Any]]:
    hint = f"Answer with only a JSON object that matches this JSON schema:\n{schema_text}"
    return [*messages, {"role": "system", "content": hint}]


def _validate(schema: type[T], text: str) -> tuple[T | None, str | None]:
    try:
        return schema.model_validate_json(_strip_fences(text)), None
    except ValidationError as exc:
        errors = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or '<root>'}: {e['msg']}" for e in exc.errors()
        )
        return None, errors[:2000]


def _strip_fences(text: str) -> str:
    """Models in JSON mode sometimes still wrap the object in a Markdown fence."""
    stripped = text.strip()
    if stripped.startswith("```"):
        stripped = stripped.split("\n", 1)[1] if "\n" in stripped else ""
        stripped = stripped.rsplit("```", 1)[0]
    return stripped.strip()
