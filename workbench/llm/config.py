"""`LLMConfig`: the `llm:` section of a task file, and the parser of its model string."""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel

from workbench.errors import ConfigError
from workbench.quantities import Count, CountOrZero, NonNegative, Seconds

__all__ = ["DEFAULT_LOCAL_MODEL", "TEST_LOCAL_MODEL", "LLMConfig", "ModelSpec", "parse_model"]

DEFAULT_LOCAL_MODEL = "qwen2.5-coder-0.5b-instruct"
"""The embedded model used for real work when nothing else is configured."""

TEST_LOCAL_MODEL = "smollm2-135m-instruct"
"""The embedded model the tests use: small and fast, good for plumbing, not for quality."""

KINDS = ("local", "openai", "endpoint", "vllm")


class LLMConfig(BaseModel, extra="forbid"):
    """How to reach a model.

    Example:
        >>> LLMConfig(model="endpoint:qwen", base_url="http://127.0.0.1:8080/v1").model
        'endpoint:qwen'
    """

    model: str = "local"
    """``local`` | ``local:<name in models.json>`` | ``openai:<model>`` |
    ``endpoint:<model>`` (with `base_url`) | ``vllm:<hf id or path>`` (in process)."""
    base_url: str | None = None
    """OpenAI-compatible base URL, ending in ``/v1``."""
    api_key_env: str | None = None
    """NAME of the environment variable that holds the key; never the key itself."""
    cache: bool = True
    """Use the SQLite response cache."""
    timeout_s: Seconds = 120
    max_retries: CountOrZero = 4
    concurrency: Count = 4
    """Requests in flight at once, shared by every caller of the same endpoint in a process."""
    prices: dict[str, NonNegative] | None = None
    """``{"prompt": $/1k tokens, "completion": $/1k tokens}``; overrides the price table."""


@dataclass(frozen=True)
class ModelSpec:
    """A parsed model string: `kind` is one of local/openai/endpoint/vllm, `name` the model."""

    kind: str
    name: str


def parse_model(model: str) -> ModelSpec:
    """Split ``"kind:name"``; ``"local"`` alone means the default embedded model.

    Raises:
        ConfigError: the kind is unknown or the name is empty.
    """
    text = model.strip()
    if text == "local":
        return ModelSpec("local", DEFAULT_LOCAL_MODEL)
    kind, sep, name = text.partition(":")
    if not sep or kind not in KINDS or not name.strip():
        raise ConfigError(
            f"llm.model {model!r} is not understood; use one of 'local', 'local:<name>', "
            "'openai:<model>', 'endpoint:<model>' (with llm.base_url), 'vllm:<hf id or path>'"
        )
    return ModelSpec(kind, name.strip())
