"""Exemplar pool and selectors: random, nearest, diversity, random_search, mutation.

`make_selector(name, exemplars, settings, seed=, budget=)` is the one resolver from a task file's
selector name and settings (validated by the settings models in
`workbench.optimizers.prompt.budget`, so the call projection reads the same defaults).

Example:
    >>> pool = [Exemplar(f"q{i}", f"a{i}", f"a{i}") for i in range(5)]
    >>> len(make_selector("random", pool, {"k": 2}, seed=1).select())
    2
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel

from workbench.optimizers.prompt.budget import SELECTORS, parse_settings
from workbench.optimizers.prompt.exemplars.base import Evaluate, ExemplarSelector
from workbench.optimizers.prompt.exemplars.heuristic import (
    DiversitySelector,
    NearestSelector,
    RandomSelector,
    tfidf,
)
from workbench.optimizers.prompt.exemplars.pool import Exemplar, ExemplarPool, Source
from workbench.optimizers.prompt.exemplars.search import MutationSelector, RandomSearchSelector

__all__ = [
    "DiversitySelector",
    "Evaluate",
    "Exemplar",
    "ExemplarPool",
    "ExemplarSelector",
    "MutationSelector",
    "NearestSelector",
    "RandomSearchSelector",
    "RandomSelector",
    "Source",
    "make_selector",
    "selector_names",
    "tfidf",
]

_CLASSES: dict[str, type[ExemplarSelector]] = {
    "random": RandomSelector,
    "nearest": NearestSelector,
    "diversity": DiversitySelector,
    "random_search": RandomSearchSelector,
    "mutation": MutationSelector,
}


def selector_names() -> list[str]:
    """Selector names task files may use (``"none"`` means no exemplars)."""
    return sorted(SELECTORS)


def make_selector(
    name: str | ExemplarSelector,
    exemplars: Sequence[Exemplar],
    settings: dict[str, Any] | BaseModel | None = None,
    *,
    seed: int | None = None,
    budget: int = 32,
) -> ExemplarSelector | None:
    """Build a selector by name (a selector instance passes straight through).

    Args:
        name: a name from `selector_names()`; ``"none"`` returns None.
        exemplars: the candidates, e.g. ``pool.candidates(k)``.
        settings: the selector's settings (``k``; ``num_candidates``; ``population``,
            ``generations``).
        seed: the selector's RNG seed.
        budget: validation prompt evaluations a search selector may spend.

    Raises:
        ConfigError: unknown name or bad settings.
    """
    if isinstance(name, ExemplarSelector):
        return name
    parsed = parse_settings("exemplar selector", name, SELECTORS, settings)
    if parsed is None:
        return None
    kwargs = parsed.model_dump()
    if name in ("random_search", "mutation"):
        kwargs["budget"] = budget
    return _CLASSES[name](exemplars, seed=seed, **kwargs)
