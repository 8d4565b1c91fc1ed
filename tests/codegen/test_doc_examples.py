"""The usage examples in the docstrings of the code-generation cores run and hold."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "workbench.agents.codetree.base",
    "workbench.agents.codetree.python",
    "workbench.agents.codetree.cfamily",
    "workbench.agents.codetree.ops",
    "workbench.agents.funcoder.consensus",
    "workbench.agents.pgtd.assembly",
    "workbench.agents.pgtd.cache",
    "workbench.agents.pgtd.tree",
    "workbench.agents.pgtd.search",
    "workbench.agents.pgtd.llm",
    "workbench.agents.pgtd.prompts",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0, f"{name} has no example"
    assert result.failed == 0
