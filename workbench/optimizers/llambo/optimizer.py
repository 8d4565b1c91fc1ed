"""`LlamboOptimizer`: LLAMBO over an Optuna study, with a hand-over to TPE as data accumulates.

Per step (``propose(n)``): enqueued trials (fixed initial points) go first; the model's
zero-shot warm start is enqueued once, on a fresh study or after the fixed initial points
(persisted in the storage, so a resume replays it); the remaining slots are each given to
TPE with probability ``tpe_share(n_observed)`` (0 below `handover_start`, rising linearly to
`max_tpe_share` at `handover_end`), the others to the LLM: one sampler call for
`n_candidates` rows aimed at a target score beyond the best, ranked by TPE's density ratio
(or, with ``n_samples > 0``, by the LLM surrogate's EI). LLM slots the model cannot fill with
valid, unseen configurations fall back to TPE (counted). At most `max_calls_per_step` LLM
calls, repair calls included. After the hand-over TPE samples from every trial of the study,
the LLM's included. Plateaus: while at least 3 observations share the best score the model is
asked to leave the plateau (not to aim at a target) and its rows farthest from the observed go
first; while *every* observation scores the same, TPE (with nothing to model) takes no slot,
whatever the hand-over says.

The defaults give the LLM evaluations 6-15 of a 30-evaluation run, where LLAMBO's lead over
TPE lies (research/llambo.md section 2), and multivariate TPE the rest; the measurements behind
them are in bench/README.md.

In a task file (each setting is documented on `LlamboSettings`)::

    optimizer:
      name: llambo
      settings: {n_candidates: 4, handover_start: 14, handover_end: 15}
"""

from __future__ import annotations

import logging
import random
import warnings
from typing import Any

import optuna
import optuna.samplers as samplers
from optuna.exceptions import ExperimentalWarning
from pydantic import BaseModel, ConfigDict, Field

from workbench.contracts import Candidate, Evaluation
from workbench.errors import ConfigError
from workbench.optimizers.base import Optimizer, RunContext, SettingsError
from workbench.optimizers.llambo.engine import PLATEAU, Engine, Stats, StepLog
from workbench.optimizers.llambo.history import History
from workbench.optimizers.llambo.prompts import PROMPT_VERSION
from workbench.optimizers.llambo.sampler import LlamboSampler
from workbench.optimizers.optuna import (
    dispose_storage,
    optuna_distributions,
    study_location,
    study_storage,
    tell_evaluations,
)
from workbench.quantities import Count, CountOrZero, FiniteFloat, Fraction

__all__ = ["LlamboOptimizer", "LlamboSettings", "tpe_share"]

log = logging.getLogger(__name__)


class LlamboSettings(BaseModel):
    """`optimizer.settings` of the `llambo` optimizer."""

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)

    context: str | None = None
    """The task description shown to the model; default: the task file's ``description`` (else
    the objective and its arguments)."""
    warm_start: CountOrZero = Field(5, le=50)
    """Zero-shot configurations the model proposes once on a fresh study (0: off)."""
    warm_start_after_inits: CountOrZero = Field(3, le=50)
    """Zero-shot configurations after a study's enqueued fixed initial points: the model's prior
    without a history to anchor it (a small model copies the rows it is shown, and random initial
    points are often degenerate)."""
    n_candidates: Count = Field(4, le=30)
    """Rows (configurations) asked for per sampler call."""
    n_samples: CountOrZero = Field(0, le=4)
    """LLM surrogate samples (calls) per step, ranking the rows by expected improvement; 0 ranks
    them by TPE's density ratio."""
    alpha: FiniteFloat = 0.1
    """The sampler aims at the target score ``best + alpha * observed range`` (towards better)."""
    max_calls_per_step: Count = Field(5, ge=2, le=20)
    """LLM calls per step at most, repair calls included (hence at least 2)."""
    handover_start: CountOrZero = 14
    """Observations before TPE takes any LLM slot."""
    handover_end: Count = 15
    """Observations at which TPE's share of the slots reaches `max_tpe_share`, rising linearly
    from `handover_start` (must be greater)."""
    max_tpe_share: Fraction = 1.0
    """TPE's share of the slots once the hand-over is complete (1.0: every slot)."""
    n_startup_trials: CountOrZero = 5
    """TPE's random trials before its model kicks in."""
    tpe_multivariate: bool = True
    """TPE models the parameters jointly (multivariate TPE) rather than one by one."""
    clip_outside: bool = False
    """Clamp rows still outside the space after the re-ask onto its bounds; off: TPE takes
    their slots (clamped rows sit on the bounds)."""
    max_failed_steps: CountOrZero = 3
    """Consecutive LLM steps without a usable row after which TPE takes the LLM's slots for the
    rest of the run (0: never)."""
    max_tokens: Count | None = Field(None, ge=32)
    """Completion cap per call; None: sized from the space and `n_candidates`."""
    storage: str | None = None
    """Optuna storage URL; default ``sqlite:///<run folder>/optuna.sqlite`` (in memory when
    there is no run folder)."""
    study_name: str | None = Field(None, min_length=1)
    """The study's name in the storage; default: the run folder's name (``workbench`` when
    there is no run folder)."""


def tpe_share(settings: LlamboSettings, n_observed: int) -> float:
    """The probability that a slot goes to TPE after `n_observed` evaluations."""
    s = settings
    if n_observed < s.handover_start:
        return 0.0
    frac = (n_observed - s.handover_start) / (s.handover_end - s.handover_start)
    return s.max_tpe_share * min(1.0, frac)


def _context(task: Any) -> str:
    text = getattr(task, "description", None)
    if text:
        return str(text)
    section = getattr(task, "section", None)
    args = getattr(section, "args", None)
    if args:
        return f"{task.name}: objective {section.objective} with {args}"
    return str(getattr(task, "name", "an objective"))


class LlamboOptimizer(Optimizer):
    """LLAMBO (warm start, candidate sampler, LLM surrogate + EI) as an Optuna ask/tell loop.

    Args:
        ctx: the run context (task with a search space, seed, run folder, LLM client).
        settings: `LlamboSettings` or its dict.
    """

    name = "llambo"

    def __init__(self, ctx: RunContext, settings: LlamboSettings | dict[str, Any]) -> None:
        optuna.logging.disable_default_handler()
        optuna.logging.enable_propagation()
        self.ctx = ctx
        self.settings = s = LlamboSettings.model_validate(settings)
        if ctx.task is None:
            raise ConfigError("the llambo optimizer needs a task with a search space")
        try:
            self.space_specs = dict(ctx.task.search_space())
        except (NotImplementedError, AttributeError) as exc:
            raise ConfigError(f"optimizer 'llambo' cannot optimize this task kind: {exc}") from None
        if s.handover_end <= s.handover_start:
            msg = f"must be > handover_start ({s.handover_start}), got {s.handover_end}"
            raise SettingsError([(("optimizer", "settings", "handover_end"), msg)])
        self.space = optuna_distributions(self.space_specs)
        self.storage_url, self.study_name = study_location(s.storage, s.study_name, ctx.run_dir)
        self.seed = ctx.seed if ctx.seed is not None else random.SystemRandom().randrange(2**31)
        try:
            self.study = optuna.create_study(
                storage=study_storage(self.storage_url),
                study_name=self.study_name,
                direction=ctx.task.direction,
                load_if_exists=True,
            )
        except Exception as exc:  # SQLAlchemy/driver errors: a bad or unreachable storage URL
            msg = f"Optuna cannot use storage {self.storage_url!r}: {exc}"
            raise SettingsError([(("optimizer", "settings", "storage"), msg)]) from None
        self.stats = Stats()
        self.pending: dict[str, int] = {}
        self.history = History(self.space_specs, ctx.task.direction)
        self.history.read(self.study)
        self.warm_done = False  # True once the study says so (it never goes back)
        self.sampler = LlamboSampler(self._fallback(self.history.n_trials))
        self.engine = Engine(
            ctx.llm,
            self.space_specs,
            s.context or _context(ctx.task),
            ctx.task.primary,
            ctx.task.direction,
            self.stats,
            max_calls=s.max_calls_per_step,
            n_candidates=s.n_candidates,
            n_samples=s.n_samples,
            clip_outside=s.clip_outside,
            alpha=s.alpha,
            max_tokens=s.max_tokens,
        )

    # -- helpers -----------------------------------------------------------------------------
    def _fallback(self, n_trials: int) -> Any:
        """TPE, seeded from the seed and the number of trials in the study."""

        seed = (self.seed * 1_000_003 + n_trials) % 2**32
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ExperimentalWarning)
            return samplers.TPESampler(
                seed=seed,
                n_startup_trials=self.settings.n_startup_trials,
                multivariate=self.settings.tpe_multivariate,
                constant_liar=True,
            )

    def tpe_share(self, n_observed: int) -> float:
        """The probability that a slot goes to TPE after `n_observed` evaluations."""
        return tpe_share(self.settings, n_observed)

    # -- Optimizer ---------------------------------------------------------------------------
    def propose(self, n: int) -> list[Candidate]:
        """Ask `n` trials: enqueued ones first, then warm start / LLM / TPE slots."""
        if n <= 0:
            return []
        study, history = self.study, self.history
        step = StepLog()
        history.read(study)  # the trials that changed since the last step, not all of them
        n_trials, waiting, n_observed = history.n_trials, history.waiting, history.n_observed
        seen: set[str] | None = None  # built only for the model, whose prompt is as long
        base_seed = (self.seed * 7_919 + n_trials) % 2**31
        self.warm_done = self.warm_done or bool(study.user_attrs.get("llambo_warm_done"))
        if not self.warm_done:
            # a fresh study gets `warm_start` zero-shot rows; one that starts from fixed initial
            # points (already enqueued) gets `warm_start_after_inits` more after them: the
            # model's prior without a history to anchor it (a small model copies the rows it
            # is shown, and random initial points are often degenerate)
            s = self.settings
            warm = s.warm_start if not n_trials else s.warm_start_after_inits
            if warm:
                seen = history.seen()
                for config in self.engine.warm_start(warm, seen, base_seed, step):
                    study.enqueue_trial(config, user_attrs={"llambo_source": "warm"})
                    waiting += 1
                    n_trials += 1
            study.set_user_attr("llambo_warm_done", True)
            self.warm_done = True
        slots = max(0, n - waiting)
        rng = random.Random(base_seed)
        llm_slots = 0
        share = self.tpe_share(n_observed)
        if n_observed >= PLATEAU and history.all_tied():
            share = 0.0  # every score is the same: TPE has nothing to model, the LLM's prior does
        for _ in range(slots):
            if n_observed >= 2 and rng.random() >= share:
                llm_slots += 1
        configs: list[dict[str, Any]] = []
        give_up = self.settings.max_failed_steps
        if llm_slots and give_up and self.stats.failed_streak >= give_up:
            self.stats.gave_up_slots += llm_slots  # the model failed step after step: TPE
            llm_slots = 0
        if llm_slots:
            seen = history.seen() if seen is None else seen
            configs = self.engine.propose(history.observed(), seen, llm_slots, base_seed, step)
            self.stats.fallbacks += llm_slots - len(configs)
            self.stats.failed_streak = 0 if configs else self.stats.failed_streak + 1
        self.sampler.fallback = self._fallback(n_trials)
        self.sampler.queue.clear()
        self.sampler.queue.extend(configs)
        study.sampler = self.sampler
        out = []
        for _ in range(n):
            trial = study.ask(fixed_distributions=self.space)
            source = self.sampler.sources.pop(trial.number, "numerical")
            if source == "llm":
                self.stats.llm_proposals += 1
            elif source == "numerical":
                self.stats.tpe_proposals += 1
            cid = f"t{trial.number:05d}"
            self.pending[cid] = trial.number
            meta = {
                "trial": trial.number,
                "sampler": "llambo",
                "source": source,
                "prompt_version": PROMPT_VERSION,
                "step_llm_calls": step.calls,
                "step_prompt_tokens": step.prompt_tokens,
                "step_completion_tokens": step.completion_tokens,
                "step_rejected": len(step.rejected),
                "step_rejections": step.rejected[:8],
                "tpe_share": round(share, 3),
            }
            out.append(Candidate(id=cid, payload={"params": dict(trial.params)}, meta=meta))
        self.sampler.queue.clear()
        self.stats.max_step_calls = max(self.stats.max_step_calls, step.calls)
        log.info("llambo step: %d calls, %d tokens, %s", step.calls, step.tokens, self.stats)
        for why in step.rejected:
            log.info("llambo rejected %s", why)
        return out

    def observe(self, evaluations: list[Evaluation]) -> None:
        """Tell the study each result; a failed evaluation is a FAILed trial."""
        tell_evaluations(self.study, self.pending, evaluations)

    def state(self) -> dict[str, Any]:
        """Pending trials and counters; the trials themselves are in the storage."""
        return {
            "study_name": self.study_name,
            "seed": self.seed,
            "pending": dict(self.pending),
            "stats": self.stats.to_dict(),
            "prompt_version": PROMPT_VERSION,
        }

    def load_state(self, state: dict[str, Any]) -> None:
        """Reconnect to the trials; trials asked after the saved state are failed."""
        self.pending = {str(k): int(v) for k, v in state.get("pending", {}).items()}
        self.seed = int(state.get("seed", self.seed))
        for key, value in (state.get("stats") or {}).items():
            if hasattr(self.stats, key):
                setattr(self.stats, key, int(value))
        keep = set(self.pending.values())
        for t in self.study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,)):
            if t.number not in keep:
                self.study.tell(t.number, state=optuna.trial.TrialState.FAIL)

    def close(self) -> None:
        """Dispose of the storage's connections."""
        dispose_storage(self.study)
