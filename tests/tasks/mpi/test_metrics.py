"""pass@k and speedup@k against hand-computed values and brute force over all k-subsets."""

from __future__ import annotations

from itertools import combinations
from math import comb

import pytest

from workbench.tasks.mpi import MpiResult, NpResult, pass_at_k, speedup_at_k, summarize


def test_pass_at_k_hand_values() -> None:
    assert pass_at_k(10, 3, 1) == pytest.approx(0.3)
    # 1 - C(7,2)/C(10,2) = 1 - 21/45
    assert pass_at_k(10, 3, 2) == pytest.approx(24 / 45)
    assert pass_at_k(5, 0, 3) == 0.0
    assert pass_at_k(5, 5, 1) == 1.0
    assert pass_at_k(4, 2, 3) == 1.0  # any 3 of 4 include a correct one


@pytest.mark.parametrize(("n", "c", "k"), [(20, 1, 1), (20, 1, 5), (20, 7, 10), (50, 13, 20)])
def test_pass_at_k_matches_combinatorial_form(n: int, c: int, k: int) -> None:
    assert pass_at_k(n, c, k) == pytest.approx(1 - comb(n - c, k) / comb(n, k), rel=1e-12)


@pytest.mark.parametrize(("n", "c", "k"), [(3, 4, 1), (3, 1, 0), (3, 1, 4), (3, -1, 1)])
def test_pass_at_k_rejects_bad_counts(n: int, c: int, k: int) -> None:
    with pytest.raises(ValueError, match="pass_at_k"):
        pass_at_k(n, c, k)


def test_speedup_at_k_hand_values() -> None:
    s = [0.0, 1.0, 2.0, 4.0]
    assert speedup_at_k(s, 1) == pytest.approx(7 / 4)  # the mean
    # maxima of the six pairs: 1, 2, 4, 2, 4, 4
    assert speedup_at_k(s, 2) == pytest.approx(17 / 6)
    # maxima of the four triples: 2, 4, 4, 4
    assert speedup_at_k(s, 3) == pytest.approx(14 / 4)
    assert speedup_at_k(s, 4) == 4.0
    assert speedup_at_k([3.0, 0.0, 0.0], 1) == pytest.approx(1.0)  # failed samples count as 0


def test_speedup_at_k_is_expected_max_not_min() -> None:
    """ParEval's code weights the slowest of each subset for k > 1; the paper means the best."""
    s = [0.5, 1.0, 3.0, 0.0, 2.0, 2.5]
    for k in range(1, len(s) + 1):
        subsets = list(combinations(s, k))
        want = sum(max(c) for c in subsets) / len(subsets)
        assert speedup_at_k(s, k) == pytest.approx(want)
    assert speedup_at_k(s, 2) > sum(min(c) for c in combinations(s, 2)) / comb(6, 2)


def test_speedup_at_k_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="1 <= k <= 2"):
        speedup_at_k([1.0, 2.0], 3)
    with pytest.raises(ValueError, match=">= 0"):
        speedup_at_k([1.0, -2.0], 1)


def _sample(status: str, t_cand: float = 0.0) -> MpiResult:
    runs = [NpResult(np=1, passed=True, time_candidate=0.01, time_reference=0.01, detail="")]
    if status == "ok":
        runs.append(
            NpResult(np=2, passed=True, time_candidate=t_cand, time_reference=0.02, detail="")
        )
    return MpiResult(problem="p", status=status, runs=runs)  # type: ignore[arg-type]


def test_summarize_one_problem() -> None:
    # T* = 0.01 (best reference); speedups at np=2: 2.0, 1.0, then 0 for failures.
    samples = [
        _sample("ok", 0.005),
        _sample("ok", 0.01),
        _sample("failed"),
        _sample("compile_error"),
    ]
    s = summarize(samples, ks=(1, 2, 5))
    assert s["n"] == 4
    assert s["pass@1"] == pytest.approx(0.5)
    assert s["build@1"] == pytest.approx(0.75)
    assert s["speedup@1"] == pytest.approx(3.0 / 4)
    # pairs' best speedups: 2, 2, 2, 1, 1, 0 -> 8/6
    assert s["speedup@2"] == pytest.approx(8 / 6)
    assert "pass@5" not in s


def test_speedup_and_efficiency_at_n_ranks() -> None:
    """ParEval's speedup_n@k and efficiency_n@k: the speedup at n ranks, and that over n."""

    def sample(t2: float | None, t4: float | None) -> MpiResult:
        runs = [
            NpResult(2, t2 is not None, t2, 1.0 if t2 else None, "PASS" if t2 else "wrong"),
            NpResult(4, t4 is not None, t4, 1.0 if t4 else None, "PASS" if t4 else "wrong"),
        ]
        return MpiResult("p", "ok" if t2 and t4 else "failed", runs=runs)

    samples = [sample(0.5, 0.4), sample(0.25, 0.2), sample(None, 0.1)]  # the last one failed
    out = summarize(samples, ks=(1, 2), nps=[2, 4])
    assert out["speedup_2@1"] == pytest.approx((2.0 + 4.0 + 0.0) / 3)
    assert out["efficiency_2@1"] == pytest.approx(out["speedup_2@1"] / 2)
    assert out["speedup_4@1"] == pytest.approx((2.5 + 5.0 + 0.0) / 3)  # failed: 0 at every np
    assert out["efficiency_4@2"] == pytest.approx(out["speedup_4@2"] / 4)
    assert out["speedup_2@2"] == pytest.approx(speedup_at_k([2.0, 4.0, 0.0], 2))
    assert "speedup_2@1" not in summarize(samples)  # only where asked
