"""The public surfaces of `workbench.tasks.prompt`, `workbench.optimizers.prompt` and
`workbench.optimizers.prompt.exemplars` are pinned, and their docstring examples run."""

from __future__ import annotations

import doctest
import importlib

import pytest

import workbench.optimizers.prompt as optimizers_prompt
import workbench.optimizers.prompt.exemplars as exemplars
import workbench.tasks.prompt as prompt

PROMPT = {
    "DEFAULT_TEMPLATE", "KIND", "ExactMatch", "Example", "FunctionScorer", "MultipleChoice",
    "NormalizedMatch", "NumericMatch", "PromptTemplate", "RegexMatch", "ScoreResult", "Scorer",
    "Shot", "ShotLike", "Splits", "bbh_scorer", "estimate_tokens", "extract_answer",
    "extract_choice", "extract_number", "list_bbh_tasks", "load_bbh", "load_jsonl",
    "make_scorer", "normalize", "parse_options", "split",
}  # fmt: skip
OPTIMIZERS_PROMPT = {
    "INSTRUCTION_OPTIMIZERS", "PROMPT_OPTIMIZERS", "PROMPT_VERSION", "SELECTORS", "ApeSettings",
    "CallProjection", "JointSettings", "MutationSettings", "OproSettings", "Plan",
    "PromptOptimizer", "ProtegiSettings", "RaceSettings", "RandomSearchSettings",
    "SelectorSettings", "make_plan", "mutation_schedule", "parse_instruction", "parse_settings",
    "project_calls", "project_plan", "project_task", "race_candidates", "race_cost", "race_rungs",
}  # fmt: skip
EXEMPLARS = {
    "DiversitySelector", "Evaluate", "Exemplar", "ExemplarPool", "ExemplarSelector",
    "MutationSelector", "NearestSelector", "RandomSearchSelector", "RandomSelector", "Source",
    "make_selector", "selector_names", "tfidf",
}  # fmt: skip


@pytest.mark.parametrize(
    ("module", "names"),
    [(prompt, PROMPT), (optimizers_prompt, OPTIMIZERS_PROMPT), (exemplars, EXEMPLARS)],
)
def test_all_is_pinned(module: object, names: set[str]) -> None:
    assert set(module.__all__) == names  # type: ignore[attr-defined]
    for name in names:
        assert hasattr(module, name), name


@pytest.mark.parametrize(
    "module",
    [
        "workbench.tasks.prompt",
        "workbench.tasks.prompt.data",
        "workbench.tasks.prompt.extract",
        "workbench.tasks.prompt.nearest",
        "workbench.tasks.prompt.scorers",
        "workbench.tasks.prompt.split",
        "workbench.tasks.prompt.template",
        "workbench.optimizers.prompt",
        "workbench.optimizers.prompt.budget",
        "workbench.optimizers.prompt.rungs",
        "workbench.optimizers.prompt.exemplars",
        "workbench.optimizers.prompt.exemplars.heuristic",
        "workbench.optimizers.prompt.exemplars.pool",
        "workbench.optimizers.prompt.exemplars.search",
    ],
)
def test_docstring_examples(module: str) -> None:
    result = doctest.testmod(importlib.import_module(module))
    assert result.attempted > 0 and result.failed == 0
