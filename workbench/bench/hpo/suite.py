"""The Bayesmark suite of `workbench bench hpo`: task files, regret reference, initial points."""

from __future__ import annotations

import json
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

    def search_space(self) -> dict[str, Any]:
        """The task's parameter specs."""
        return self.task.search_space()

    def objective(self, params: dict[str, Any]) -> float:
        """The primary score of `params` (the same callable the run uses)."""
        value = self.task._func(dict(params), **self.task.section.args)
        return float(value[self.task.primary] if isinstance(value, dict) else value)


def load_suite(names: list[str] | None = None, folder: Path = SUITE_DIR) -> list[SuiteTask]:
    """The suite's tasks (all, or those named), in file-name order."""
    paths = sorted(folder.glob("*.yaml"))
    known = {p.stem: p for p in paths}
    if names:
        unknown = [n for n in names if n not in known]
        if unknown:
            raise ConfigError(f"unknown suite task(s) {unknown}; known: {', '.join(known)}")
        paths = [known[n] for n in names]
    out = []
    for p in paths:
        task_file, task = load_task(p)
        out.append(SuiteTask(p.stem, p, task_file, task))
    return out


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
