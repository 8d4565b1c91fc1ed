"""Racing on validation examples: the successive-halving schedule and its cost.

The budget unit of a racing run is the **validation example-evaluation**: one task-model call on
one validation example. `race_rungs` gives the schedule of a race of ``n`` candidates,
`race_cost` its example-evaluations, `race_candidates` the most candidates a budget can screen.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from workbench.quantities import Count, Fraction

__all__ = ["RaceSettings", "race_candidates", "race_cost", "race_rungs"]


class RaceSettings(BaseModel):
    """Racing (successive halving) on validation examples; the budget is counted in
    **validation example-evaluations** (task-model calls on validation examples).

    Every new candidate of a search stage is first scored on the same `screen` validation
    examples; when the stage is done, the best ``n // eta`` of its ``n`` candidates are scored
    on the next examples (``screen * eta`` seen in all), the best ``n // eta**2`` of those on
    more, and so on until one or more survivors have seen the whole validation split (see
    `race_rungs`). The final prompt is the best one scored on the whole split (the seed
    instruction always is).
    """

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)

    examples: Count
    """Validation example-evaluations of the whole run, the seed instruction's full validation
    run included."""
    screen: Count = 2
    """Examples per new candidate (the first rung)."""
    eta: Count = Field(default=2, ge=2)
    """The halving factor."""
    split: Fraction = Field(default=0.5, gt=0.0, lt=1.0)
    """The instruction stage's share of the search examples (``joint`` only; the exemplar stage
    gets the rest)."""


def race_rungs(n: int, screen: int, val_size: int, eta: int) -> list[tuple[int, int]]:
    """The rungs of a race of `n` candidates: ``(examples seen after the rung, candidates)``.

    Rung 0 is ``(min(screen, V), n)``; rung ``i`` is ``(min(screen * eta**i, V),
    max(1, n // eta**i))``; the last rung is the first to reach ``V``. No candidates, no rungs.

    Example:
        >>> race_rungs(7, 2, 8, 2)
        [(2, 7), (4, 3), (8, 1)]
    """
    if n <= 0:
        return []
    size = min(screen, val_size)
    rungs = [(size, n)]
    i = 0
    while size < val_size:
        i += 1
        size = min(screen * eta**i, val_size)
        rungs.append((size, min(rungs[-1][1], max(1, n // eta**i))))
    return rungs


def race_cost(n: int, screen: int, val_size: int, eta: int) -> int:
    """Validation example-evaluations of a race of `n` candidates (`race_rungs`).

    Example:
        >>> race_cost(7, 2, 8, 2)  # 7 x 2 + 3 x 2 + 1 x 4
        24
    """
    cost, seen = 0, 0
    for size, count in race_rungs(n, screen, val_size, eta):
        cost += count * (size - seen)
        seen = size
    return cost


def race_candidates(examples: int, screen: int, val_size: int, eta: int) -> int:
    """The most candidates a race can screen within `examples` example-evaluations (0 when
    not even one candidate can see the whole validation split)."""
    n = 0
    while race_cost(n + 1, screen, val_size, eta) <= examples:
        n += 1
    return n
