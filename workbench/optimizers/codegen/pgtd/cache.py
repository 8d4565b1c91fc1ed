"""Token-prefix caches for PG-TD (the anchor's ``GPTTopKCache`` and ``GPTSeqCache``).

A `PrefixIndex` maps token-id prefixes to values. Besides exact entries it can register a whole
generated sequence at once ("along" entries), so that every prefix of that sequence from a start
position on has a value, in O(length) memory: the keys are rolling hashes of the prefixes and a
hit is confirmed by comparing tokens, so a hash collision can never return a wrong value.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

__all__ = ["PrefixIndex"]

V = TypeVar("V")

_MOD = (1 << 61) - 1  # Mersenne prime: cheap, well-spread polynomial hashes
_BASES = (1_000_003, 998_244_353)


def _hashes(tokens: Sequence[int]) -> list[tuple[int, int]]:
    """Two rolling hashes of every prefix: ``out[k]`` hashes ``tokens[:k]``."""
    out = [(0, 0)]
    h1 = h2 = 0
    for t in tokens:
        h1 = (h1 * _BASES[0] + t + 1) % _MOD
        h2 = (h2 * _BASES[1] + t + 1) % _MOD
        out.append((h1, h2))
    return out


class PrefixIndex(Generic[V]):
    """Values keyed by token-id prefixes, with whole-sequence registration.

    Example:
        >>> idx: PrefixIndex[str] = PrefixIndex()
        >>> idx.put_along([1, 2, 3, 4], start=1, value=lambda k: f"len{k}")
        >>> (idx.get([1, 2]), idx.get([1, 2, 3, 4]), idx.get([1]), idx.get([9, 2]))
        ('len2', 'len4', 'len1', None)
    """

    def __init__(self) -> None:
        self._seqs: list[tuple[int, ...]] = []
        # (hash 1, hash 2, length) -> (seq id, value); a get() also compares the tokens
        self._entries: dict[tuple[int, int, int], tuple[int, V]] = {}

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, prefix: Sequence[int]) -> V | None:
        """The value stored for exactly this prefix, or ``None``."""
        h1, h2 = _hashes(prefix)[-1]
        hit = self._entries.get((h1, h2, len(prefix)))
        if hit is None:
            return None
        seq = self._seqs[hit[0]]
        if any(a != b for a, b in zip(seq, prefix, strict=False)):
            return None  # a double hash collision: never return a wrong value
        return hit[1]

    def put(self, prefix: Sequence[int], value: V) -> None:
        """Store `value` for exactly `prefix` (an existing value is kept)."""
        self.put_along(prefix, start=len(prefix), value=lambda _k: value)

    def put_along(
        self, seq: Sequence[int], start: int, value: Callable[[int], V], stop: int | None = None
    ) -> None:
        """Store ``value(k)`` for every prefix ``seq[:k]``, ``start <= k <= stop``.

        Prefixes that already have a value keep it (first wins).

        Args:
            seq: the token sequence.
            start: the shortest prefix length to register.
            value: the value for the prefix of length ``k``.
            stop: the longest prefix length (default ``len(seq)``).
        """
        stop = len(seq) if stop is None else min(stop, len(seq))
        if start > stop:
            return
        sid = len(self._seqs)
        self._seqs.append(tuple(seq))
        hashes = _hashes(seq)
        for k in range(start, stop + 1):
            key = (*hashes[k], k)
            if key not in self._entries:
                self._entries[key] = (sid, value(k))
