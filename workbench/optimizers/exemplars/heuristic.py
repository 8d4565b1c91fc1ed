"""Selectors that choose without scoring: random, nearest (TF-IDF) and diversity (k-means)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
from sklearn.cluster import KMeans
from sklearn.feature_extraction.text import TfidfVectorizer
from threadpoolctl import threadpool_limits

from workbench.optimizers.exemplars.base import ExemplarSelector
from workbench.optimizers.exemplars.pool import Exemplar

if TYPE_CHECKING:
    from scipy.sparse import spmatrix

__all__ = ["DiversitySelector", "NearestSelector", "RandomSelector", "tfidf"]


def tfidf(texts: Sequence[str]) -> tuple[TfidfVectorizer, spmatrix]:
    """Fit a TF-IDF model on `texts`; rows are L2-normalised, so a dot product is the cosine.

    Word unigrams and bigrams with sublinear term frequency; texts with no word at all (e.g.
    only brackets, as in Dyck-language inputs) fall back to character 2-4-grams.
    """
    vectorizer = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True)
    try:
        return vectorizer, vectorizer.fit_transform(texts)
    except ValueError:  # empty vocabulary
        vectorizer = TfidfVectorizer(analyzer="char", ngram_range=(2, 4), sublinear_tf=True)
        return vectorizer, vectorizer.fit_transform(texts)


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
        self._vectorizer, self._matrix = tfidf([e.input for e in self.exemplars])

    def similarities(self, query: str) -> np.ndarray:
        """Cosine similarity of `query` to every pool input."""
        q = self._vectorizer.transform([query])
        return np.asarray((self._matrix @ q.T).toarray()).ravel()

    def select(self, query: str | None = None) -> list[Exemplar]:
        """The nearest exemplars to `query` (required)."""
        if query is None:
            raise ValueError("NearestSelector.select needs the query input")
        sims = self.similarities(query)
        order = sorted(
            (i for i, e in enumerate(self.exemplars) if e.input != query),
            key=lambda i: (-sims[i], i),
        )
        return self._pick(list(reversed(order[: self.k])))


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
        km = KMeans(n_clusters=self.k, n_init=10, random_state=self._rng.randrange(2**31))
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
