"""The Bayesmark suite of `workbench bench hpo`: task files, regret reference, initial points."""

from __future__ import annotations

import json
import math
import statistics
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import optuna

from workbench.errors import ConfigError, NotSetUp
from workbench.optimizers.optuna import optuna_distributions
from workbench.tasks import load_task

__all__ = [
    "BENCH_OPTIMIZERS",
    "SUITE_DIR",
    "SuiteTask",
    "compute_reference",
    "initial_configs",
    "load_reference",
    "load_suite",
]

SUITE_DIR = Path(__file__).resolve().parents[3] / "tasks" / "hpo" / "bayesmark"
# bench name -> (optimizer name, settings)
BENCH_OPTIMIZERS: dict[str, tuple[str, dict[str, Any]]] = {
    "tpe": ("optuna", {"sampler": "tpe", "n_startup_trials": 5}),
    "random": ("optuna", {"sampler": "random"}),
    "llambo": ("llambo", {}),
    "llambo-llm": ("llambo", {"handover_start": 10_000, "handover_end": 10_001}),
}


@dataclass
class SuiteTask:
    """One suite task: its file, the built `HpoTask` and a direct objective."""

    name: str
    path: Path
    task_file: Any
    task: Any
    direction: str = field(init=False)

    def __post_init__(self) -> None:
        self.direction = self.task.direction

    @property
    def in_suite(self) -> bool:
        """A task of the shipped suite (its regret reference is in ``reference.json``)."""
        return self.path.parent.resolve() == SUITE_DIR.resolve()

    def search_space(self) -> dict[str, Any]:
        """The task's parameter specs."""
        return self.task.search_space()

    def objective(self, params: dict[str, Any]) -> float:
        """The primary score of `params` (the same callable the run uses)."""
        value = self.task._func(dict(params), **self.task.section.args)
        return float(value[self.task.primary] if isinstance(value, dict) else value)


def load_suite(names: list[str] | None = None, folder: Path = SUITE_DIR) -> list[SuiteTask]:
    """The suite's tasks (all, or those named), in file-name order.

    A name is a suite task's, or the path of a user's own ``kind: hpo`` task file, or of a
    folder of them (its ``*.yaml``, by name); such a task is named by its file's stem.

    Raises:
        ConfigError: a name is neither; a task is not an ``hpo`` task; two tasks share a name.
    """
    paths = sorted(folder.glob("*.yaml"))
    known = {p.stem: p for p in paths}
    if names:
        chosen: list[Path] = []
        for n in names:
            path = Path(n).expanduser()
            if n in known:
                chosen.append(known[n])
            elif path.is_file():
                chosen.append(path.resolve())
            elif path.is_dir() and any(path.glob("*.yaml")):
                chosen += sorted(q.resolve() for q in path.glob("*.yaml"))
            else:
                raise ConfigError(
                    f"unknown suite task {n!r}: give a task file or a folder of them, or one "
                    f"of {', '.join(known)}"
                )
        paths = chosen
    out, seen = [], {}
    for p in paths:
        if seen.setdefault(p.stem, p) != p:
            raise ConfigError(f"two bench tasks are named {p.stem!r} ({seen[p.stem]}, {p})")
        task_file, task = load_task(p)
        if task_file.kind != "hpo" or not hasattr(task, "_func"):
            raise ConfigError(f"{p}: `bench hpo` runs hpo tasks (kind: hpo), not {task_file.kind}")
        out.append(SuiteTask(p.stem, p, task_file, task))
    return out


def compute_reference(
    task: SuiteTask, n_random: int, n_tpe: int, seed: int = 12345
) -> dict[str, Any]:
    """A task's regret reference: `n_random` seeded random evaluations (clip = the median
    loss of one random evaluation), then `n_tpe` Optuna TPE evaluations in the same study
    (opt = the lowest loss any of them reached). Loss is -score for maximized metrics."""
    sign = -1.0 if task.direction == "maximize" else 1.0
    space = optuna_distributions(task.search_space())
    study = optuna.create_study(
        direction="minimize", sampler=optuna.samplers.RandomSampler(seed=seed)
    )
    losses: list[float] = []
    best_params: dict[str, Any] = {}
    started = time.time()
    for i in range(n_random + n_tpe):
        if i == n_random:
            study.sampler = optuna.samplers.TPESampler(seed=seed, n_startup_trials=0)
        trial = study.ask(fixed_distributions=space)
        loss = sign * task.objective(dict(trial.params))
        if not math.isfinite(loss):
            study.tell(trial, state=optuna.trial.TrialState.FAIL)
            continue
        study.tell(trial, loss)
        losses.append(loss)
        if loss <= min(losses):
            best_params = dict(trial.params)
    random_losses = losses[:n_random]
    if not random_losses:
        raise ConfigError(f"{task.name}: no random evaluation gave a finite score")
    return {
        "clip": statistics.median(random_losses),
        "opt": min(losses),
        "opt_params": best_params,
        "n_random": n_random,
        "n_tpe": n_tpe,
        "random_best": min(random_losses),
        "seconds": round(time.time() - started, 1),
    }


def load_reference(path: Path = SUITE_DIR / "reference.json") -> dict[str, dict[str, Any]]:
    """Per task: `clip` (median random loss) and `opt` (best loss of the reference search)."""
    if not path.is_file():
        raise NotSetUp(f"no regret reference at {path}: run bench/bayesmark_reference.py")
    return json.loads(path.read_text(encoding="utf-8"))


def initial_configs(task: SuiteTask, seed: int, k: int = 5) -> list[dict[str, Any]]:
    """The `k` fixed initial configurations of (task, seed), shared by every optimizer."""
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=10_000 + seed))
    space = optuna_distributions(task.search_space())
    return [dict(study.ask(fixed_distributions=space).params) for _ in range(k)]
