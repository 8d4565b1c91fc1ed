"""The pydantic schema of a task file (`task.yaml`); unknown keys are errors everywhere.

A task file holds the common sections below plus one section named after its `kind`
(e.g. ``hpo:``), validated by the model that kind registered (`workbench.tasks.base`).

Example:
    >>> m = task_file_model("hpo")
    >>> sorted(m.model_fields)[:3]
    ['budget', 'description', 'hpo']
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, create_model, model_validator

from workbench.llm import LLMConfig
from workbench.quantities import Count, FiniteFloat, Positive, Seconds
from workbench.sandbox import SandboxConfig
from workbench.tasks.base import get_kind

__all__ = ["BudgetSpec", "OptimizerSpec", "StopSpec", "TaskFile", "task_file_model"]

_STRICT = ConfigDict(extra="forbid")


class OptimizerSpec(BaseModel):
    """`optimizer:` — which optimizer proposes candidates, and its own settings."""

    model_config = _STRICT
    name: str = Field("optuna", min_length=1)
    settings: dict[str, Any] = Field(default_factory=dict)


class BudgetSpec(BaseModel):
    """`budget:` — the run stops cleanly when any limit is reached (None: no limit)."""

    model_config = _STRICT
    iterations: Count | None = Field(None, description="propose/evaluate/update steps")
    evaluations: Count | None = None
    llm_calls: Count | None = None
    tokens: Count | None = None
    cost: Positive | None = None
    wall_time_s: Seconds | None = None

    def is_unbounded(self) -> bool:
        """True when no limit at all is set."""
        return all(v is None for v in self.model_dump().values())


class StopSpec(BaseModel):
    """`stop:` — stop early at a target score or after `patience` steps without improvement."""

    model_config = _STRICT
    target: FiniteFloat | None = None
    patience: Count | None = None


class TaskFile(BaseModel):
    """The common part of every task file; `task_file_model(kind)` adds the kind's section."""

    model_config = _STRICT
    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,79}$")
    kind: str
    description: str = ""
    workdir: str | None = Field(
        None, description="folder for relative paths and `module:function` (default: the file's)"
    )
    llm: Any = None
    optimizer: OptimizerSpec = Field(default_factory=OptimizerSpec)
    budget: BudgetSpec
    sandbox: Any = None
    parallel: Count = Field(1, le=256)
    seed: int | None = Field(0, ge=0)
    stop: StopSpec = Field(default_factory=StopSpec)
    _section: BaseModel | None = PrivateAttr(None)

    @model_validator(mode="after")
    def _bounded(self) -> TaskFile:
        if self.budget.is_unbounded():
            raise ValueError(
                "budget: set at least one limit (iterations, evaluations, llm_calls, tokens, "
                "cost or wall_time_s) so that the run ends"
            )
        return self

    @property
    def section(self) -> BaseModel:
        """The kind-specific section (e.g. the `hpo:` block)."""
        return getattr(self, self.kind)

    @property
    def base_dir(self) -> Path:
        """The folder relative paths resolve against (absolute once loaded)."""
        return Path(self.workdir or ".")

    def to_yaml_dict(self) -> dict[str, Any]:
        """The task as JSON-ready data, for writing the run's `task.yaml`."""
        return self.model_dump(mode="json")


@functools.cache
def task_file_model(kind: str) -> type[TaskFile]:
    """The full schema for a task file of `kind` (raises ConfigError for unknown kinds)."""
    section = get_kind(kind).section
    fields: dict[str, Any] = {
        kind: (section, ...),
        "llm": (LLMConfig | None, None),
        "sandbox": (SandboxConfig | None, None),
    }
    return create_model(f"{kind.capitalize()}TaskFile", __base__=TaskFile, **fields)
