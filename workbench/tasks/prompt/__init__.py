"""Prompt tasks (issue 8): labelled data, deterministic splits, pure scorers, the prompt
template, and call projections for the instruction optimizers and exemplar selectors.

Example:
    >>> from workbench.tasks.prompt import bbh_scorer, load_bbh, split
    >>> parts = split(load_bbh("navigate"), train=50, val=50, test=100, seed=0)
    >>> parts.sizes()
    {'train': 50, 'val': 50, 'test': 100}
    >>> bbh_scorer("navigate")("So the answer is No.", "No", parts.val[0].input).score in (0.0, 1.0)
    True
"""

from workbench.tasks.base import Kind
from workbench.tasks.prompt.budget import (
    INSTRUCTION_OPTIMIZERS,
    SELECTORS,
    ApeSettings,
    CallProjection,
    MutationSettings,
    OproSettings,
    ProtegiSettings,
    RandomSearchSettings,
    SelectorSettings,
    mutation_schedule,
    parse_settings,
    project_calls,
)
from workbench.tasks.prompt.data import Example, list_bbh_tasks, load_bbh, load_jsonl
from workbench.tasks.prompt.extract import (
    extract_answer,
    extract_choice,
    extract_number,
    normalize,
    parse_options,
)
from workbench.tasks.prompt.kind import PromptSection, build_prompt_task
from workbench.tasks.prompt.race import RaceSettings, race_candidates, race_cost, race_rungs
from workbench.tasks.prompt.scorers import (
    ExactMatch,
    FunctionScorer,
    MultipleChoice,
    NormalizedMatch,
    NumericMatch,
    RegexMatch,
    Scorer,
    ScoreResult,
    bbh_scorer,
    make_scorer,
)
from workbench.tasks.prompt.split import Splits, split
from workbench.tasks.prompt.template import (
    DEFAULT_TEMPLATE,
    PromptTemplate,
    Shot,
    ShotLike,
    estimate_tokens,
)

__all__ = [
    "DEFAULT_TEMPLATE",
    "INSTRUCTION_OPTIMIZERS",
    "KIND",
    "SELECTORS",
    "ApeSettings",
    "CallProjection",
    "ExactMatch",
    "Example",
    "FunctionScorer",
    "MultipleChoice",
    "MutationSettings",
    "NormalizedMatch",
    "NumericMatch",
    "OproSettings",
    "PromptTemplate",
    "ProtegiSettings",
    "RaceSettings",
    "RandomSearchSettings",
    "RegexMatch",
    "ScoreResult",
    "Scorer",
    "SelectorSettings",
    "Shot",
    "ShotLike",
    "Splits",
    "bbh_scorer",
    "estimate_tokens",
    "extract_answer",
    "extract_choice",
    "extract_number",
    "list_bbh_tasks",
    "load_bbh",
    "load_jsonl",
    "make_scorer",
    "mutation_schedule",
    "normalize",
    "parse_options",
    "parse_settings",
    "project_calls",
    "race_candidates",
    "race_cost",
    "race_rungs",
    "split",
]

# the `prompt` task kind (PromptTask, PromptSection: see workbench.tasks.prompt.kind)
KIND = Kind("prompt", PromptSection, build_prompt_task)
"""The ``prompt`` task kind (named in `workbench.tasks.base.KINDS`)."""
