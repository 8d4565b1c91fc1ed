"""Prompt optimizers (issue 8): ``ape``, ``opro``, ``protegi``, ``exemplars`` and ``joint``.

All five are one `PromptOptimizer` (instruction stage, exemplar stage, report) with different
plans; importing this package registers them. The thin modules ``workbench.optimizers.ape``,
``opro``, ``protegi``, ``joint`` and ``exemplars_opt`` import it, so the loop's discovery by name
finds them. ``exemplars`` is the selector package's module name: that package registers the
optimizer ``exemplars`` itself, so both ``exemplars`` and its alias ``exemplars_opt`` resolve.

Example:
    >>> from workbench.optimizers import optimizer_names
    >>> {"ape", "opro", "protegi", "joint"} <= set(optimizer_names())
    True
"""

from __future__ import annotations

from typing import Any

from workbench.optimizers import register_optimizer
from workbench.optimizers.base import OptimizerContext
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


def _factory(method: str) -> Any:
    def build(ctx: OptimizerContext, settings: dict[str, Any]) -> PromptOptimizer:
        return PromptOptimizer(ctx, method, settings)

    return build


for _name in PROMPT_OPTIMIZERS:
    register_optimizer(_name, _factory("exemplars" if _name == "exemplars_opt" else _name))
