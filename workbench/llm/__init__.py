"""Every LLM call in Workbench: one client interface, many backends, and wrappers for cache,
retries, concurrency, usage and budgets.

Example:
    >>> from workbench.llm import ScriptedLLM, Budget
    >>> llm = ScriptedLLM(lambda request: "hi", budget=Budget(calls=10))
    >>> llm.chat([{"role": "user", "content": "hello"}], n=2).texts
    ['hi', 'hi']
"""

from workbench.llm.base import LLMClient
from workbench.llm.cache import CachedLLM, ResponseCache
from workbench.llm.client import OpenAIClient
from workbench.llm.config import DEFAULT_LOCAL_MODEL, TEST_LOCAL_MODEL, LLMConfig, parse_model
from workbench.llm.errors import LLMRequestError
from workbench.llm.guard import allow_model_requests, check_allow_model_requests
from workbench.llm.metered import MeteredLLM
from workbench.llm.resolve import open_llm, wrap
from workbench.llm.retry import LimitedLLM, RetryingLLM
from workbench.llm.scripted import FunctionLLM, ScriptedLLM
from workbench.llm.types import (
    ChatRequest,
    ChatResult,
    CompletionRequest,
    CompletionResult,
    StructuredResult,
    TokenLogprob,
)
from workbench.llm.usage import PRICES, Budget, CallRecord, PartBudget, Usage
from workbench.llm.wrapper import WrapperLLM

__all__ = [
    "DEFAULT_LOCAL_MODEL",
    "PRICES",
    "TEST_LOCAL_MODEL",
    "Budget",
    "CachedLLM",
    "CallRecord",
    "ChatRequest",
    "ChatResult",
    "CompletionRequest",
    "CompletionResult",
    "FunctionLLM",
    "LLMClient",
    "LLMConfig",
    "LLMRequestError",
    "LimitedLLM",
    "MeteredLLM",
    "OpenAIClient",
    "PartBudget",
    "ResponseCache",
    "RetryingLLM",
    "ScriptedLLM",
    "StructuredResult",
    "TokenLogprob",
    "Usage",
    "WrapperLLM",
    "allow_model_requests",
    "check_allow_model_requests",
    "open_llm",
    "parse_model",
    "wrap",
]
