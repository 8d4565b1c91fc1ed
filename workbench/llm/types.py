"""Requests and results of the LLM layer: plain dataclasses, JSON in and out."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from typing import Any, Generic, TypeVar

from pydantic import BaseModel

from workbench.errors import ModelAnswerError

__all__ = [
    "ChatRequest",
    "ChatResult",
    "CompletionRequest",
    "CompletionResult",
    "StructuredResult",
    "TokenLogprob",
]

T = TypeVar("T", bound=BaseModel)


@dataclass(frozen=True)
class ChatRequest:
    """One chat request for one sample (`sample_index` tells samples of an `n` apart).

    `response_format` is ``None``, ``{"type": "json_object"}`` or an OpenAI ``json_schema``
    format dict. `kind` ("chat", "structured", "repair") is for accounting only.
    """

    model: str
    messages: tuple[dict[str, Any], ...]
    temperature: float = 0.0
    seed: int | None = None
    max_tokens: int = 512
    stop: tuple[str, ...] | None = None
    response_format: dict[str, Any] | None = None
    sample_index: int = 0
    kind: str = "chat"

    def key(self) -> str:
        """sha256 of everything that changes the answer (not `kind`)."""
        return _sha256({"type": "chat", **{k: v for k, v in asdict(self).items() if k != "kind"}})

    @property
    def sample_seed(self) -> int | None:
        """The seed sent for this sample: distinct per sample, reproducible."""
        return None if self.seed is None else self.seed + self.sample_index


@dataclass(frozen=True)
class CompletionRequest:
    """A plain completion from text or from token ids, optionally with top-k logprobs."""

    model: str
    prompt: str | tuple[int, ...]
    max_tokens: int = 64
    temperature: float = 0.0
    seed: int | None = None
    logprobs: int | None = None
    stop: tuple[str, ...] | None = None
    kind: str = "complete"

    def key(self) -> str:
        """sha256 of everything that changes the answer (not `kind`)."""
        data = {k: v for k, v in asdict(self).items() if k != "kind"}
        return _sha256({"type": "complete", **data})


def _sha256(data: dict[str, Any]) -> str:
    text = json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass
class TokenLogprob:
    """One generated token, its logprob and the top-k alternatives ``(token, id, logprob)``."""

    token: str
    id: int | None
    logprob: float
    top: list[tuple[str, int | None, float]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "token": self.token,
            "id": self.id,
            "logprob": self.logprob,
            "top": [list(t) for t in self.top],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TokenLogprob:
        top = [(str(t[0]), None if t[1] is None else int(t[1]), float(t[2])) for t in data["top"]]
        return cls(data["token"], data["id"], float(data["logprob"]), top)


@dataclass
class ChatResult:
    """Answers of a chat call: `texts` has one entry per sample."""

    texts: list[str]
    model: str
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached: bool = False
    latency_s: float = 0.0
    finish_reasons: list[str | None] = field(default_factory=list)
    cached_prompt_tokens: int = 0  # of prompt_tokens, served from the server's KV cache

    @property
    def text(self) -> str:
        """The first sample."""
        return self.texts[0]

    @property
    def usage(self) -> dict[str, int]:
        return {"prompt_tokens": self.prompt_tokens, "completion_tokens": self.completion_tokens}

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ChatResult:
        return cls(**data)


@dataclass
class CompletionResult:
    """A completion: its text and, when logprobs were asked for, one entry per token."""

    text: str
    model: str
    tokens: list[TokenLogprob] = field(default_factory=list)
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached: bool = False
    latency_s: float = 0.0
    finish_reason: str | None = None
    cached_prompt_tokens: int = 0  # of prompt_tokens, served from the server's KV cache

    @property
    def usage(self) -> dict[str, int]:
        return {"prompt_tokens": self.prompt_tokens, "completion_tokens": self.completion_tokens}

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["tokens"] = [t.to_dict() for t in self.tokens]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CompletionResult:
        data = dict(data)
        data["tokens"] = [TokenLogprob.from_dict(t) for t in data["tokens"]]
        return cls(**data)


@dataclass
class StructuredResult(Generic[T]):
    """A typed answer. Check `ok`: on failure `value` is None and `error` says why.

    `raw` is the last text the model sent; `parse_failures` counts answers that did not validate
    (0, 1 when the repair call fixed it, 2 when it did not).
    """

    ok: bool
    value: T | None
    raw: str
    error: str | None = None
    parse_failures: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached: bool = False
    latency_s: float = 0.0
    model: str = ""
    cached_prompt_tokens: int = 0  # of prompt_tokens, served from the server's KV cache

    def unwrap(self) -> T:
        """The value, or `ModelAnswerError` carrying the error and the raw answer."""
        if not self.ok or self.value is None:
            raise ModelAnswerError(f"model answer did not validate: {self.error}", self.raw)
        return self.value
