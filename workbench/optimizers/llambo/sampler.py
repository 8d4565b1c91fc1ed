"""`LlamboSampler`: an Optuna sampler that plays queued LLM configurations, else TPE.

The LLM work happens before `study.ask` (in `LlamboOptimizer.propose`, where a failure or a
spent budget cannot leave a half-asked trial behind); the sampler only hands each new trial its
queued configuration, or delegates to its numerical sampler (TPE by default) when the slot is
the numerical sampler's or the queue is empty. Enqueued trials (fixed initial points, warm
starts) keep their fixed parameters.
"""

from __future__ import annotations

from collections import deque
from typing import Any

import optuna
from optuna.samplers import BaseSampler

__all__ = ["LlamboSampler"]


class LlamboSampler(BaseSampler):
    """Plays `queue` entries (a config dict, or None for the numerical sampler) in order.

    Args:
        fallback: the numerical sampler (e.g. ``TPESampler``).
    """

    def __init__(self, fallback: BaseSampler) -> None:
        self.fallback = fallback
        self.queue: deque[dict[str, Any] | None] = deque()
        self.assigned: dict[int, dict[str, Any]] = {}
        self.sources: dict[int, str] = {}

    def reseed_rng(self) -> None:
        self.fallback.reseed_rng()

    def infer_relative_search_space(
        self, study: optuna.Study, trial: optuna.trial.FrozenTrial
    ) -> dict[str, Any]:
        if trial.number in self.assigned:
            return {}
        return self.fallback.infer_relative_search_space(study, trial)

    def before_trial(self, study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        if "fixed_params" in trial.system_attrs:
            self.sources[trial.number] = str(trial.user_attrs.get("llambo_source", "enqueued"))
        else:
            config = self.queue.popleft() if self.queue else None
            if config is not None:
                self.assigned[trial.number] = config
                self.sources[trial.number] = "llm"
            else:
                self.sources[trial.number] = "numerical"
        self.fallback.before_trial(study, trial)

    def sample_relative(
        self,
        study: optuna.Study,
        trial: optuna.trial.FrozenTrial,
        search_space: dict[str, Any],
    ) -> dict[str, Any]:
        if trial.number in self.assigned or not search_space:
            return {}
        return self.fallback.sample_relative(study, trial, search_space)

    def sample_independent(
        self,
        study: optuna.Study,
        trial: optuna.trial.FrozenTrial,
        param_name: str,
        param_distribution: Any,
    ) -> Any:
        config = self.assigned.get(trial.number)
        if config is not None and param_name in config:
            return config[param_name]
        return self.fallback.sample_independent(study, trial, param_name, param_distribution)

    def after_trial(
        self,
        study: optuna.Study,
        trial: optuna.trial.FrozenTrial,
        state: optuna.trial.TrialState,
        values: list[float] | None,
    ) -> None:
        self.assigned.pop(trial.number, None)
        self.fallback.after_trial(study, trial, state, values)
