"""Exemplar stage on the propose/observe loop: selectors replayed, and TPE over pairs.

The selectors in `workbench.optimizers.prompt.exemplars` search through a synchronous
``evaluate`` callback. Here the loop evaluates, so `SelectorStage` *replays* the selector: a
fresh selector with the same seed is fitted with a callback that answers from the scores
observed so far and stops at the first exemplar set not yet scored, which becomes the next
proposal. Selectors are deterministic given their seed and the scores, so the replay makes
exactly the choices a direct `fit` would (random search, whose choices ignore scores, may
propose several sets at once).

`TpeStage` is the joint search: Optuna's TPE over (instruction index, exemplar-set index) pairs.
"""

from __future__ import annotations

import random
from typing import Any

from workbench._imports import lazy_import
from workbench.optimizers.prompt.exemplars import Exemplar, ExemplarSelector, make_selector

optuna = lazy_import("optuna")  # imported by the first TPE stage only

__all__ = ["SelectorStage", "TpeStage"]


class _Need(Exception):
    def __init__(self, idx: tuple[int, ...]) -> None:
        self.idx = idx


class SelectorStage:
    """Drive a selector from the loop.

    Args:
        name: the selector name (``random``, ``nearest``, ``diversity``, ``random_search``,
            ``mutation``).
        pool: the candidate exemplars (fixed for the stage).
        settings: the selector's settings model.
        seed: the selector's seed.
        budget: validation evaluations the search may spend.
    """

    def __init__(
        self, name: str, pool: list[Exemplar], settings: Any, seed: int, budget: int
    ) -> None:
        self.name, self.pool, self.settings = name, pool, settings
        self.seed, self.budget = seed, budget
        self.scores: dict[tuple[int, ...], float] = {}
        self.search = name in ("random_search", "mutation")

    def _fresh(self) -> ExemplarSelector:
        sel = make_selector(self.name, self.pool, self.settings, seed=self.seed, budget=self.budget)
        assert sel is not None
        return sel

    def _index(self, shots: list[Exemplar]) -> tuple[int, ...]:
        ids = {id(e): i for i, e in enumerate(self.pool)}
        return tuple(ids[id(e)] for e in shots)

    def next_sets(self, n: int, pending: set[tuple[int, ...]]) -> list[tuple[int, ...]]:
        """Up to `n` sets to evaluate next (empty: the search is done or waits for scores)."""
        if not self.search:
            return []
        sel = self._fresh()
        wanted: list[tuple[int, ...]] = []

        def evaluate(shots: list[Exemplar]) -> float:
            idx = self._index(shots)
            if idx in self.scores:
                return self.scores[idx]
            if self.name == "random_search" and len(wanted) < n:
                if idx not in pending:
                    wanted.append(idx)
                return float("-inf")
            raise _Need(idx)

        try:
            sel.fit(evaluate)
        except _Need as need:
            if need.idx not in pending and len(wanted) < n:
                wanted.append(need.idx)
        return wanted

    def observe(self, idx: tuple[int, ...], score: float) -> None:
        """Record a scored set."""
        self.scores[idx] = score

    def final(self) -> list[Exemplar] | dict[str, Any]:
        """The chosen set (search: best scored; heuristic: the selector's pick). For
        ``nearest`` a per-input rule: ``{"selection": "nearest", "exemplars": pool}``."""
        if self.name == "nearest":
            return {"selection": "nearest", "exemplars": self.pool, "k": self.settings.k}
        if not self.search:
            return self._fresh().select()
        best = max(self.scores.items(), key=lambda kv: kv[1], default=None)
        return [] if best is None else [self.pool[i] for i in best[0]]

    def state(self) -> dict[str, Any]:
        """JSON of the scored sets."""
        return {"scores": [[list(k), v] for k, v in self.scores.items()]}

    def load_state(self, state: dict[str, Any]) -> None:
        """Inverse of `state`."""
        self.scores = {tuple(k): float(v) for k, v in state["scores"]}


class TpeStage:
    """Optuna TPE over (instruction index, exemplar-set index); set 0 is zero-shot.

    Args:
        instructions: the candidate instructions (e.g. the instruction stage's best ones).
        sets: candidate exemplar sets (lists of pool indices); index 0 must be ``[]``.
        seed: the sampler's seed.
        budget: trials to evaluate.
        known: (instruction index, set index) -> score already observed (e.g. stage 1's
            zero-shot runs), told to the study first without spending budget.
    """

    def __init__(
        self,
        instructions: list[str],
        sets: list[list[int]],
        seed: int,
        budget: int,
        known: dict[tuple[int, int], float] | None = None,
    ) -> None:
        optuna.logging.set_verbosity(optuna.logging.WARNING)
        self.instructions, self.sets, self.budget = instructions, sets, budget
        self.seed = seed
        self.known = dict(known or {})
        self.spent = 0
        self.trials: list[tuple[int, int, float]] = []
        self._optuna = optuna
        self._pending: dict[tuple[int, int], Any] = {}
        self._build()

    def _dists(self) -> dict[str, Any]:
        d = self._optuna.distributions
        return {
            "instruction": d.CategoricalDistribution(list(range(len(self.instructions)))),
            "exemplars": d.CategoricalDistribution(list(range(len(self.sets)))),
        }

    def _sampler(self, attempt: int) -> Any:
        # a fresh sampler per ask, seeded by (seed, trials spent, attempt): the pair asked
        # depends only on the scored history, so a resumed search asks what the first would
        seed = (self.seed * 1_000_003 + self.spent * 101 + attempt) % 2**31
        return self._optuna.samplers.TPESampler(seed=seed, multivariate=True, n_startup_trials=4)

    def _build(self) -> None:
        self.study = self._optuna.create_study(direction="maximize", sampler=self._sampler(0))
        for (i, j), score in [*self.known.items(), *(((i, j), s) for i, j, s in self.trials)]:
            self._tell_new(i, j, score)

    def _tell_new(self, i: int, j: int, score: float) -> None:
        trial = self._optuna.trial.create_trial(
            params={"instruction": i, "exemplars": j}, distributions=self._dists(), value=score
        )
        self.study.add_trial(trial)

    def _scored(self) -> dict[tuple[int, int], float]:
        return {**self.known, **{(i, j): s for i, j, s in self.trials}}

    def next_pair(self, rng: random.Random) -> tuple[int, int] | None:
        """The next unscored pair to evaluate (None: budget spent or every pair scored)."""
        if self.spent >= self.budget:
            return None
        scored = self._scored()
        total = len(self.instructions) * len(self.sets)
        if len(scored) + len(self._pending) >= total:
            return None
        for attempt in range(50):
            self.study.sampler = self._sampler(attempt)
            trial = self.study.ask(self._dists())
            pair = (trial.params["instruction"], trial.params["exemplars"])
            if pair in scored or pair in self._pending:
                self.study.tell(trial, state=self._optuna.trial.TrialState.FAIL)
                continue
            self._pending[pair] = trial
            self.spent += 1
            return pair
        free = [
            (i, j)
            for i in range(len(self.instructions))
            for j in range(len(self.sets))
            if (i, j) not in scored and (i, j) not in self._pending
        ]
        pair = rng.choice(free)
        self._pending[pair] = None
        self.spent += 1
        return pair

    def observe(self, pair: tuple[int, int], score: float) -> None:
        """Tell the study the score of an evaluated pair."""
        trial = self._pending.pop(pair, None)
        if trial is not None:
            self.study.tell(trial, score)
        else:
            self._tell_new(*pair, score)
        self.trials.append((pair[0], pair[1], score))

    def best(self) -> tuple[int, int, float] | None:
        """The best scored pair (from the trials and the known scores)."""
        scored = self._scored()
        if not scored:
            return None
        (i, j), s = max(scored.items(), key=lambda kv: kv[1])
        return i, j, s

    def state(self) -> dict[str, Any]:
        """JSON: candidates, known scores, trials."""
        return {
            "instructions": self.instructions,
            "sets": self.sets,
            "known": [[i, j, s] for (i, j), s in self.known.items()],
            "trials": [list(t) for t in self.trials],
            "spent": len(self.trials),
        }

    @classmethod
    def from_state(cls, state: dict[str, Any], seed: int, budget: int) -> TpeStage:
        """Rebuild from `state` (pending trials are dropped: they are proposed again)."""
        known = {(int(i), int(j)): float(s) for i, j, s in state["known"]}
        stage = cls(state["instructions"], state["sets"], seed, budget, known)
        stage.trials = [(int(i), int(j), float(s)) for i, j, s in state["trials"]]
        stage.spent = len(stage.trials)
        stage._build()
        return stage
