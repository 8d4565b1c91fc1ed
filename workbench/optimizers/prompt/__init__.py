"""Prompt optimizers: ``ape``, ``opro``, ``protegi``, ``exemplars`` and ``joint``.

All five are one `PromptOptimizer` (instruction stage, exemplar stage, report) with different
plans; `workbench.optimizers.OPTIMIZERS` names each (``exemplars_opt`` is another name of
``exemplars``). Here too: the methods' settings and projected calls (`budget`), the racing
schedule (`rungs`), the exemplar pool and selectors (`exemplars`), and `project_task`. Running a
prompt task file end to end is `workbench.runs.run_prompt`.

Example:
    >>> from workbench.optimizers import optimizer_names
    >>> {"ape", "opro", "protegi", "joint"} <= set(optimizer_names())
    True
"""

from __future__ import annotations

from workbench.optimizers.prompt.budget import (
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
from workbench.optimizers.prompt.optimizer import PromptOptimizer
from workbench.optimizers.prompt.project import PROMPT_OPTIMIZERS, project_task
from workbench.optimizers.prompt.prompts import PROMPT_VERSION, parse_instruction
from workbench.optimizers.prompt.rungs import (
    RaceSettings,
    race_candidates,
    race_cost,
    race_rungs,
)
from workbench.optimizers.prompt.settings import JointSettings, Plan, make_plan, project_plan

__all__ = [
    "INSTRUCTION_OPTIMIZERS",
    "PROMPT_OPTIMIZERS",
    "PROMPT_VERSION",
    "SELECTORS",
    "ApeSettings",
    "CallProjection",
    "JointSettings",
    "MutationSettings",
    "OproSettings",
    "Plan",
    "PromptOptimizer",
    "ProtegiSettings",
    "RaceSettings",
    "RandomSearchSettings",
    "SelectorSettings",
    "make_plan",
    "mutation_schedule",
    "parse_instruction",
    "parse_settings",
    "project_calls",
    "project_plan",
    "project_task",
    "race_candidates",
    "race_cost",
    "race_rungs",
]
