"""The examples in the harness docstrings run (STYLE habit 14)."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "workbench.tasks.mpi",
    "workbench.tasks.mpi.exemplars",
    "workbench.tasks.mpi.metrics",
    "workbench.tasks.mpi.prebuild",
    "workbench.tasks.mpi.problem",
    "workbench.tasks.mpi.runner",
    "workbench.tasks.mpi.source",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    module = importlib.import_module(name)
    failures, tried = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert tried > 0, f"{name} has no example"
    assert failures == 0
