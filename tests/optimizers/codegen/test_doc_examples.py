"""The usage examples in the docstrings of the code-generation cores run and hold."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "workbench.optimizers.codegen.codetree.base",
    "workbench.optimizers.codegen.codetree.python",
    "workbench.optimizers.codegen.codetree.cfamily",
    "workbench.optimizers.codegen.codetree.ops",
    "workbench.optimizers.codegen.funcoder.consensus",
    "workbench.optimizers.codegen.pgtd.assembly",
    "workbench.optimizers.codegen.pgtd.cache",
    "workbench.optimizers.codegen.pgtd.tree",
    "workbench.optimizers.codegen.pgtd.search",
    "workbench.optimizers.codegen.pgtd.llm",
    "workbench.optimizers.codegen.pgtd.prompts",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0, f"{name} has no example"
    assert result.failed == 0
