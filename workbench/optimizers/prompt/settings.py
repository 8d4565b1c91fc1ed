"""Settings of the prompt optimizers and the plan (stages, budgets, projection) they imply.

Registered names and their `optimizer.settings` (each model documents its own fields):

- ``ape`` / ``opro`` / ``protegi``: that method's model from `workbench.optimizers.prompt.budget`
  (`ApeSettings`, `OproSettings`, `ProtegiSettings`), flat, plus two keys of no model:
  ``budget`` (validation prompt evaluations, default the task file's ``budget.evaluations``) and
  ``max_tokens`` (answer length limit of the optimizer model's calls, default 256).
- ``exemplars``: ``selector`` (default ``random_search``) and that selector's model, flat
  (`SelectorSettings`, `RandomSearchSettings`, `MutationSettings`), plus ``budget`` (as above)
  and ``source`` (as in `JointSettings`). The seed instruction's validation run fills the pool
  (1 evaluation); heuristic selectors then spend one report evaluation, search selectors the
  rest of the budget.
- ``joint``: `JointSettings`.

Every method also takes ``racing`` (`RaceSettings`): the budget is then ``racing.examples``
validation example-evaluations (task-model calls on validation examples, the seed
instruction's full validation run included), new candidates are screened on ``screen``
examples and raced by successive halving, and the stage budgets above become the candidates
each stage can screen (`race_candidates`): search stages get ``examples - V`` (``joint``: split
by ``racing.split``, the exemplar stage also gets what the instruction race leaves), a
heuristic selector's report costs ``V``. ``budget`` / ``exemplar_budget`` are then not allowed.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from workbench.errors import ConfigError
from workbench.optimizers.prompt.budget import (
    INSTRUCTION_OPTIMIZERS,
    SELECTORS,
    CallProjection,
    parse_settings,
    project_calls,
)
from workbench.optimizers.prompt.rungs import (
    RaceSettings,
    race_candidates,
    race_cost,
    race_rungs,
)
from workbench.quantities import Count, CountOrZero

__all__ = ["JointSettings", "Plan", "make_plan", "project_plan"]

DEFAULT_EVALUATIONS = 32
_AT = ("optimizer", "settings")  # where the settings sit in a task file, for error messages
HEURISTIC = ("random", "nearest", "diversity")


class JointSettings(BaseModel):
    """Settings of the ``joint`` optimizer: an instruction stage, then exemplars."""

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)

    instruction: str = "ape"
    """The instruction optimizer: ``none``, ``ape``, ``opro`` or ``protegi``."""
    instruction_settings: dict[str, Any] = Field(default_factory=dict)
    """Its settings (`ApeSettings`, `OproSettings` or `ProtegiSettings`)."""
    selector: str = "mutation"
    """The exemplar selector: ``none``, ``random``, ``nearest``, ``diversity``,
    ``random_search`` or ``mutation`` (with ``search: tpe`` only its ``k`` is used)."""
    selector_settings: dict[str, Any] = Field(default_factory=dict)
    """Its settings (`SelectorSettings`, `RandomSearchSettings` or `MutationSettings`)."""
    search: Literal["staged", "tpe"] = "staged"
    """``staged``: the instruction stage, then the selector with its winner; ``tpe``: Optuna TPE
    over (instruction, exemplar set) pairs after the instruction stage."""
    budget: Count | None = None
    """Validation prompt evaluations of the instruction stage, the seed's included; default
    half the task file's ``budget.evaluations``."""
    exemplar_budget: CountOrZero | None = None
    """Validation prompt evaluations of the exemplar stage; default the rest of
    ``budget.evaluations`` (less a heuristic selector's report evaluation)."""
    instructions_kept: Count = 4
    """``search: tpe``: the best distinct instructions TPE chooses among."""
    sets: Count = 8
    """``search: tpe``: random exemplar sets TPE chooses among (besides no exemplars)."""
    source: Literal["model", "label", "both"] = "model"
    """Where exemplars come from: ``model`` (the model's verified-correct outputs, topped up
    with labelled training pairs when too few), ``label`` (training pairs) or ``both``."""
    max_tokens: Count = Field(256, ge=16)
    """Answer length limit of the optimizer model's calls, in tokens."""


@dataclass
class Plan:
    """What a prompt-optimizer run will do."""

    method: str
    instruction: str
    instruction_settings: Any
    selector: str
    selector_settings: Any
    budget: int
    exemplar_budget: int
    search: str = "staged"
    instructions_kept: int = 4
    sets: int = 8
    source: str = "model"
    max_tokens: int = 256
    racing: RaceSettings | None = None
    val_size: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        d = dataclasses.asdict(self)
        for key in ("instruction_settings", "selector_settings", "racing"):
            value = getattr(self, key)
            d[key] = value.model_dump() if isinstance(value, BaseModel) else value
        return d


def _pop_int(settings: dict[str, Any], key: str) -> int | None:
    value = settings.pop(key, None)
    if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 0):
        raise ConfigError(f"optimizer.settings.{key}={value!r}: give a non-negative integer")
    return value


def _racing(given: Any) -> RaceSettings | None:
    if given is None or isinstance(given, RaceSettings):
        return given
    if not isinstance(given, dict):
        raise ConfigError(f"optimizer.settings.racing={given!r}: give {{examples, screen, eta}}")
    model = parse_settings("racing", "racing", {"racing": RaceSettings}, given, at=(*_AT, "racing"))
    assert isinstance(model, RaceSettings)
    return model


def _raced(plan: Plan, racing: RaceSettings, val_size: int | None) -> Plan:
    """`plan` with its stage budgets turned into the candidates the races can screen."""
    if val_size is None or val_size < 1:
        raise ConfigError("racing needs the validation split's size (val_size)")
    v, r = val_size, racing
    search = r.examples - v
    heuristic_report = plan.selector in HEURISTIC
    if heuristic_report:
        search -= v
    if search < 0:
        raise ConfigError(
            f"racing.examples={r.examples} is below what the method's fixed evaluations need "
            f"({r.examples - search} validation example-evaluations with {v} validation "
            f"examples); raise it or shrink prompt.split.val"
        )
    io_share = 0
    if plan.instruction != "none":
        io_share = int(search * r.split) if plan.method == "joint" else search
    n_io = race_candidates(io_share, r.screen, v, r.eta)
    es_share = search - race_cost(n_io, r.screen, v, r.eta)  # what the first race left
    budget = 1 + n_io
    searching = plan.search == "tpe" or plan.selector in ("random_search", "mutation")
    es_budget = race_candidates(es_share, r.screen, v, r.eta) if searching else 0
    return dataclasses.replace(plan, budget=budget, exemplar_budget=es_budget, racing=r, val_size=v)


def make_plan(
    method: str,
    settings: dict[str, Any],
    evaluations: int | None,
    val_size: int | None = None,
) -> Plan:
    """Validate `settings` of optimizer `method` and split the evaluation budget into stages.

    Args:
        method: ``ape``, ``opro``, ``protegi``, ``exemplars`` or ``joint``.
        settings: the task file's ``optimizer.settings``.
        evaluations: the task file's ``budget.evaluations`` (None: 32).
        val_size: the validation split's size (needed with ``racing``).

    Raises:
        ConfigError: unknown keys or values (the message names the field).
    """
    s = dict(settings)
    racing = _racing(s.pop("racing", None))
    if racing is not None:
        for key in ("budget", "exemplar_budget"):
            if s.get(key) is not None:
                raise ConfigError(
                    f"optimizer.settings.{key} and racing: with racing the budget is "
                    f"racing.examples; remove {key}"
                )
        plan = make_plan(method, s, DEFAULT_EVALUATIONS)
        return _raced(plan, racing, val_size)
    total = evaluations or DEFAULT_EVALUATIONS
    if method in ("ape", "opro", "protegi"):
        budget = _pop_int(s, "budget") or total
        max_tokens = _pop_int(s, "max_tokens") or 256
        io = parse_settings("instruction optimizer", method, INSTRUCTION_OPTIMIZERS, s, at=_AT)
        return Plan(method, method, io, "none", None, budget, 0, max_tokens=max_tokens)
    if method == "exemplars":
        selector = s.pop("selector", "random_search")
        source = s.pop("source", "model")
        budget = _pop_int(s, "budget") or total
        es = parse_settings("exemplar selector", selector, SELECTORS, s, at=_AT)
        report = 1 if selector in HEURISTIC else 0
        return Plan(
            method, "none", None, selector, es, 1, max(budget - 1 - report, 0), source=source
        )
    if method == "joint":
        j = JointSettings.model_validate(s)
        io = parse_settings(
            "instruction optimizer",
            j.instruction,
            INSTRUCTION_OPTIMIZERS,
            j.instruction_settings,
            at=(*_AT, "instruction_settings"),
        )
        es = parse_settings(
            "exemplar selector",
            j.selector,
            SELECTORS,
            j.selector_settings,
            at=(*_AT, "selector_settings"),
        )
        budget = j.budget or max(total // 2, 1)
        report = 1 if (j.selector in HEURISTIC and j.search == "staged") else 0
        es_budget = j.exemplar_budget
        if es_budget is None:
            es_budget = max(total - budget - report, 0)
        return Plan(
            method,
            j.instruction,
            io,
            j.selector if j.search == "staged" else "none",
            es,
            budget,
            es_budget,
            j.search,
            j.instructions_kept,
            j.sets,
            j.source,
            j.max_tokens,
        )
    raise ConfigError(f"unknown prompt optimizer {method!r}")


def project_plan(
    plan: Plan,
    *,
    val_size: int,
    test_size: int,
    train_size: int,
    pool_size: int | None = None,
) -> CallProjection:
    """The calls `plan` will make (`project_calls`, plus TPE's trials for ``search: tpe``;
    with racing, each stage's candidates raced on parts of the validation split)."""
    p = project_calls(
        val_size=val_size,
        instruction=plan.instruction,
        instruction_settings=plan.instruction_settings,
        selector=plan.selector,
        selector_settings=plan.selector_settings if plan.selector != "none" else None,
        budget=plan.budget,
        exemplar_budget=plan.exemplar_budget,
        test_size=test_size,
        train_size=train_size,
        pool_size=pool_size,
    )
    if plan.search == "tpe":
        io_evals = p.stages["instruction"]["evaluations"]
        pairs = min(plan.instructions_kept, io_evals) * (plan.sets + 1) - min(
            plan.instructions_kept, io_evals
        )
        trials = min(plan.exemplar_budget, pairs)
        p = dataclasses.replace(
            p,
            task_calls=p.task_calls + trials * val_size,
            val_evaluations=p.val_evaluations + trials,
            val_examples=p.val_examples + trials * val_size,
            stages={**p.stages, "exemplars": {"evaluations": trials, "report_evaluations": 0}},
        )
    if plan.racing is None:
        return p
    return _race_projection(p, plan.racing, val_size)


def _race_projection(p: CallProjection, r: RaceSettings, v: int) -> CallProjection:
    """`p` (each search candidate on the whole split) turned into a race: the seed and a
    report on all `v` examples, each stage's candidates raced (`race_rungs`)."""
    stages: dict[str, dict[str, int]] = {}
    evaluations, examples = 1, v  # the seed instruction, on the whole split
    for name, screened in (
        ("instruction", p.stages["instruction"]["evaluations"] - 1),
        ("exemplars", p.stages["exemplars"]["evaluations"]),
    ):
        rungs = race_rungs(screened, r.screen, v, r.eta)
        cost = race_cost(screened, r.screen, v, r.eta)
        stages[name] = {
            **p.stages[name],
            "screened": screened,
            "promotions": sum(c for _, c in rungs[1:]),
            "examples": cost,
        }
        evaluations += sum(c for _, c in rungs)
        examples += cost
    examples += p.report_evaluations * v
    return dataclasses.replace(
        p,
        task_calls=examples + p.minibatch_calls + p.test_calls,
        val_evaluations=evaluations,
        val_examples=examples,
        stages=stages,
        racing=r.model_dump(),
    )
