"""`History`: the study's trials as LLAMBO reads them, each finished trial read once.

A step needs the configurations the study already holds (the model's rows must be new), the
observations (the prompt's rows, their number, whether every score ties) and the number of
trials (a seed). A finished trial never changes, so its configuration is checked and its text
and score kept the first time it is read; later steps read only the trials from the first
unfinished one on, which in a one-process run are the last step's. The full set and list are
built only on the steps that call the model, whose prompt holds the whole history anyway.
"""

from __future__ import annotations

import math
from typing import Any

import optuna

from workbench.optimizers.llambo.prompts import Observation
from workbench.optimizers.llambo.serialize import check_config, config_text

__all__ = ["History"]


class History:
    """What LLAMBO knows of a study's trials, caught up by `read` at the start of a step.

    Args:
        space: the search space's parameter specs.
        direction: "maximize" or "minimize".
    """

    def __init__(self, space: dict[str, Any], direction: str) -> None:
        self.space = space
        self.direction = direction
        self._reset()

    def _reset(self) -> None:
        self.n_trials = 0  # the study's trials, any state
        self.waiting = 0  # enqueued trials not yet asked
        self._first_open = 0  # every trial numbered below it is finished and read
        self._seen: set[str] = set()  # configurations of the trials below `_first_open`
        self._observed: list[Observation] = []  # their completed ones, in trial order
        self._lo, self._hi = math.inf, -math.inf  # the range of their scores
        self._open_seen: list[str] = []  # the same for the trials from `_first_open` on
        self._open_observed: list[Observation] = []

    def read(self, study: Any) -> None:
        """Catch up with `study`: read the trials from the first unfinished one on."""
        trials = study.get_trials(deepcopy=False)  # by number, no copies
        k = self._first_open
        if k and (len(trials) < k or trials[k - 1].number != k - 1):
            self._reset()  # not numbered as expected: read every trial again
            k = 0
        self.n_trials, self.waiting = len(trials), 0
        self._open_seen, self._open_observed = [], []
        waiting_state, complete = optuna.trial.TrialState.WAITING, optuna.trial.TrialState.COMPLETE
        for t in trials[k:]:
            params = t.params
            if t.state == waiting_state:
                self.waiting += 1
                params = t.system_attrs.get("fixed_params", {})
            config, _ = check_config(dict(params), self.space)
            text = None if config is None else config_text(config, self.space)
            obs = None
            if config is not None and t.state == complete and t.value is not None:
                obs = Observation(config, float(t.value))
            if t.number == self._first_open and t.state.is_finished():
                self._first_open += 1  # finished, and so is every trial before it: kept
                if text is not None:
                    self._seen.add(text)
                if obs is not None:
                    self._observed.append(obs)
                    self._lo, self._hi = min(self._lo, obs.score), max(self._hi, obs.score)
                continue
            if text is not None:  # read again next step: it may still change
                self._open_seen.append(text)
            if obs is not None:
                self._open_observed.append(obs)

    @property
    def n_observed(self) -> int:
        """Completed trials with a value."""
        return len(self._observed) + len(self._open_observed)

    def all_tied(self) -> bool:
        """Whether every observation ties with the best, as `Engine.tied` counts ties (within
        1e-9 of the best, relative): whether the worst one does."""
        scores = [o.score for o in self._open_observed]
        lo, hi = min([self._lo, *scores]), max([self._hi, *scores])
        if lo > hi:
            return True  # no observations
        best = hi if self.direction == "maximize" else lo
        return hi - lo <= 1e-9 * max(1.0, abs(best))

    def seen(self) -> set[str]:
        """A new set of the configurations the study holds (the model's rows must be new)."""
        return self._seen | set(self._open_seen)

    def observed(self) -> list[Observation]:
        """A new list of the observations, in trial order."""
        return [*self._observed, *self._open_observed]
