"""Small statistics the benches report beside every "better": a paired sign test."""

from __future__ import annotations

import math

__all__ = ["sign_test"]


def sign_test(wins: int, losses: int) -> float:
    """Two-sided binomial sign test p-value (ties dropped).

    >>> sign_test(8, 0) < 0.01, sign_test(3, 2)
    (True, 1.0)
    """
    n = wins + losses
    if n == 0:
        return 1.0
    k = min(wins, losses)
    tail = sum(math.comb(n, i) for i in range(k + 1)) / 2**n
    return min(1.0, 2 * tail)
