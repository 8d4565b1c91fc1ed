"""Deterministic train / validation / test splits.

The split depends only on the number of examples, the sizes and the seed: a
``random.Random(seed)`` shuffles the index list ``0..n-1`` (never a set, a dict or a hash), and
the shuffled order is cut into train, then validation, then test. ``random.Random`` seeded with an
int and ``shuffle`` have produced the same sequence on every CPython 3 release, so a split is the
same on every machine and Python version; a unit test pins the exact indices.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from workbench.errors import ConfigError

__all__ = ["Splits", "split"]

T = TypeVar("T")


@dataclass(frozen=True)
class Splits(Generic[T]):
    """The three parts of a split, each in shuffled order."""

    train: list[T]
    val: list[T]
    test: list[T]

    def sizes(self) -> dict[str, int]:
        """``{"train": .., "val": .., "test": ..}``."""
        return {"train": len(self.train), "val": len(self.val), "test": len(self.test)}


def _count(name: str, value: int | float | None, n: int) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(f"split {name}={value!r}: give a count (int) or a fraction (float)")
    if isinstance(value, int):
        if value < 0:
            raise ConfigError(f"split {name}={value}: a count cannot be negative")
        return value
    if not 0.0 <= value <= 1.0:
        raise ConfigError(f"split {name}={value}: a fraction must be between 0 and 1")
    return math.floor(value * n + 1e-9)


def split(
    examples: Sequence[T],
    *,
    train: int | float,
    val: int | float,
    test: int | float | None = None,
    seed: int = 0,
    test_seed: int | None = None,
) -> Splits[T]:
    """Split `examples` into train / validation / test, the same way on every run.

    Sizes are counts (``int``) or fractions of ``len(examples)`` (``float``, rounded down).
    ``test=None`` takes every example left after train and validation. When all three are
    fractions summing to 1, the examples lost to rounding go to train, so none is dropped.

    Args:
        examples: the labelled examples (any sequence; it is not modified).
        train: size of the training part (exemplar source, optimizer demonstrations).
        val: size of the validation part (scores candidate prompts).
        test: size of the test part, or None for the rest.
        seed: the shuffle seed; 0 is a seed like any other.
        test_seed: when given, the test part is drawn first with this seed (the last ``test``
            examples of that shuffle) and only train / validation depend on `seed`: runs with
            different seeds then share one test set.

    Returns:
        `Splits` with disjoint parts.

    Raises:
        ConfigError: a size is negative, not a number, or the sizes add up to more than
            ``len(examples)``.

    Example:
        >>> parts = split(list(range(10)), train=0.2, val=0.3, seed=1)
        >>> parts.sizes()
        {'train': 2, 'val': 3, 'test': 5}
        >>> parts == split(list(range(10)), train=0.2, val=0.3, seed=1)
        True
    """
    n = len(examples)
    n_train = _count("train", train, n)
    n_val = _count("val", val, n)
    n_test = _count("test", test, n)
    assert n_train is not None and n_val is not None
    if (
        n_test is not None
        and all(isinstance(v, float) for v in (train, val, test))
        and abs(float(train) + float(val) + float(test or 0.0) - 1.0) < 1e-9
    ):
        n_train += n - (n_train + n_val + n_test)
    if n_test is None:
        n_test = n - n_train - n_val
    if n_test < 0 or n_train + n_val + n_test > n:
        raise ConfigError(
            f"split sizes train={train!r}, val={val!r}, test={test!r} need "
            f"{n_train + n_val + max(n_test, 0)} examples but the dataset has {n}; "
            f"lower the sizes"
        )
    order = list(range(n))
    if test_seed is None:
        random.Random(seed).shuffle(order)
        test_idx = order[n_train + n_val : n_train + n_val + n_test]
    else:
        random.Random(test_seed).shuffle(order)
        test_idx = order[n - n_test :] if n_test else []
        order = order[: n - n_test]
        random.Random(seed).shuffle(order)
    parts = (order[:n_train], order[n_train : n_train + n_val])
    return Splits(
        train=[examples[i] for i in parts[0]],
        val=[examples[i] for i in parts[1]],
        test=[examples[i] for i in test_idx],
    )
