"""`ExemplarSelector`: picks k exemplars from a pool, once or per input.

Heuristic selectors (random, nearest, diversity) choose without model calls; search selectors
(random_search, mutation) score candidate sets through an ``evaluate`` callback the caller
passes to `fit` (it runs the prompt with that set on the validation set and returns the
accuracy), so they are unit-testable with a fake scorer and spend exactly their budget.
"""

from __future__ import annotations

import random
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence

from workbench.errors import ConfigError
from workbench.optimizers.prompt.exemplars.pool import Exemplar

__all__ = ["Evaluate", "ExemplarSelector"]

Evaluate = Callable[[list[Exemplar]], float]


class ExemplarSelector(ABC):
    """Base of the selectors.

    Args:
        exemplars: the candidates (usually `ExemplarPool.candidates(k)`), in a fixed order.
        k: exemplars per prompt (fewer when the pool is smaller).
        seed: seeds the selector's own RNG (None: not reproducible).

    Attributes:
        evaluations: validation prompt evaluations spent by `fit` (0 for heuristic selectors).
        history: ``[{"indices": [...], "score": float}, ...]`` of every evaluated set (JSON).
    """

    name: str = "selector"

    def __init__(self, exemplars: Sequence[Exemplar], *, k: int = 3, seed: int | None = None):
        if k < 1:
            raise ConfigError(f"exemplar selector {self.name!r}: k={k} must be at least 1")
        self.exemplars = list(exemplars)
        self.k = k
        self.seed = seed
        self._rng = random.Random(seed)
        self.evaluations = 0
        self.history: list[dict[str, object]] = []

    @property
    def size(self) -> int:
        """Exemplars per prompt: ``min(k, len(exemplars))``."""
        return min(self.k, len(self.exemplars))

    def fit(self, evaluate: Evaluate | None = None) -> None:  # noqa: B027 - optional hook
        """Search for a set using `evaluate` (heuristic selectors ignore it)."""

    @abstractmethod
    def select(self, query: str | None = None) -> list[Exemplar]:
        """The exemplars to show before `query` (selectors that ignore the query accept None)."""

    def _pick(self, indices: Sequence[int]) -> list[Exemplar]:
        return [self.exemplars[i] for i in indices]
