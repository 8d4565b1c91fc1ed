"""Prompt tasks: labelled data, deterministic splits, pure scorers, the prompt
template and the ``prompt`` task kind. The prompt optimizers (their settings, call projections
and racing schedule included) are `workbench.optimizers.prompt`.

Example:
    >>> from workbench.tasks.prompt import bbh_scorer, load_bbh, split
    >>> parts = split(load_bbh("navigate"), train=50, val=50, test=100, seed=0)
    >>> parts.sizes()
    {'train': 50, 'val': 50, 'test': 100}
    >>> bbh_scorer("navigate")("So the answer is No.", "No", parts.val[0].input).score in (0.0, 1.0)
    True
"""

from workbench.tasks.base import Kind
from workbench.tasks.prompt.data import Example, list_bbh_tasks, load_bbh, load_jsonl
from workbench.tasks.prompt.extract import (
    extract_answer,
    extract_choice,
    extract_number,
    normalize,
    parse_options,
)
from workbench.tasks.prompt.kind import PromptSection, build_prompt_task
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
    "KIND",
    "ExactMatch",
    "Example",
    "FunctionScorer",
    "MultipleChoice",
    "NormalizedMatch",
    "NumericMatch",
    "PromptTemplate",
    "RegexMatch",
    "ScoreResult",
    "Scorer",
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
    "normalize",
    "parse_options",
    "split",
]

# the `prompt` task kind (PromptTask, PromptSection: see workbench.tasks.prompt.kind)
KIND = Kind("prompt", PromptSection, build_prompt_task)
"""The ``prompt`` task kind (named in `workbench.tasks.base.KINDS`)."""
