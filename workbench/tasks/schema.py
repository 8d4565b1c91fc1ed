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
from typing import Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, create_model, model_validator

from workbench.llm import LLMConfig
from workbench.quantities import Count, FiniteFloat, NonNegative, Positive, Seconds
from workbench.sandbox import SandboxConfig
from workbench.tasks.base import get_kind

__all__ = [
    "STAGE_WHEN",
    "STATUS_WHEN",
    "TEAM",
    "AgentSpec",
    "BudgetSpec",
    "OptimizerSpec",
    "RoutingRule",
    "RoutingSpec",
    "StopSpec",
    "TaskFile",
    "task_file_model",
]

TEAM = "workbench.optimizers.team:Team"
"""The optimizer a task file with an `agents:` section runs: its agents, composed."""

_STRICT = ConfigDict(extra="forbid")


class OptimizerSpec(BaseModel):
    """`optimizer:` — which optimizer proposes candidates, and its own settings."""

    model_config = _STRICT
    name: str = Field("optuna", min_length=1)
    settings: dict[str, Any] = Field(default_factory=dict)


class AgentBudget(BaseModel):
    """`budget:` of one agent: its own limits within the run's `budget:`."""

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)
    evaluations: Count | None = None
    """Its candidates evaluated, at most."""
    llm_calls: Count | None = None
    """Its model calls, at most."""
    tokens: Count | None = None
    """Tokens of its model calls, at most."""


class AgentSpec(BaseModel):
    """One entry of `agents:` — an optimizer bound to the parameters it owns."""

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)
    name: str = Field(pattern=r"^[A-Za-z][A-Za-z0-9_-]{0,39}$")
    """The agent's name (events, candidates and the routing rules name it)."""
    optimizer: OptimizerSpec
    """Its optimizer and that optimizer's settings."""
    parameters: list[str] = Field(default_factory=list)
    """The parameters it owns (names as in ``workflow.parameters``); empty: those no other
    agent names that its optimizer can handle (ask/tell optimizers: those in
    ``workflow.space``; the others: the rest)."""
    llm: LLMConfig | None = None
    """Its own model (default: the task file's ``llm:``)."""
    share: Positive = 1.0
    """Its share of the steps: agents take turns so that each one's steps stay in proportion
    to its share (unless a routing rule picks another)."""
    budget: AgentBudget | None = None
    """Its own limits within the run's budget: at one it stops proposing and the other agents
    go on (the run's limits still end the run)."""


StatusWhen = Literal["error", "failed", "timeout"]
StageWhen = Literal["contract", "build", "smoke", "run", "correctness", "speed"]
STATUS_WHEN: tuple[str, ...] = get_args(StatusWhen)
STAGE_WHEN: tuple[str, ...] = get_args(StageWhen)


class RoutingRule(BaseModel):
    """One entry of `routing.rules`: after a step whose evaluations show `when`, `agent` goes."""

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)
    when: Literal[StatusWhen, StageWhen, "plateau"]
    """``error`` / ``failed`` / ``timeout``: every evaluation of the last step had that status;
    ``contract`` / ``build`` / ``smoke`` / ``run`` / ``correctness`` / ``speed``: every
    evaluation of the last step stopped at that stage of a staged judge (``mpi``; e.g. a build
    failure goes to the code agent, correct but too slow to the tuner); ``plateau``: no better
    score for `steps` steps."""
    agent: str
    """The agent that proposes next."""
    steps: Count = 3
    """For ``plateau``: steps without improvement. For a status: the rule picks its agent for
    at most this many such steps in a row (a repair that keeps failing gives way to the
    agents' turns)."""


class RoutingSpec(BaseModel):
    """`routing:` — which agent proposes at each step: the first rule that holds, else the
    `policy`'s pick."""

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)
    rules: list[RoutingRule] = Field(default_factory=list)
    """Checked in order after every step."""
    policy: Literal["shares", "gains"] = "shares"
    """When no rule holds: ``shares``: turns in proportion to the agents' shares; ``gains``:
    each agent once, then the agent whose recent turns have most often raised the best score,
    with a bonus for the agents tried least (discounted UCB; the shares weight that bonus), so
    an agent that stops gaining gives its turns to one that still gains."""
    explore: NonNegative = 0.5
    """For ``gains``: the weight of the bonus for agents tried least (0: always the agent
    with the best recent gain rate)."""
    discount: float = Field(0.8, gt=0, le=1)
    """For ``gains``: how much less each turn counts at every later turn (1: all turns
    alike; 0.8: about the last five turns matter), so an agent that stops gaining loses its
    lead and an agent left idle is tried again."""


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
    agents: list[AgentSpec] | None = Field(None, min_length=1)
    routing: RoutingSpec | None = None
    _section: BaseModel | None = PrivateAttr(None)

    @model_validator(mode="after")
    def _agents(self) -> TaskFile:
        if self.agents is None:
            if self.routing is not None:
                raise ValueError("routing: needs an agents: section")
            return self
        if "optimizer" in self.model_fields_set:
            raise ValueError("give either optimizer: (one optimizer) or agents: (several)")
        names = [a.name for a in self.agents]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise ValueError(f"agents: names must differ; {', '.join(twice)} appears twice")
        for rule in (self.routing or RoutingSpec()).rules:
            if rule.agent not in names:
                raise ValueError(
                    f"routing.rules: agent {rule.agent!r} is not in agents: ({', '.join(names)})"
                )
        return self

    @property
    def proposer_label(self) -> str:
        """The optimizer's name, or the agents' (``coder=optoprime, tuner=llambo``)."""
        if self.agents is None:
            return self.optimizer.name
        return ", ".join(f"{a.name}={a.optimizer.name}" for a in self.agents)

    def proposer(self) -> tuple[str, dict[str, Any]]:
        """The optimizer the run builds and its settings: `optimizer:`, or the team of
        `agents:` (`workbench.optimizers.team.Team`)."""
        if self.agents is None:
            return self.optimizer.name, self.optimizer.settings
        routing = self.routing or RoutingSpec()
        return TEAM, {
            "agents": [a.model_dump(mode="json", exclude_none=True) for a in self.agents],
            "routing": routing.model_dump(mode="json"),
        }

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
        data = self.model_dump(mode="json")
        if self.agents is None:
            data.pop("agents")
            data.pop("routing")
        else:
            data.pop("optimizer")  # the agents' optimizers are the run's
        return data


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
