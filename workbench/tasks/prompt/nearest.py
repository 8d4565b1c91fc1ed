"""Nearest neighbours by TF-IDF cosine: the ``selection: nearest`` shots of a prompt payload.

`PromptTask` uses `NearestIndex` to pick, per input, the k exemplars of a payload nearest to it;
the optimizers' `NearestSelector` (`workbench.optimizers.prompt.exemplars`) is the same index
over its pool, so evaluation and selection rank exemplars alike.

scikit-learn is imported on first use (`workbench._imports.lazy_import`): loading the task kind
does not pay for it.

Example:
    >>> index = NearestIndex(["red apple", "green apple", "blue sky"])
    >>> index.nearest("a red apple", k=2)  # least to most similar
    [1, 0]
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from workbench._imports import lazy_import

if TYPE_CHECKING:
    import numpy as np
    from scipy.sparse import spmatrix
    from sklearn.feature_extraction.text import TfidfVectorizer

sklearn_text = lazy_import("sklearn.feature_extraction.text")

__all__ = ["NearestIndex", "tfidf"]


def tfidf(texts: Sequence[str]) -> tuple[TfidfVectorizer, spmatrix]:
    """Fit a TF-IDF model on `texts`; rows are L2-normalised, so a dot product is the cosine.

    Word unigrams and bigrams with sublinear term frequency; texts with no word at all (e.g.
    only brackets, as in Dyck-language inputs) fall back to character 2-4-grams.
    """
    vectorizer = sklearn_text.TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True)
    try:
        return vectorizer, vectorizer.fit_transform(texts)
    except ValueError:  # empty vocabulary
        vectorizer = sklearn_text.TfidfVectorizer(
            analyzer="char", ngram_range=(2, 4), sublinear_tf=True
        )
        return vectorizer, vectorizer.fit_transform(texts)


class NearestIndex:
    """A TF-IDF model of `texts` (`tfidf`), queried for the texts most similar to an input.

    Args:
        texts: the candidates' texts (an exemplar's input), in a fixed order.
    """

    def __init__(self, texts: Sequence[str]) -> None:
        self.texts = list(texts)
        self._vectorizer, self._matrix = tfidf(self.texts)

    def similarities(self, query: str) -> np.ndarray:
        """Cosine similarity of `query` to every text."""
        q = self._vectorizer.transform([query])
        return (self._matrix @ q.T).toarray().ravel()

    def nearest(self, query: str, k: int) -> list[int]:
        """Indices of the `k` texts most similar to `query`, ordered from least to most
        similar (the most similar sits right before the query, as in KATE, Liu et al. 2022).

        A text equal to the query is skipped (exemplars harvested from the validation set must
        not show a validation input its own answer); ties go to the earlier text.
        """
        sims = self.similarities(query)
        order = sorted(
            (i for i, text in enumerate(self.texts) if text != query),
            key=lambda i: (-sims[i], i),
        )
        return list(reversed(order[:k]))
