"""FunCoder's functional consensus, as a pure function over an execution matrix.

Every candidate implementation runs on every generated test input (the model wrote the inputs
only). For each input, candidates whose outputs are equal form an agreement group; a member of a
group of size ``c`` scores ``c - 1`` (the number of OTHER candidates that agree with it). A
crash or timeout on an input scores ``-100`` for that input. A candidate that fails any firm
unit test (the docstring's examples) loses ``10000`` once. The highest total wins. This follows
``runner_score_functional_similarity`` in cometeme/funcoder (``funcoder/methods/funcoder/gen.py``),
except that outputs are compared with a float tolerance instead of as JSON strings.

Grouping with a tolerance is not transitive: each output joins the first earlier group whose
first member it equals (candidates visited in index order), so the result is deterministic.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = [
    "CRASH_PENALTY",
    "FIRM_FAILURE_PENALTY",
    "ConsensusResult",
    "Outcome",
    "consensus_scores",
    "outputs_equal",
    "select_consensus",
]

CRASH_PENALTY = -100.0
FIRM_FAILURE_PENALTY = -10000.0

Status = Literal["ok", "crash", "timeout"]


@dataclass(frozen=True)
class Outcome:
    """One candidate on one test input.

    Attributes:
        status: ``"ok"`` (returned `value`), ``"crash"`` (raised, failed to build, bad output)
            or ``"timeout"``.
        value: the returned value, JSON-like (numbers, strings, lists, dicts, None, bools).
    """

    status: Status
    value: Any = None

    @classmethod
    def ok(cls, value: Any) -> Outcome:
        """A normal return with `value`."""
        return cls("ok", value)

    @classmethod
    def crash(cls) -> Outcome:
        """An exception, a failed build or an unusable output."""
        return cls("crash")

    @classmethod
    def timeout(cls) -> Outcome:
        """The run hit its time limit."""
        return cls("timeout")

    def to_dict(self) -> dict[str, Any]:
        """JSON form: ``{"status": ..., "value": ...}``."""
        return {"status": self.status, "value": self.value}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Outcome:
        """Inverse of `to_dict` (a recorded matrix read from JSON)."""
        status = data["status"]
        if status not in ("ok", "crash", "timeout"):
            raise ValueError(f"unknown outcome status {status!r}: use ok, crash or timeout")
        return cls(status, data.get("value"))


@dataclass
class ConsensusResult:
    """Scores and the winner of one consensus vote.

    Attributes:
        scores: total score per candidate.
        best: index of the chosen candidate.
        tied: indices that shared the top score (the tie the RNG broke).
        groups: per test input, the agreement groups (candidate indices; crashes excluded).
    """

    scores: list[float]
    best: int
    tied: list[int]
    groups: list[list[list[int]]] = field(default_factory=list)


def outputs_equal(a: Any, b: Any, *, rel_tol: float = 1e-6, abs_tol: float = 1e-9) -> bool:
    """Whether two JSON-like outputs agree.

    Numbers compare with `math.isclose` (ints and floats mix; NaN equals NaN; infinities equal
    themselves). Bools are not numbers here (``True != 1``, as in JSON). Lists and tuples compare
    element-wise, dicts key-wise; anything else falls back to ``==`` (an error there means "no").

    Example:
        >>> outputs_equal([0.1 + 0.2, {"a": float("nan")}], (0.3, {"a": float("nan")}))
        True
    """
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, int | float) and isinstance(b, int | float):
        fa, fb = float(a), float(b)
        if math.isnan(fa) or math.isnan(fb):
            return math.isnan(fa) and math.isnan(fb)
        return math.isclose(fa, fb, rel_tol=rel_tol, abs_tol=abs_tol)
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        return len(a) == len(b) and all(
            outputs_equal(x, y, rel_tol=rel_tol, abs_tol=abs_tol) for x, y in zip(a, b, strict=True)
        )
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        return a.keys() == b.keys() and all(
            outputs_equal(a[k], b[k], rel_tol=rel_tol, abs_tol=abs_tol) for k in a
        )
    try:
        return bool(a == b) and type(a) is type(b)
    except Exception:  # an exotic __eq__ that raises: treat as disagreement
        return False


def _groups(column: Sequence[Outcome | None], rel_tol: float, abs_tol: float) -> list[list[int]]:
    groups: list[list[int]] = []
    for i, out in enumerate(column):
        if out is None or out.status != "ok":
            continue
        for group in groups:
            first = column[group[0]]
            assert first is not None
            if outputs_equal(out.value, first.value, rel_tol=rel_tol, abs_tol=abs_tol):
                group.append(i)
                break
        else:
            groups.append([i])
    return groups


def consensus_scores(
    outcomes: Sequence[Sequence[Outcome | None]],
    firm: Sequence[Sequence[bool]] | None = None,
    *,
    rel_tol: float = 1e-6,
    abs_tol: float = 1e-9,
) -> tuple[list[float], list[list[list[int]]]]:
    """Score every candidate of an execution matrix.

    Args:
        outcomes: ``outcomes[i][j]`` is candidate ``i`` on test input ``j``. Rows may be short
            or hold ``None``: a missing result counts as a crash (as in the anchor).
        firm: ``firm[i]`` lists candidate ``i``'s pass/fail on the firm unit tests; any
            ``False`` costs `FIRM_FAILURE_PENALTY` once.
        rel_tol: relative float tolerance for `outputs_equal`.
        abs_tol: absolute float tolerance for `outputs_equal`.

    Returns:
        ``(scores, groups)``: the score per candidate and, per test input, the agreement groups.

    Raises:
        ValueError: `firm` has a different number of rows than `outcomes`.
    """
    n = len(outcomes)
    if firm is not None and len(firm) != n:
        raise ValueError(f"firm has {len(firm)} rows for {n} candidates")
    n_tests = max((len(row) for row in outcomes), default=0)
    scores = [0.0] * n
    all_groups: list[list[list[int]]] = []
    for j in range(n_tests):
        column = [row[j] if j < len(row) else None for row in outcomes]
        groups = _groups(column, rel_tol, abs_tol)
        all_groups.append(groups)
        for group in groups:
            for i in group:
                scores[i] += len(group) - 1
        grouped = {i for g in groups for i in g}
        for i in range(n):
            if i not in grouped:
                scores[i] += CRASH_PENALTY
    if firm is not None:
        for i, results in enumerate(firm):
            if not all(results):
                scores[i] += FIRM_FAILURE_PENALTY
    return scores, all_groups


def select_consensus(
    outcomes: Sequence[Sequence[Outcome | None]],
    firm: Sequence[Sequence[bool]] | None = None,
    *,
    seed: int | random.Random | None = None,
    rel_tol: float = 1e-6,
    abs_tol: float = 1e-9,
) -> ConsensusResult:
    """Pick the candidate the others agree with most (FunCoder's functional consensus).

    Args:
        outcomes: the execution matrix (see `consensus_scores`).
        firm: firm unit-test results per candidate (see `consensus_scores`).
        seed: breaks ties among the top scores: an ``int`` seeds a fresh RNG, a `random.Random`
            is used as is (the caller's own RNG, advanced by one draw when there is a tie);
            ``None`` picks the lowest index (deterministic, no randomness).
        rel_tol: relative float tolerance.
        abs_tol: absolute float tolerance.

    Returns:
        The scores, the chosen index and the tied indices.

    Raises:
        ValueError: no candidates.

    Example:
        >>> ok, boom = Outcome.ok, Outcome.crash()
        >>> r = select_consensus([[ok(1), ok(2)], [ok(1), boom], [ok(1), ok(2)]])
        >>> (r.scores, r.best)
        ([3.0, -98.0, 3.0], 0)
    """
    if not outcomes:
        raise ValueError("consensus needs at least one candidate")
    scores, groups = consensus_scores(outcomes, firm, rel_tol=rel_tol, abs_tol=abs_tol)
    top = max(scores)
    tied = [i for i, s in enumerate(scores) if s == top]
    if seed is None or len(tied) == 1:
        best = tied[0]
    else:
        rng = seed if isinstance(seed, random.Random) else random.Random(seed)
        best = rng.choice(tied)
    return ConsensusResult(scores=scores, best=best, tied=tied, groups=groups)
