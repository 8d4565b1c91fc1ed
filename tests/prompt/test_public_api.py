"""The public surfaces of `workbench.tasks.prompt` and `workbench.optimizers.exemplars` are
pinned, and their docstring examples run."""

from __future__ import annotations

import doctest
import importlib

import pytest

import workbench.optimizers.exemplars as exemplars
import workbench.tasks.prompt as prompt

PROMPT = {
    "DEFAULT_TEMPLATE", "KIND", "INSTRUCTION_OPTIMIZERS", "SELECTORS", "ApeSettings",
    "CallProjection",
    "ExactMatch", "Example", "FunctionScorer", "MultipleChoice", "MutationSettings",
    "NormalizedMatch", "NumericMatch", "OproSettings", "PromptTemplate", "ProtegiSettings",
    "RandomSearchSettings", "RegexMatch", "ScoreResult", "Scorer", "SelectorSettings", "Shot",
    "ShotLike", "Splits", "bbh_scorer", "estimate_tokens", "extract_answer", "extract_choice",
    "extract_number", "list_bbh_tasks", "load_bbh", "load_jsonl", "make_scorer",
    "mutation_schedule", "normalize", "parse_options", "parse_settings", "project_calls", "split",
    "RaceSettings", "race_candidates", "race_cost", "race_rungs",
}  # fmt: skip
EXEMPLARS = {
    "DiversitySelector", "Evaluate", "Exemplar", "ExemplarPool", "ExemplarSelector",
    "MutationSelector", "NearestSelector", "RandomSearchSelector", "RandomSelector", "Source",
    "make_selector", "selector_names", "tfidf",
}  # fmt: skip


@pytest.mark.parametrize(("module", "names"), [(prompt, PROMPT), (exemplars, EXEMPLARS)])
def test_all_is_pinned(module: object, names: set[str]) -> None:
    assert set(module.__all__) == names  # type: ignore[attr-defined]
    for name in names:
        assert hasattr(module, name), name


@pytest.mark.parametrize(
    "module",
    [
        "workbench.tasks.prompt",
        "workbench.tasks.prompt.budget",
        "workbench.tasks.prompt.data",
        "workbench.tasks.prompt.extract",
        "workbench.tasks.prompt.scorers",
        "workbench.tasks.prompt.race",
        "workbench.tasks.prompt.split",
        "workbench.tasks.prompt.template",
        "workbench.optimizers.exemplars",
        "workbench.optimizers.exemplars.heuristic",
        "workbench.optimizers.exemplars.pool",
        "workbench.optimizers.exemplars.search",
    ],
)
def test_docstring_examples(module: str) -> None:
    result = doctest.testmod(importlib.import_module(module))
    assert result.attempted > 0 and result.failed == 0
