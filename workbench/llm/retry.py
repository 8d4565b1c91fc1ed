"""Retries with exponential backoff, and the per-process concurrency limit: both wrappers."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from typing import TypeVar

from workbench.llm.base import LLMClient
from workbench.llm.errors import LLMRequestError
from workbench.llm.types import ChatRequest, ChatResult, CompletionRequest, CompletionResult
from workbench.llm.wrapper import WrapperLLM

__all__ = ["LimitedLLM", "RetryingLLM", "shared_limiter"]

R = TypeVar("R")

_LIMITERS: dict[str, threading.BoundedSemaphore] = {}
_LIMITERS_LOCK = threading.Lock()


def shared_limiter(endpoint: str, limit: int) -> threading.BoundedSemaphore:
    """The one semaphore of `endpoint` in this process, so every caller shares the limit.

    The first caller fixes the size; later callers of the same endpoint share it.
    """
    with _LIMITERS_LOCK:
        if endpoint not in _LIMITERS:
            _LIMITERS[endpoint] = threading.BoundedSemaphore(limit)
        return _LIMITERS[endpoint]


class RetryingLLM(WrapperLLM):
    """Retries retryable `LLMRequestError`s (connection, timeout, 429, 5xx) with backoff.

    Delay before retry k (k = 0, 1, ...) is ``min(max_delay_s, base_delay_s * 2**k)`` times a
    jitter in [0.5, 1], or the server's Retry-After when it sent one.
    """

    def __init__(
        self,
        inner: LLMClient,
        *,
        max_retries: int = 4,
        base_delay_s: float = 0.5,
        max_delay_s: float = 20.0,
        seed: int | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        super().__init__(inner)
        self.max_retries = max_retries
        self.base_delay_s = base_delay_s
        self.max_delay_s = max_delay_s
        self._rng = random.Random(seed)
        self._sleep = sleep
        self.retries = 0

    def delay(self, attempt: int, error: LLMRequestError) -> float:
        """Seconds to wait before retry number `attempt` (0-based)."""
        if error.retry_after_s is not None:
            return min(self.max_delay_s, error.retry_after_s)
        base = min(self.max_delay_s, self.base_delay_s * 2**attempt)
        return base * (0.5 + 0.5 * self._rng.random())

    def _run(self, call: Callable[[], R]) -> R:
        attempt = 0
        while True:
            try:
                return call()
            except LLMRequestError as exc:
                if not exc.retryable or attempt >= self.max_retries:
                    raise
                self._sleep(self.delay(attempt, exc))
                attempt += 1
                self.retries += 1

    def request_chat(self, request: ChatRequest) -> ChatResult:
        return self._run(lambda: self.inner.request_chat(request))

    def request_complete(self, request: CompletionRequest) -> CompletionResult:
        return self._run(lambda: self.inner.request_complete(request))


class LimitedLLM(WrapperLLM):
    """At most `semaphore`'s size requests in flight; every thread and task shares it."""

    def __init__(self, inner: LLMClient, semaphore: threading.BoundedSemaphore) -> None:
        super().__init__(inner)
        self.semaphore = semaphore

    def request_chat(self, request: ChatRequest) -> ChatResult:
        with self.semaphore:
            return self.inner.request_chat(request)

    def request_complete(self, request: CompletionRequest) -> CompletionResult:
        with self.semaphore:
            return self.inner.request_complete(request)
