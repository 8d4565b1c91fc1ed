"""Projected model calls for a prompt-optimization run, before it starts.

The budget unit is the **prompt evaluation**: one candidate prompt run on the whole validation
set, i.e. ``V`` task-model calls (one chat call per validation example). `project_calls` turns the
chosen method and its settings into the exact number of task-model and optimizer-model calls the
run will make, so the CLI can print it up front and an integration test can check it against
``Usage.calls``. Calls are counted as `workbench.llm.CallRecord`s are: cache hits included.
With racing (`RaceSettings`, `workbench.optimizers.prompt.rungs`) the unit is the validation
example-evaluation instead (one task-model call on one validation example); the optimizers'
`project_plan` turns these projections into races (``val_examples``).

The settings models below are the ones the optimizers and selectors take, so the projection and
the run read the same defaults. Symbols: ``B`` instruction budget, ``B_es`` exemplar budget
(defaults to ``B``), ``V`` validation size, ``T`` test size, ``k`` exemplars per prompt.

Stages of a run (each formula is in the function that computes it):

1. **Instruction stage** (always; the seed instruction's validation run is its first
   evaluation, and its correct outputs start the exemplar pool): `_instruction_stage`.
2. **Exemplar stage** with the stage-1 winner as instruction: `_exemplar_stage`.
3. **Report**: a heuristic selector's final prompt (random / nearest / diversity) was never scored
   on validation, so it is run once more on validation to report its accuracy (1 evaluation).
4. **Test**: the final prompt on the test set (``T`` calls).

Totals::

    task_calls      = (E_io + E_es + E_report) * V + minibatch_calls + T
    optimizer_calls = proposals of the instruction optimizer (selectors call no model)

Exactness assumptions (the optimizers follow them): every proposed candidate is evaluated, even
a duplicate (its calls then hit the cache but still count); a ProTeGi gradient call is made even
when its minibatch has no errors (it then critiques the lowest-scoring examples); exemplar
search is exact when the pool holds enough distinct sets, otherwise the run makes fewer
evaluations (pass `pool_size` to get that cap).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from workbench.errors import ConfigError
from workbench.optimizers.base import SettingsError
from workbench.optimizers.prompt.rungs import RaceSettings, race_candidates, race_cost, race_rungs
from workbench.quantities import Count, CountOrZero, NonNegative

__all__ = [
    "INSTRUCTION_OPTIMIZERS",
    "SELECTORS",
    "ApeSettings",
    "CallProjection",
    "MutationSettings",
    "OproSettings",
    "ProtegiSettings",
    "RaceSettings",
    "RandomSearchSettings",
    "SelectorSettings",
    "mutation_schedule",
    "parse_settings",
    "project_calls",
    "race_candidates",
    "race_cost",
    "race_rungs",
]


class _Settings(BaseModel):
    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)


class ApeSettings(_Settings):
    """APE: propose instructions from input/output demonstrations, keep the best on validation."""

    num_candidates: Count | None = None
    """Instructions to propose; default ``B - 1`` (the seed instruction uses one evaluation)."""
    demos: Count = 5
    """Training pairs shown in each proposal prompt."""
    temperature: NonNegative = 0.9
    """Sampling temperature of the proposal calls."""
    fixed_demos: bool = False
    """Show the same demonstrations in every proposal call (drawn once per run; the proposals
    then differ by sampling only, and a server's prompt cache serves the whole prompt after the
    first call) instead of fresh ones per call."""


class OproSettings(_Settings):
    """OPRO: a meta-prompt with the scored history (ascending) proposes new instructions."""

    candidates_per_step: Count = 4
    """Proposals per step (one optimizer call each)."""
    steps: Count | None = None
    """Number of steps; default ``ceil((B - 1) / candidates_per_step)``."""
    history: Count = 20
    """Scored instructions kept in the meta-prompt."""
    demos: CountOrZero = 3
    """Training pairs shown in the meta-prompt."""
    temperature: NonNegative = 1.0
    """Sampling temperature of the proposal calls."""


class ProtegiSettings(_Settings):
    """ProTeGi: textual gradients from a training minibatch's errors, edits, beam selection."""

    rounds: Count | None = None
    """Expansion rounds; default: until the budget is spent."""
    beam: Count = 4
    """Prompts kept (and expanded) per round."""
    gradients: Count = 2
    """Gradient calls per expanded prompt."""
    edits_per_gradient: Count = 2
    """Edit calls (each one new prompt) per gradient."""
    minibatch: Count = 16
    """Training examples run with each expanded prompt to find its errors."""
    errors_shown: Count = 4
    """Failed examples put into a gradient prompt."""


class SelectorSettings(_Settings):
    """Heuristic exemplar selectors (random, nearest, diversity); the base of the others."""

    k: Count = 3
    """Exemplars per prompt."""


class RandomSearchSettings(SelectorSettings):
    """Random search: random exemplar sets, the best on validation."""

    num_candidates: Count | None = None
    """Exemplar sets to evaluate; default ``B_es`` (the exemplar budget)."""


class MutationSettings(SelectorSettings):
    """Mutation: a population of exemplar sets evolved for some generations."""

    population: Count | None = Field(default=None, ge=2)
    """Exemplar sets per generation ``P``; default ``max(2, round(sqrt(B_es)))``
    (`mutation_schedule`)."""
    generations: CountOrZero | None = None
    """Generations ``G``, each making ``P`` children; default ``ceil((B_es - P) / P)``
    (`mutation_schedule`)."""


INSTRUCTION_OPTIMIZERS: dict[str, type[_Settings] | None] = {
    "none": None,
    "ape": ApeSettings,
    "opro": OproSettings,
    "protegi": ProtegiSettings,
}
SELECTORS: dict[str, type[SelectorSettings] | None] = {
    "none": None,
    "random": SelectorSettings,
    "nearest": SelectorSettings,
    "diversity": SelectorSettings,
    "random_search": RandomSearchSettings,
    "mutation": MutationSettings,
}


def mutation_schedule(
    budget: int, population: int | None = None, generations: int | None = None
) -> tuple[int, int]:
    """Population ``P`` and generations ``G`` of the mutation search.

    ``P = population or max(2, round(sqrt(budget)))`` (capped at the budget);
    ``G = generations or ceil((budget - P) / P)``; each generation makes ``P`` children, so the
    search makes ``min(budget, P + G * P)`` evaluations (B = 32: P = 6, G = 5, 32 evaluations;
    the last generation is cut short at the budget).
    """
    p = population or max(2, round(math.sqrt(budget)))
    p = max(1, min(p, budget))
    g = generations if generations is not None else math.ceil(max(budget - p, 0) / p)
    return p, g


@dataclass(frozen=True)
class CallProjection:
    """What a run will call.

    Attributes:
        task_calls: task-model calls (validation, minibatches, report, test).
        optimizer_calls: optimizer-model calls (instruction proposals, gradients, edits).
        val_evaluations: prompt evaluations on validation spent by the search (seed included).
        report_evaluations: extra validation runs of the final prompt (0 or 1).
        minibatch_calls: task-model calls on training minibatches (ProTeGi).
        test_calls: task-model calls on the test set.
        stages: per-stage breakdown, for the report.
        val_examples: validation example-evaluations (task-model calls on validation
            examples): the budget unit of racing runs (`RaceSettings`).
        racing: the race settings (JSON) when the run races, else None.
    """

    task_calls: int
    optimizer_calls: int
    val_evaluations: int
    report_evaluations: int
    minibatch_calls: int
    test_calls: int
    stages: dict[str, dict[str, int]] = field(default_factory=dict)
    val_examples: int = 0
    racing: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return asdict(self)

    def summary(self) -> str:
        """One line for the CLI."""
        return (
            f"projected calls: {self.task_calls} task-model, {self.optimizer_calls} "
            f"optimizer-model ({self.val_evaluations + self.report_evaluations} validation "
            f"prompt evaluations, {self.val_examples} validation example-evaluations)"
        )


def parse_settings(
    kind: str, name: str, table: dict[str, Any], given: Any, *, at: tuple[str, ...] | None = None
) -> Any:
    """Validate `given` settings for method `name` of `table` (`INSTRUCTION_OPTIMIZERS` or
    `SELECTORS`); a settings model instance passes through; None for methods without settings.

    Args:
        at: where `given` sits in a task file (``("optimizer", "settings")``): bad values are
            then a `workbench.optimizers.SettingsError` located there, so that a task file's
            error names the field and its line.

    Raises:
        ConfigError: unknown method, unknown key or bad value (the message names the field).
    """
    if name not in table:
        raise ConfigError(f"unknown {kind} {name!r}; known: {sorted(table)}")
    model = table[name]
    if model is None:
        if given:
            raise ConfigError(f"{kind} {name!r} takes no settings, got {given!r}")
        return None
    if isinstance(given, model):
        return given
    try:
        return model.model_validate(dict(given or {}))
    except ValidationError as exc:
        if at is not None:
            raise SettingsError.from_validation(exc, at) from None
        problems = "; ".join(
            f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors(include_url=False)
        )
        raise ConfigError(f"invalid settings for {kind} {name!r}: {problems}") from None


def _instruction_stage(name: str, s: Any, budget: int, minibatch_cap: int | None) -> dict[str, int]:
    """Evaluations ``E_io`` (seed included), optimizer calls and minibatch task calls.

    - none: ``E_io = 1`` (the seed instruction), no optimizer calls.
    - ape: ``n = min(num_candidates or B - 1, B - 1)`` proposals, one optimizer call each;
      ``E_io = 1 + n``.
    - opro: ``n = min(steps * candidates_per_step, B - 1)`` (steps default
      ``ceil((B - 1) / candidates_per_step)``), one optimizer call per proposal; ``E_io = 1 + n``.
    - protegi: rounds until `rounds` or the budget. At the start of a round the beam is the
      ``min(beam, evaluated so far)`` best prompts; for each beam prompt, while budget remains:
      ``edits = min(gradients * edits_per_gradient, remaining)``, ``ceil(edits /
      edits_per_gradient)`` gradient calls, ``edits`` edit calls (each a new prompt, evaluated
      on validation) and ``minibatch`` task calls to find its errors.
    """
    left = budget - 1
    if name == "none":
        return {"evaluations": 1, "optimizer_calls": 0, "minibatch_calls": 0}
    if name == "ape":
        n = min(s.num_candidates or left, left)
        return {"evaluations": 1 + n, "optimizer_calls": n, "minibatch_calls": 0}
    if name == "opro":
        steps = s.steps or math.ceil(left / s.candidates_per_step)
        n = min(steps * s.candidates_per_step, left)
        return {"evaluations": 1 + n, "optimizer_calls": n, "minibatch_calls": 0}
    minibatch = min(s.minibatch, minibatch_cap) if minibatch_cap is not None else s.minibatch
    evaluated, opt, mini, rounds = 1, 0, 0, 0
    while left > 0 and (s.rounds is None or rounds < s.rounds):
        rounds += 1
        for _ in range(min(s.beam, evaluated)):
            if left == 0:
                break
            edits = min(s.gradients * s.edits_per_gradient, left)
            opt += math.ceil(edits / s.edits_per_gradient) + edits
            mini += minibatch
            left -= edits
        evaluated = budget - left
    return {"evaluations": budget - left, "optimizer_calls": opt, "minibatch_calls": mini}


def _exemplar_stage(name: str, s: Any, budget: int, pool_size: int | None) -> dict[str, int]:
    """Evaluations ``E_es`` and report evaluations of the selector.

    - none: 0 and 0 (the final prompt is the instruction winner, already scored).
    - random / nearest / diversity: 0 search evaluations, 1 report evaluation.
    - random_search: ``min(num_candidates or B_es, B_es, sets)``; sets is the number of distinct
      ordered k-sets of the pool (``pool_size! / (pool_size - k)!``) when `pool_size` is given.
    - mutation: ``min(B_es, P + G * P, sets)`` with ``P, G = mutation_schedule(B_es, ...)``.
    """
    if name == "none":
        return {"evaluations": 0, "report_evaluations": 0}
    if name in ("random", "nearest", "diversity"):
        return {"evaluations": 0, "report_evaluations": 1}
    sets = math.perm(pool_size, s.k) if pool_size is not None and pool_size >= s.k else None
    if pool_size is not None and pool_size < s.k:
        sets = 1 if pool_size > 0 else 0
    if name == "random_search":
        n = min(s.num_candidates or budget, budget)
    else:
        p, g = mutation_schedule(budget, s.population, s.generations)
        n = min(budget, p + g * p)
    if sets is not None:
        n = min(n, sets)
    return {"evaluations": n, "report_evaluations": 0}


def project_calls(
    *,
    val_size: int,
    instruction: str = "none",
    instruction_settings: dict[str, Any] | BaseModel | None = None,
    selector: str = "none",
    selector_settings: dict[str, Any] | BaseModel | None = None,
    budget: int = 32,
    exemplar_budget: int | None = None,
    test_size: int = 0,
    train_size: int | None = None,
    pool_size: int | None = None,
) -> CallProjection:
    """Project the calls of a run (formulas in the module docstring and stage helpers).

    Args:
        val_size: validation examples ``V``.
        instruction: ``"none"`` (seed instruction only), ``"ape"``, ``"opro"`` or ``"protegi"``.
        instruction_settings: that optimizer's settings (mapping or settings model).
        selector: ``"none"``, ``"random"``, ``"nearest"``, ``"diversity"``, ``"random_search"``
            or ``"mutation"``.
        selector_settings: that selector's settings.
        budget: validation prompt evaluations for the instruction stage ``B`` (seed included).
        exemplar_budget: validation prompt evaluations for the exemplar stage (default `budget`).
        test_size: test examples ``T`` (the final prompt is run on them once).
        train_size: training examples (caps ProTeGi's minibatch).
        pool_size: exemplar pool size, when known (caps the exemplar search).

    Returns:
        The `CallProjection`.

    Raises:
        ConfigError: unknown names, bad settings, or sizes/budgets below their minimum.

    Example:
        >>> p = project_calls(val_size=50, instruction="ape", selector="random_search",
        ...                   test_size=100)
        >>> p.task_calls, p.optimizer_calls
        (3300, 31)
    """
    for label, value, low in (
        ("val_size", val_size, 1),
        ("budget", budget, 1),
        ("test_size", test_size, 0),
    ):
        if value < low:
            raise ConfigError(f"{label}={value}: must be at least {low}")
    es_budget = budget if exemplar_budget is None else exemplar_budget
    if es_budget < 0:
        raise ConfigError(f"exemplar_budget={exemplar_budget}: must be at least 0")
    io_settings = parse_settings(
        "instruction optimizer", instruction, INSTRUCTION_OPTIMIZERS, instruction_settings
    )
    es_settings = parse_settings("exemplar selector", selector, SELECTORS, selector_settings)
    io = _instruction_stage(instruction, io_settings, budget, train_size)
    es = _exemplar_stage(selector, es_settings, es_budget, pool_size)
    evaluations = io["evaluations"] + es["evaluations"]
    report = es["report_evaluations"]
    test_calls = test_size
    return CallProjection(
        val_examples=(evaluations + report) * val_size,
        task_calls=(evaluations + report) * val_size + io["minibatch_calls"] + test_calls,
        optimizer_calls=io["optimizer_calls"],
        val_evaluations=evaluations,
        report_evaluations=report,
        minibatch_calls=io["minibatch_calls"],
        test_calls=test_calls,
        stages={"instruction": io, "exemplars": es},
    )
