"""Ranking LLM candidates without an LLM call: TPE's density ratio l(x) / g(x).

The observations are split into the best ``gamma`` fraction ("good") and the rest; each side
gets a Parzen estimator per parameter (Gaussian kernels on the unit interval, log-transformed
for log-scaled parameters, plus a uniform prior component; smoothed frequencies for
categoricals). A candidate's score is ``sum_p log l_p(x_p) - log g_p(x_p)`` (Bergstra et al.
2011; the independent TPE that Optuna samples from). Maximising it is maximising Expected
Improvement under the TPE model, so it replaces the LLM surrogate's EI at zero LLM cost.

Example:
    >>> from workbench.tasks.hpo import FloatParam
    >>> space = {"x": FloatParam(type="float", low=0.0, high=1.0)}
    >>> obs = [Observation({"x": v}, -abs(v - 0.2)) for v in (0.1, 0.2, 0.3, 0.7, 0.9)]
    >>> s = density_ratio(obs, [{"x": 0.22}, {"x": 0.8}], space, "maximize")
    >>> s[0] > s[1]
    True
"""

from __future__ import annotations

import math
from typing import Any

from workbench.optimizers.llambo.prompts import Observation

__all__ = ["density_ratio", "nearest_distance"]


def _unit(value: Any, spec: Any) -> float:
    lo, hi, v = float(spec.low), float(spec.high), float(value)
    if spec.log:
        lo, hi, v = math.log(lo), math.log(hi), math.log(max(v, spec.low))
    return (v - lo) / (hi - lo)


def _log_parzen(x: float, points: list[float], n_total: int) -> float:
    """log density at `x` of kernels at `points` + one uniform prior component on [0, 1]."""
    bandwidth = max(0.05, min(0.5, 1.06 * n_total ** (-0.2) * 0.3))
    norm = 1.0 / (bandwidth * math.sqrt(2 * math.pi))
    density = 1.0  # the uniform prior
    for p in points:
        density += norm * math.exp(-0.5 * ((x - p) / bandwidth) ** 2)
    return math.log(density / (len(points) + 1))


def _log_freq(value: Any, values: list[Any], n_choices: int) -> float:
    count = sum(1 for v in values if v == value and type(v) is type(value))
    return math.log((count + 1.0 / n_choices) / (len(values) + 1.0))


def density_ratio(
    observations: list[Observation],
    candidates: list[dict[str, Any]],
    space: dict[str, Any],
    direction: str,
    gamma: float = 0.25,
) -> list[float]:
    """log l(x) - log g(x) of each candidate (higher: more like the best observations).

    Args:
        observations: evaluated canonical configurations and scores (at least one).
        candidates: canonical configurations to score.
        space: parameter specs by name.
        direction: "maximize" or "minimize".
        gamma: the fraction of observations that count as good (at least one).
    """
    sign = -1.0 if direction == "maximize" else 1.0
    ordered = sorted(observations, key=lambda o: sign * o.score)
    n_good = max(1, math.ceil(gamma * len(ordered)))
    good, bad = ordered[:n_good], ordered[n_good:]
    n = len(ordered)
    out = []
    for cand in candidates:
        total = 0.0
        for name, spec in space.items():
            x = cand[name]
            if spec.type == "categorical":
                k = len(spec.choices)
                total += _log_freq(x, [o.config[name] for o in good], k)
                total -= _log_freq(x, [o.config[name] for o in bad], k)
                continue
            u = _unit(x, spec)
            total += _log_parzen(u, [_unit(o.config[name], spec) for o in good], n)
            total -= _log_parzen(u, [_unit(o.config[name], spec) for o in bad], n)
        out.append(total)
    return out


def nearest_distance(
    candidate: dict[str, Any], observations: list[Observation], space: dict[str, Any]
) -> float:
    """Mean per-parameter distance (unit scale; categoricals 0/1) to the nearest observation."""
    best = math.inf
    for o in observations:
        total = 0.0
        for name, spec in space.items():
            a, b = candidate[name], o.config[name]
            if spec.type == "categorical":
                total += 0.0 if a == b and type(a) is type(b) else 1.0
            else:
                total += abs(_unit(a, spec) - _unit(b, spec))
        best = min(best, total / max(len(space), 1))
    return best
