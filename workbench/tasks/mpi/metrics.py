"""ParEval's metrics: pass@k (unbiased), speedup_n@k (expected best speedup of k samples at n
ranks) and efficiency_n@k (speedup_n@k / n)."""

from __future__ import annotations

from collections.abc import Sequence
from math import comb, prod

from workbench.tasks.mpi.results import MpiResult

__all__ = ["pass_at_k", "speedup_at_k", "summarize"]


def pass_at_k(n: int, c: int, k: int) -> float:
    """Unbiased pass@k: the chance that at least one of k of the n samples is correct.

    ``1 - C(n-c, k) / C(n, k)``, computed as ``1 - prod(1 - k / i for i in n-c+1..n)``
    (Chen et al. 2021; ParEval's analysis/metrics.py).

    Args:
        n: samples drawn.
        c: samples that are correct (0 <= c <= n).
        k: samples allowed (1 <= k <= n).

    Raises:
        ValueError: the counts are inconsistent.

    >>> round(pass_at_k(10, 3, 1), 12)
    0.3
    """
    if not (0 <= c <= n) or not (1 <= k <= n):
        raise ValueError(f"pass_at_k needs 0 <= c <= n and 1 <= k <= n, got n={n} c={c} k={k}")
    if n - c < k:
        return 1.0
    return 1.0 - prod(1.0 - k / i for i in range(n - c + 1, n + 1))


def speedup_at_k(speedups: Sequence[float], k: int) -> float:
    """speedup@k: the expected maximum speedup among k samples drawn without replacement.

    As defined in the ParEval paper: failed samples count as speedup 0. With the N speedups
    sorted ascending, s_(j) is the maximum of a random k-subset with probability
    ``C(j-1, k-1) / C(N, k)``, so the expectation is ``sum_j C(j-1, k-1) / C(N, k) * s_(j)``.
    (ParEval's code sorts *run times* ascending under the same weights, which for k > 1
    weights the slowest of each subset; we follow the paper.)

    Args:
        speedups: one value per sample, T*/T for a correct one and 0 for a failed one.
        k: samples allowed (1 <= k <= len(speedups)).

    Raises:
        ValueError: k is out of range or a speedup is negative.

    >>> speedup_at_k([0.0, 1.0, 2.0, 4.0], 2)  # subsets' maxima: 1, 2, 4, 2, 4, 4
    2.8333333333333335
    """
    values = sorted(float(s) for s in speedups)
    n = len(values)
    if not 1 <= k <= n:
        raise ValueError(f"speedup_at_k needs 1 <= k <= {n} (the number of samples), got k={k}")
    if values and values[0] < 0:
        raise ValueError(f"speedups must be >= 0 (failed samples count as 0), got {values[0]}")
    total = comb(n, k)
    return sum(comb(j - 1, k - 1) * s for j, s in enumerate(values, start=1) if j >= k) / total


def summarize(
    samples: Sequence[MpiResult],
    ks: Sequence[int] = (1,),
    *,
    np: int | None = None,
    nps: Sequence[int] = (),
) -> dict[str, float]:
    """pass@k, build@k and speedup@k of one problem's samples, for every k <= len(samples).

    Args:
        samples: the evaluations of n samples for the same problem.
        ks: the k values to report (those above n are skipped).
        np: the np of speedup@k (default: each sample's largest np); a failed sample counts 0.
        nps: rank counts n to report ParEval's speedup_n@k and efficiency_n@k at (the
            speedup at n ranks, and that over n).

    Returns:
        ``{"n": n, "pass@1": ..., "build@1": ..., "speedup@1": ..., "speedup_2@1": ...,
        "efficiency_2@1": ..., ...}``.

    >>> from workbench.tasks.mpi.results import MpiResult, NpResult
    >>> run = NpResult(2, True, time_candidate=0.5, time_reference=1.0, detail="PASS")
    >>> summarize([MpiResult("p", "ok", runs=[run])], nps=[2])["efficiency_2@1"]
    1.0
    """
    n = len(samples)
    out: dict[str, float] = {"n": float(n)}
    if n == 0:
        return out
    correct = sum(s.passed for s in samples)
    built = sum(s.compiled for s in samples)
    speedups = [s.speedup(np) for s in samples]
    for k in ks:
        if 1 <= k <= n:
            out[f"pass@{k}"] = pass_at_k(n, correct, k)
            out[f"build@{k}"] = pass_at_k(n, built, k)
            out[f"speedup@{k}"] = speedup_at_k(speedups, k)
            for n_ranks in nps:
                at_n = speedup_at_k([s.speedup(n_ranks) for s in samples], k)
                out[f"speedup_{n_ranks}@{k}"] = at_n
                out[f"efficiency_{n_ranks}@{k}"] = at_n / n_ranks
    return out
