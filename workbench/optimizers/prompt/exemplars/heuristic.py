"""Selectors that choose without scoring: random, nearest (TF-IDF) and diversity (k-means).

The TF-IDF model and the nearest-neighbour rule are `workbench.tasks.prompt.nearest` (the task
kind applies the same rule to a ``selection: nearest`` payload). scikit-learn is imported on
first use (`workbench._imports.lazy_import`).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from threadpoolctl import threadpool_limits

from workbench._imports import lazy_import
from workbench.optimizers.prompt.exemplars.base import ExemplarSelector
from workbench.optimizers.prompt.exemplars.pool import Exemplar
from workbench.tasks.prompt.nearest import NearestIndex, tfidf

sklearn_cluster = lazy_import("sklearn.cluster")

__all__ = ["DiversitySelector", "NearestSelector", "RandomSelector", "tfidf"]


class RandomSelector(ExemplarSelector):
    """``k`` exemplars sampled once with the seeded RNG; the same set for every input.

    Example:
        >>> pool = [Exemplar(str(i), str(i), str(i)) for i in range(10)]
        >>> [e.input for e in RandomSelector(pool, k=3, seed=0).select()]
        ['6', '9', '0']
    """

    name = "random"

    def __init__(self, exemplars: Sequence[Exemplar], *, k: int = 3, seed: int | None = None):
        super().__init__(exemplars, k=k, seed=seed)
        self._chosen = self._rng.sample(range(len(self.exemplars)), self.size)

    def select(self, query: str | None = None) -> list[Exemplar]:
        """The sampled set (the query is ignored)."""
        return self._pick(self._chosen)


class NearestSelector(ExemplarSelector):
    """Per input, the ``k`` pool exemplars whose inputs are most TF-IDF-cosine-similar.

    An exemplar whose input equals the query is skipped (the pool is harvested from the
    validation set, and a validation input must not see its own answer). Ties go to the earlier
    pool member. The result is ordered from least to most similar, so the most similar exemplar
    sits right before the query (as in KATE, Liu et al. 2022).
    """

    name = "nearest"

    def __init__(self, exemplars: Sequence[Exemplar], *, k: int = 3, seed: int | None = None):
        super().__init__(exemplars, k=k, seed=seed)
        self._index = NearestIndex([e.input for e in self.exemplars])

    def similarities(self, query: str) -> np.ndarray:
        """Cosine similarity of `query` to every pool input."""
        return self._index.similarities(query)

    def select(self, query: str | None = None) -> list[Exemplar]:
        """The nearest exemplars to `query` (required)."""
        if query is None:
            raise ValueError("NearestSelector.select needs the query input")
        return self._pick(self._index.nearest(query, self.k))


class DiversitySelector(ExemplarSelector):
    """k-means (k clusters, seeded) over the TF-IDF vectors of the pool inputs; from each
    cluster, the member closest to its centroid (ties: earlier member); returned in pool order.
    The same set for every input."""

    name = "diversity"

    def __init__(self, exemplars: Sequence[Exemplar], *, k: int = 3, seed: int | None = None):
        super().__init__(exemplars, k=k, seed=seed)
        self._chosen = self._cluster()

    def _cluster(self) -> list[int]:
        n = len(self.exemplars)
        if n <= self.k:
            return list(range(n))
        _, matrix = tfidf([e.input for e in self.exemplars])
        dense = matrix.toarray()
        km = sklearn_cluster.KMeans(
            n_clusters=self.k, n_init=10, random_state=self._rng.randrange(2**31)
        )
        with threadpool_limits(limits=1):
            labels = km.fit_predict(dense)
        chosen: list[int] = []
        for c in range(self.k):
            members = [i for i in range(n) if labels[i] == c]
            if not members:
                continue
            dist = ((dense[members] - km.cluster_centers_[c]) ** 2).sum(axis=1)
            chosen.append(members[int(np.argmin(dist))])
        return sorted(chosen)

    def select(self, query: str | None = None) -> list[Exemplar]:
        """The cluster representatives (the query is ignored)."""
        return self._pick(self._chosen)
