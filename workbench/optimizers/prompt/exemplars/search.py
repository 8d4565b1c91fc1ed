"""Selectors that search: random search and mutation over ordered exemplar sets.

A set is an ordered tuple of pool indices (order matters in a prompt). Neither selector
evaluates the same tuple twice, and neither calls `evaluate` more than `budget` times; with a
small pool they stop when every distinct set has been tried. Ties keep the earlier set.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

from workbench.errors import ConfigError
from workbench.optimizers.prompt.budget import mutation_schedule
from workbench.optimizers.prompt.exemplars.base import Evaluate, ExemplarSelector
from workbench.optimizers.prompt.exemplars.pool import Exemplar

__all__ = ["MutationSelector", "RandomSearchSelector"]

_ENUMERATE_UP_TO = 20_000  # below this many ordered sets, shuffle them all instead of rejecting
_RETRIES = 50


class _SearchSelector(ExemplarSelector):
    def __init__(
        self,
        exemplars: Sequence[Exemplar],
        *,
        k: int = 3,
        seed: int | None = None,
        budget: int = 32,
    ):
        super().__init__(exemplars, k=k, seed=seed)
        if budget < 0:
            raise ConfigError(f"exemplar selector {self.name!r}: budget={budget} is negative")
        self.budget = budget
        self.best: tuple[int, ...] | None = None
        self.best_score = -math.inf
        self._scores: dict[tuple[int, ...], float] = {}

    @property
    def distinct_sets(self) -> int:
        """Ordered sets of `size` from the pool."""
        return math.perm(len(self.exemplars), self.size) if self.exemplars else 0

    def _evaluate(self, evaluate: Evaluate, idx: tuple[int, ...]) -> float:
        score = float(evaluate(self._pick(idx)))
        self.evaluations += 1
        self._scores[idx] = score
        self.history.append({"indices": list(idx), "score": score})
        if score > self.best_score:
            self.best, self.best_score = idx, score
        return score

    def _random_sets(self, count: int) -> list[tuple[int, ...]]:
        """`count` distinct unseen random sets (fewer if the pool runs out)."""
        n, size = len(self.exemplars), self.size
        if self.distinct_sets <= _ENUMERATE_UP_TO:
            every = [p for p in itertools.permutations(range(n), size) if p not in self._scores]
            self._rng.shuffle(every)
            return every[:count]
        out: list[tuple[int, ...]] = []
        while len(out) < count:
            idx = tuple(self._rng.sample(range(n), size))
            if idx not in self._scores and idx not in out:
                out.append(idx)
        return out

    def select(self, query: str | None = None) -> list[Exemplar]:
        """The best set found by `fit` (the query is ignored)."""
        if self.best is None:
            raise ValueError(f"{type(self).__name__}.select called before fit()")
        return self._pick(self.best)


class RandomSearchSelector(_SearchSelector):
    """Score ``min(num_candidates or budget, budget)`` distinct random sets; keep the best.

    Example:
        >>> pool = [Exemplar(str(i), str(i), str(i)) for i in range(6)]
        >>> sel = RandomSearchSelector(pool, k=2, seed=0, budget=30)
        >>> sel.fit(lambda shots: sum(int(s.input) for s in shots) / 9)
        >>> [e.input for e in sel.select()], sel.evaluations
        (['5', '4'], 30)
    """

    name = "random_search"

    def __init__(
        self,
        exemplars: Sequence[Exemplar],
        *,
        k: int = 3,
        seed: int | None = None,
        budget: int = 32,
        num_candidates: int | None = None,
    ):
        super().__init__(exemplars, k=k, seed=seed, budget=budget)
        self.num_candidates = num_candidates

    def fit(self, evaluate: Evaluate | None = None) -> None:
        """Evaluate the candidate sets in order (stops at the budget)."""
        if evaluate is None:
            raise ValueError("RandomSearchSelector.fit needs an evaluate callback")
        target = min(self.num_candidates or self.budget, self.budget) - self.evaluations
        for idx in self._random_sets(max(target, 0)):
            self._evaluate(evaluate, idx)


class MutationSelector(_SearchSelector):
    """Evolve a population of exemplar sets.

    Population ``P`` and generations ``G`` come from `mutation_schedule` (budget 32: P = 6,
    G = 5). The initial population is ``P`` distinct random sets. Each child comes from a
    parent picked by a 2-way tournament and one operator drawn uniformly from those that
    apply: **swap** (one position gets a pool member not in the set), **reorder** (a shuffle of
    the set) and **crossover** (a prefix of one parent, filled with the second parent's members
    in order, then the first's). A child already evaluated is redrawn (up to 50 times, else
    skipped). After each generation the population is the best ``P`` sets seen (elitist; ties:
    earlier). Evaluation stops exactly at the budget.
    """

    name = "mutation"

    def __init__(
        self,
        exemplars: Sequence[Exemplar],
        *,
        k: int = 3,
        seed: int | None = None,
        budget: int = 32,
        population: int | None = None,
        generations: int | None = None,
    ):
        super().__init__(exemplars, k=k, seed=seed, budget=budget)
        self.population_size, self.generations = mutation_schedule(
            max(budget, 1), population, generations
        )

    def _tournament(self, population: list[tuple[int, ...]]) -> tuple[int, ...]:
        a, b = self._rng.randrange(len(population)), self._rng.randrange(len(population))
        return population[min(a, b)]  # population is sorted best first

    def _child(self, population: list[tuple[int, ...]]) -> tuple[int, ...]:
        n, size = len(self.exemplars), self.size
        ops = []
        if n > size:
            ops.append("swap")
        if size > 1:
            ops.append("reorder")
        if len(population) > 1 and size > 1:
            ops.append("crossover")
        if not ops:
            return population[0]
        op = self._rng.choice(ops)
        parent = self._tournament(population)
        if op == "swap":
            pos = self._rng.randrange(size)
            outside = [i for i in range(n) if i not in parent]
            child = list(parent)
            child[pos] = self._rng.choice(outside)
            return tuple(child)
        if op == "reorder":
            child = list(parent)
            self._rng.shuffle(child)
            return tuple(child)
        other = self._tournament(population)
        cut = self._rng.randrange(1, size)
        child = list(parent[:cut])
        for i in (*other, *parent):
            if len(child) == size:
                break
            if i not in child:
                child.append(i)
        return tuple(child)

    def _ranked(self) -> list[tuple[int, ...]]:
        order = {idx: pos for pos, idx in enumerate(self._scores)}
        ranked = sorted(self._scores, key=lambda idx: (-self._scores[idx], order[idx]))
        return ranked[: self.population_size]

    def fit(self, evaluate: Evaluate | None = None) -> None:
        """Run the initial population and the generations (stops at the budget)."""
        if evaluate is None:
            raise ValueError("MutationSelector.fit needs an evaluate callback")
        if not self.exemplars:
            return
        first = min(self.population_size, self.budget - self.evaluations)
        for idx in self._random_sets(max(first, 0)):
            self._evaluate(evaluate, idx)
        for _ in range(self.generations):
            population = self._ranked()
            for _ in range(self.population_size):
                if self.evaluations >= self.budget:
                    return
                for _ in range(_RETRIES):
                    child = self._child(population)
                    if child not in self._scores:
                        self._evaluate(evaluate, child)
                        break
