"""The `optuna` optimizer: Optuna's samplers (tpe, random, gp, cmaes) driven by ask/tell.

The study lives in an Optuna storage: by default a SQLite file ``optuna.sqlite`` in the run
folder, or any storage URL (`storage:`), so trials survive a crash and can be shared across
machines. Each `propose` builds the sampler afresh, seeded from (seed, number of trials), so a
resumed run proposes what the unbroken run would have.

Settings (``optimizer.settings`` in the task file)::

    sampler: tpe            # tpe | random | gp | cmaes
    n_startup_trials: 10    # random trials before the model kicks in (tpe, gp, cmaes)
    storage: null           # Optuna storage URL; default sqlite:///<run>/optuna.sqlite
    study_name: null        # default: the run folder's name
    sampler_options: {}     # extra keyword arguments of the sampler class
"""

from __future__ import annotations

import importlib.util
import logging
import random
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from workbench.contracts import Candidate, Evaluation
from workbench.errors import ConfigError, NotSetUp
from workbench.optimizers.base import Optimizer, OptimizerContext, SettingsError

__all__ = ["OptunaOptimizer", "OptunaSettings", "optuna_distributions", "tell_evaluations"]

log = logging.getLogger(__name__)


class OptunaSettings(BaseModel):
    """`optimizer.settings` of the `optuna` optimizer."""

    model_config = ConfigDict(extra="forbid")
    sampler: Literal["tpe", "random", "gp", "cmaes"] = "tpe"
    n_startup_trials: int = Field(10, ge=0)
    storage: str | None = None
    study_name: str | None = Field(None, min_length=1)
    sampler_options: dict[str, Any] = Field(default_factory=dict)


def optuna_distributions(space: dict[str, Any]) -> dict[str, Any]:
    """Optuna distributions for an `hpo` search space (float, int, categorical)."""
    import optuna.distributions as d

    out: dict[str, Any] = {}
    for name, p in space.items():
        if p.type == "float":
            out[name] = d.FloatDistribution(p.low, p.high, log=p.log, step=p.step)
        elif p.type == "int":
            out[name] = d.IntDistribution(p.low, p.high, log=p.log, step=p.step)
        else:
            out[name] = d.CategoricalDistribution(p.choices)
    return out


def tell_evaluations(study: Any, pending: dict[str, int], evaluations: list[Evaluation]) -> None:
    """Tell `study` the result of each pending trial (popped from `pending`); a failed one FAILs.

    Evaluations of candidates not in `pending` (observed already, or not this study's) are
    skipped, and `skip_if_finished` covers a trial told before a crash: observing is idempotent.
    """
    import optuna

    for e in evaluations:
        number = pending.pop(e.candidate_id, None)
        if number is None:
            continue
        if e.score is None:
            study.tell(number, state=optuna.trial.TrialState.FAIL, skip_if_finished=True)
        else:
            study.tell(number, e.score, skip_if_finished=True)


class OptunaOptimizer(Optimizer):
    """Ask/tell over an Optuna study for tasks with a `search_space()` (the `hpo` kind).

    Args:
        ctx: the run context (task, seed, run folder).
        settings: `OptunaSettings` or its dict.
    """

    name = "optuna"

    def __init__(self, ctx: OptimizerContext, settings: OptunaSettings | dict[str, Any]) -> None:
        import optuna

        # Optuna prints INFO lines to stderr by default; below the CLI nothing prints, so its
        # records go to the `optuna` logger like ours.
        optuna.logging.disable_default_handler()
        optuna.logging.enable_propagation()

        self.ctx = ctx
        self.settings = OptunaSettings.model_validate(settings)
        if ctx.task is None:
            raise ConfigError("the optuna optimizer needs a task with a search space")
        try:
            self.space = optuna_distributions(ctx.task.search_space())
        except NotImplementedError as exc:
            raise ConfigError(f"optimizer 'optuna' cannot optimize this task kind: {exc}") from None
        if self.settings.sampler == "gp" and importlib.util.find_spec("torch") is None:
            raise NotSetUp("sampler 'gp' needs PyTorch: `pip install torch`, or use sampler: tpe")
        if self.settings.sampler == "cmaes" and importlib.util.find_spec("cmaes") is None:
            raise NotSetUp("sampler 'cmaes' needs the cmaes package: `pip install cmaes`")
        run_dir = ctx.run_dir or Path(".")
        self.storage_url = (
            self.settings.storage or f"sqlite:///{(run_dir / 'optuna.sqlite').resolve()}"
        )
        self.study_name = self.settings.study_name or run_dir.resolve().name or "workbench"
        # seed null: a fresh seed, kept in the state so a resume continues the same sequence
        self.seed = ctx.seed if ctx.seed is not None else random.SystemRandom().randrange(2**31)
        try:
            self.study = optuna.create_study(
                storage=self.storage_url,
                study_name=self.study_name,
                direction=ctx.task.direction,
                load_if_exists=True,
            )
        except Exception as exc:  # SQLAlchemy/driver errors: a bad or unreachable storage URL
            msg = f"Optuna cannot use storage {self.storage_url!r}: {exc}"
            raise SettingsError([(("optimizer", "settings", "storage"), msg)]) from None
        self.pending: dict[str, int] = {}
        self._sampler()  # bad sampler_options fail now, not in the middle of the run

    def _sampler(self) -> Any:
        import optuna.samplers as s

        seed = (self.seed * 1_000_003 + len(self.study.trials)) % 2**32
        opts = dict(self.settings.sampler_options)
        n0 = self.settings.n_startup_trials
        try:
            if self.settings.sampler == "random":
                return s.RandomSampler(seed=seed, **opts)
            if self.settings.sampler == "tpe":
                opts.setdefault("constant_liar", True)  # parallel asks spread out
                return s.TPESampler(seed=seed, n_startup_trials=n0, **opts)
            if self.settings.sampler == "gp":
                return s.GPSampler(seed=seed, n_startup_trials=n0, **opts)
            return s.CmaEsSampler(
                seed=seed, n_startup_trials=n0, warn_independent_sampling=False, **opts
            )
        except (TypeError, ValueError) as exc:
            loc = ("optimizer", "settings", "sampler_options")
            raise SettingsError([(loc, f"{type(exc).__name__}: {exc}")]) from None

    def propose(self, n: int) -> list[Candidate]:
        """Ask `n` trials of the study."""
        self.study.sampler = self._sampler()
        out = []
        for _ in range(n):
            trial = self.study.ask(fixed_distributions=self.space)
            cid = f"t{trial.number:05d}"
            self.pending[cid] = trial.number
            out.append(
                Candidate(
                    id=cid,
                    payload={"params": dict(trial.params)},
                    meta={"trial": trial.number, "sampler": self.settings.sampler},
                )
            )
        return out

    def observe(self, evaluations: list[Evaluation]) -> None:
        """Tell the study each result; a failed evaluation is a FAILed trial."""
        tell_evaluations(self.study, self.pending, evaluations)

    def state(self) -> dict[str, Any]:
        """The pending trials; everything else is in the storage."""
        return {"study_name": self.study_name, "seed": self.seed, "pending": dict(self.pending)}

    def load_state(self, state: dict[str, Any]) -> None:
        """Reconnect to the trials; trials asked after the saved state are failed."""
        import optuna

        self.pending = {str(k): int(v) for k, v in state.get("pending", {}).items()}
        self.seed = int(state.get("seed", self.seed))
        keep = set(self.pending.values())
        for t in self.study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,)):
            if t.number not in keep:  # asked, but the step that asked it never checkpointed
                self.study.tell(t.number, state=optuna.trial.TrialState.FAIL)

    def close(self) -> None:
        """Dispose of the storage's connections."""
        engine = getattr(getattr(self.study, "_storage", None), "engine", None)
        if engine is not None:
            engine.dispose()
