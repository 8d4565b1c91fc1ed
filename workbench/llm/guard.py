"""A switch that stops real model requests (the test suite turns it off; STYLE habit 7)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

__all__ = ["allow_model_requests", "check_allow_model_requests", "model_requests_allowed"]


@dataclass
class _Guard:
    allow: bool = True


_GUARD = _Guard()


def model_requests_allowed() -> bool:
    """Whether real model requests may be made in this process."""
    return _GUARD.allow


def check_allow_model_requests() -> None:
    """Raise if real model requests are switched off (tests without the `llm` marker)."""
    if not _GUARD.allow:
        raise RuntimeError(
            "real model requests are switched off in this test: mark it `llm` and use the "
            "`llm_client` fixture, or use workbench.llm.ScriptedLLM"
        )


@contextmanager
def allow_model_requests(allow: bool = True) -> Iterator[None]:
    """Switch real model requests on or off inside the block."""
    before = _GUARD.allow
    _GUARD.allow = allow
    try:
        yield
    finally:
        _GUARD.allow = before
