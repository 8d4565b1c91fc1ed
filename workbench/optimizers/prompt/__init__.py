"""Prompt optimizers (issue 8): ``ape``, ``opro``, ``protegi``, ``exemplars`` and ``joint``.

All five are one `PromptOptimizer` (instruction stage, exemplar stage, report) with different
plans; `workbench.optimizers.OPTIMIZERS` names each (``exemplars_opt`` is another name of
``exemplars``).

Example:
    >>> from workbench.optimizers import optimizer_names
    >>> {"ape", "opro", "protegi", "joint"} <= set(optimizer_names())
    True
"""

from __future__ import annotations

from workbench.optimizers.prompt.optimizer import PromptOptimizer
from workbench.optimizers.prompt.prompts import PROMPT_VERSION, parse_instruction
from workbench.optimizers.prompt.run import (
    PROMPT_OPTIMIZERS,
    PromptRunResult,
    project_task,
    run_prompt,
)
from workbench.optimizers.prompt.settings import JointSettings, Plan, make_plan, project_plan

__all__ = [
    "PROMPT_OPTIMIZERS",
    "PROMPT_VERSION",
    "JointSettings",
    "Plan",
    "PromptOptimizer",
    "PromptRunResult",
    "make_plan",
    "parse_instruction",
    "project_plan",
    "project_task",
    "run_prompt",
]
