"""`MeteredLLM`: usage, cost and budgets as a wrapper (the outermost one)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar

from pydantic import BaseModel

from workbench.llm.base import LLMClient
from workbench.llm.types import (
    ChatRequest,
    ChatResult,
    CompletionRequest,
    CompletionResult,
    StructuredResult,
)
from workbench.llm.usage import TEXT_LIMIT, Budget, CallRecord, Usage, price_for
from workbench.llm.wrapper import WrapperLLM

__all__ = ["MeteredLLM"]

T = TypeVar("T", bound=BaseModel)
R = TypeVar("R", ChatResult, CompletionResult, StructuredResult[Any])


def _texts(result: ChatResult | CompletionResult | StructuredResult[Any]) -> list[str]:
    """What the model answered: each sample of a chat, a completion, a structured call's raw."""
    if isinstance(result, ChatResult):
        return list(result.texts)
    if isinstance(result, CompletionResult):
        return [result.text]
    return [result.raw]


class MeteredLLM(WrapperLLM):
    """Checks the budget before each call and records one `CallRecord` after it.

    A structured call is one record (its repair call included) with ``parse_failed`` set when
    no valid answer came back; `usage.parse_failures` counts every answer that did not validate.
    A failed call is recorded with its `error` and re-raised.
    """

    def __init__(
        self,
        inner: LLMClient,
        *,
        budget: Budget | None = None,
        on_call: Callable[[CallRecord], None] | None = None,
        prices: dict[str, float] | None = None,
    ) -> None:
        super().__init__(inner)
        self.budget = budget
        self.on_call = on_call
        self.prices = price_for(self.model, prices)
        self._usage = Usage()

    @property
    def usage(self) -> Usage:
        return self._usage

    def _cost(self, prompt_tokens: int, completion_tokens: int) -> float:
        p = self.prices
        return (prompt_tokens * p["prompt"] + completion_tokens * p["completion"]) / 1000

    def _record(self, record: CallRecord, parse_failures: int | None = None) -> None:
        self._usage.add(record, parse_failures)
        if self.budget is not None:
            self.budget.settle(record)
        if self.on_call is not None:
            self.on_call(record)

    def _metered(self, kind: str, call: Callable[[], R]) -> R:
        """Run ``call`` within the budget and record it: the one path of every primitive.

        A failed call is recorded with its ``error`` and re-raised; a structured answer also
        records whether it parsed and how many answers did not validate.
        """
        if self.budget is not None:
            self.budget.reserve()  # settled by _record, or below when no record is made
        started = time.monotonic()
        try:
            result = call()
        except BaseException as exc:
            if not isinstance(exc, Exception):  # KeyboardInterrupt and the like: no record
                if self.budget is not None:
                    self.budget.settle(None)
                raise
            error = f"{type(exc).__name__}: {exc}"
            took = time.monotonic() - started
            self._record(CallRecord(kind, self.model, 0, 0, False, took, 0.0, error=error))
            raise
        structured = isinstance(result, StructuredResult)
        self._record(
            CallRecord(
                kind=kind,
                model=result.model or self.model,
                prompt_tokens=result.prompt_tokens,
                completion_tokens=result.completion_tokens,
                cached=result.cached,
                latency_s=time.monotonic() - started,
                cost=self._cost(result.prompt_tokens, result.completion_tokens),
                parse_failed=structured and not result.ok,
                cached_prompt_tokens=result.cached_prompt_tokens,
                texts=[t[:TEXT_LIMIT] for t in _texts(result)],
            ),
            parse_failures=result.parse_failures if structured else None,
        )
        return result

    def request_chat(self, request: ChatRequest) -> ChatResult:
        return self._metered(request.kind, lambda: self.inner.request_chat(request))

    def request_complete(self, request: CompletionRequest) -> CompletionResult:
        return self._metered(request.kind, lambda: self.inner.request_complete(request))

    def request_structured(
        self, request: ChatRequest, schema: type[T], *, repair: bool = True
    ) -> StructuredResult[T]:
        return self._metered(
            "structured", lambda: self.inner.request_structured(request, schema, repair=repair)
        )
