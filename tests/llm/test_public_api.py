"""The public surface of `workbench.llm` is pinned, and its docstring examples run."""

from __future__ import annotations

import doctest
import importlib

import pytest

import workbench.llm

EXPECTED = {
    "DEFAULT_LOCAL_MODEL", "PRICES", "TEST_LOCAL_MODEL", "Budget", "CachedLLM", "CallRecord",
    "ChatRequest", "ChatResult", "CompletionRequest", "CompletionResult", "FunctionLLM",
    "LLMClient", "LLMConfig", "LLMRequestError", "LimitedLLM", "MeteredLLM", "OpenAIClient",
    "PartBudget", "ResponseCache", "RetryingLLM", "ScriptedLLM", "StructuredResult",
    "TokenLogprob", "Usage", "WrapperLLM", "allow_model_requests", "check_allow_model_requests",
    "open_llm", "parse_model", "wrap",
}  # fmt: skip


def test_all_is_pinned() -> None:
    assert set(workbench.llm.__all__) == EXPECTED
    for name in EXPECTED:
        assert hasattr(workbench.llm, name), name


@pytest.mark.parametrize(
    "module",
    ["workbench.llm", "workbench.llm.config", "workbench.llm.usage", "workbench.llm.scripted"],
)
def test_docstring_examples(module: str) -> None:
    result = doctest.testmod(importlib.import_module(module))
    assert result.attempted > 0 and result.failed == 0
