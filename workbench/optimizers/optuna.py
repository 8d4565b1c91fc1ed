"""The `optuna` optimizer: Optuna's samplers (tpe, random, gp, cmaes) driven by ask/tell.

The study lives in an Optuna storage: by default a SQLite file ``optuna.sqlite`` in the run
folder, or any storage URL (`storage:`), so trials survive a crash and can be shared across
machines. Each `propose` builds the sampler afresh, seeded from (seed, number of trials), so a
resumed run proposes what the unbroken run would have. The number of trials is a counter kept
in the optimizer's state, not a count of the study's trials: `Study.trials` deep-copies every
trial, which would make each step cost more than the last.

In a task file (each setting is documented on `OptunaSettings`)::

    optimizer:
      name: optuna
      settings: {sampler: tpe, n_startup_trials: 10}
"""

from __future__ import annotations

import importlib.util
import logging
import random
import sqlite3
from pathlib import Path
from typing import Any, Literal

import optuna
from optuna import distributions, samplers
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.engine import make_url

from workbench.contracts import Candidate, Evaluation
from workbench.errors import ConfigError, NotSetUp
from workbench.optimizers.base import Optimizer, RunContext, SettingsError
from workbench.quantities import CountOrZero

__all__ = [
    "OptunaOptimizer",
    "OptunaSettings",
    "dispose_storage",
    "optuna_distributions",
    "study_location",
    "study_storage",
    "tell_evaluations",
]

log = logging.getLogger(__name__)


class OptunaSettings(BaseModel):
    """`optimizer.settings` of the `optuna` optimizer."""

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)

    sampler: Literal["tpe", "random", "gp", "cmaes"] = "tpe"
    """The Optuna sampler: ``tpe``, ``random``, ``gp`` (needs PyTorch) or ``cmaes`` (needs the
    cmaes package)."""
    n_startup_trials: CountOrZero = 10
    """Random trials before the sampler's model kicks in (tpe, gp, cmaes)."""
    storage: str | None = None
    """Optuna storage URL; default ``sqlite:///<run folder>/optuna.sqlite`` (in memory when
    there is no run folder)."""
    study_name: str | None = Field(None, min_length=1)
    """The study's name in the storage; default: the run folder's name (``workbench`` when
    there is no run folder)."""
    sampler_options: dict[str, Any] = Field(default_factory=dict)
    """Extra keyword arguments of the sampler class (tpe's ``constant_liar`` is on unless set
    here)."""


def optuna_distributions(space: dict[str, Any]) -> dict[str, Any]:
    """Optuna distributions for an `hpo` search space (float, int, categorical)."""

    out: dict[str, Any] = {}
    for name, p in space.items():
        if p.type == "float":
            out[name] = distributions.FloatDistribution(p.low, p.high, log=p.log, step=p.step)
        elif p.type == "int":
            out[name] = distributions.IntDistribution(p.low, p.high, log=p.log, step=p.step)
        else:
            out[name] = distributions.CategoricalDistribution(p.choices)
    return out


def study_location(
    storage: str | None, study_name: str | None, run_dir: Path | None
) -> tuple[str | None, str]:
    """The storage URL and study name an Optuna-based optimizer uses.

    Settings win; else the study is ``optuna.sqlite`` in the run folder, named after it; with
    no run folder (`workbench validate`, the Python API) it lives in memory (URL None).
    """
    if storage is None and run_dir is not None:
        storage = f"sqlite:///{(run_dir / 'optuna.sqlite').resolve()}"
    name = study_name or (run_dir.resolve().name if run_dir is not None else "") or "workbench"
    return storage, name


def study_storage(url: str | None) -> Any:
    """The Optuna storage for `url`; on SQLite, with the journal in WAL mode and synchronous=NORMAL.

    Optuna leaves SQLite in its rollback-journal mode with synchronous=FULL, so every commit
    (each table of a new study, a new trial, each of its parameters, its result) waits for
    several fsyncs (dozens to create a study): on a slow disk, more than everything else in a
    step costs (figures in bench/README.md). With WAL and synchronous=NORMAL a commit is an
    append to the WAL file, synced at WAL checkpoints only. A committed trial survives the
    process being killed (kill -9: the WAL is in the file when commit returns), not a power cut
    or an OS crash, which can take back the last commits (the database stays consistent). The
    pragmas are set as each connection opens, so they hold from the first table Optuna creates.
    URLs other than a SQLite file without query options (PostgreSQL, MySQL, in-memory SQLite)
    are returned as they are.
    """

    if url is None:
        return optuna.storages.InMemoryStorage()
    parsed = make_url(url)
    path = parsed.database
    if parsed.get_backend_name() != "sqlite" or parsed.query or path in (None, "", ":memory:"):
        return url

    def connect() -> sqlite3.Connection:
        conn = sqlite3.connect(path, check_same_thread=False)  # SQLAlchemy pools it
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        return conn

    return optuna.storages.RDBStorage(url, engine_kwargs={"creator": connect})


def dispose_storage(study: Any) -> None:
    """Close the connections of `study`'s SQL storage (`_CachedStorage` wraps an RDBStorage)."""
    storage = getattr(study, "_storage", None)
    engine = getattr(getattr(storage, "_backend", storage), "engine", None)
    if engine is not None:
        engine.dispose()


def tell_evaluations(study: Any, pending: dict[str, int], evaluations: list[Evaluation]) -> None:
    """Tell `study` the result of each pending trial (popped from `pending`); a failed one FAILs.

    Evaluations of candidates not in `pending` (observed already, or not this study's) are
    skipped, and `skip_if_finished` covers a trial told before a crash: observing is idempotent.
    """
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

    def __init__(self, ctx: RunContext, settings: OptunaSettings | dict[str, Any]) -> None:
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
        self.storage_url, self.study_name = study_location(
            self.settings.storage, self.settings.study_name, ctx.run_dir
        )
        # seed null: a fresh seed, kept in the state so a resume continues the same sequence
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
        self.pending: dict[str, int] = {}
        # the study's trials when this optimizer started, plus those it asked since (in the
        # state): the sampler's seed, counted without reading the study's trials every step
        self.n_trials = len(self.study.get_trials(deepcopy=False))
        self._sampler()  # bad sampler_options fail now, not in the middle of the run

    def _sampler(self) -> Any:

        seed = (self.seed * 1_000_003 + self.n_trials) % 2**32
        opts = dict(self.settings.sampler_options)
        n0 = self.settings.n_startup_trials
        try:
            if self.settings.sampler == "random":
                return samplers.RandomSampler(seed=seed, **opts)
            if self.settings.sampler == "tpe":
                opts.setdefault("constant_liar", True)  # parallel asks spread out
                return samplers.TPESampler(seed=seed, n_startup_trials=n0, **opts)
            if self.settings.sampler == "gp":
                return samplers.GPSampler(seed=seed, n_startup_trials=n0, **opts)
            return samplers.CmaEsSampler(
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
            self.n_trials += 1
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
        """The pending trials and the trial counter; everything else is in the storage."""
        return {
            "study_name": self.study_name,
            "seed": self.seed,
            "pending": dict(self.pending),
            "n_trials": self.n_trials,
        }

    def load_state(self, state: dict[str, Any]) -> None:
        """Reconnect to the trials; trials asked after the saved state are failed."""
        self.pending = {str(k): int(v) for k, v in state.get("pending", {}).items()}
        self.seed = int(state.get("seed", self.seed))
        n_trials = state.get("n_trials")  # None: a state saved before the counter existed
        if n_trials is None:
            n_trials = len(self.study.get_trials(deepcopy=False))
        self.n_trials = int(n_trials)
        keep = set(self.pending.values())
        for t in self.study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,)):
            if t.number not in keep:  # asked, but the step that asked it never checkpointed
                self.study.tell(t.number, state=optuna.trial.TrialState.FAIL)

    def close(self) -> None:
        """Dispose of the storage's connections."""
        dispose_storage(self.study)
