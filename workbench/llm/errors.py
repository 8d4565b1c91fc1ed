"""Errors the LLM layer raises during a run (user mistakes use `workbench.errors` directly)."""

from __future__ import annotations

from workbench.errors import EngineUnavailable

__all__ = ["LLMRequestError"]


class LLMRequestError(EngineUnavailable):
    """A request failed at the endpoint. `retryable`: connection errors, timeouts, 429, 5xx."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        retryable: bool = False,
        retry_after_s: float | None = None,
    ) -> None:
        self.status = status
        self.retryable = retryable
        self.retry_after_s = retry_after_s
        super().__init__(message)
