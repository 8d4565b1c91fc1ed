"""The LLM side of LLAMBO: warm start, candidate sampler, discriminative surrogate with EI.

No Optuna here: the engine gets the observations and the keys of every configuration the
study already holds, and returns canonical, in-space, never-seen configurations. Every rejected
proposal (outside the space, duplicate), parse failure and failed call is counted in `Stats`;
a malformed answer is never fatal (only `BudgetExceeded` propagates, to end the run cleanly).
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from workbench.errors import BudgetExceeded
from workbench.optimizers.llambo import prompts
from workbench.optimizers.llambo.prompts import Observation
from workbench.optimizers.llambo.serialize import answer_schemas, check_config, config_text

__all__ = ["Engine", "Stats", "expected_improvement"]

log = logging.getLogger(__name__)


@dataclass
class Stats:
    """Counters over the run (JSON via `asdict`)."""

    llm_calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    parse_failures: int = 0
    call_errors: int = 0
    rejected_outside: int = 0
    rejected_duplicate: int = 0
    reasks: int = 0
    fallbacks: int = 0
    warm_start: int = 0
    llm_proposals: int = 0
    tpe_proposals: int = 0

    def to_dict(self) -> dict[str, int]:
        """JSON form."""
        return asdict(self)


@dataclass
class StepLog:
    """What one propose step spent and rejected (goes into the candidates' meta)."""

    calls: int = 0
    tokens: int = 0
    rejected: list[str] = field(default_factory=list)


def _phi(z: float) -> float:
    return math.exp(-0.5 * z * z) / math.sqrt(2 * math.pi)


def _cdf(z: float) -> float:
    return 0.5 * (1 + math.erf(z / math.sqrt(2)))


def expected_improvement(mu: float, sigma: float, best: float) -> float:
    """EI of a Gaussian N(mu, sigma^2) over `best`, for maximisation."""
    delta = mu - best
    if sigma <= 0:
        return max(delta, 0.0)
    z = delta / sigma
    return delta * _cdf(z) + sigma * _phi(z)


class Engine:
    """LLM proposals over one search space.

    Args:
        client: returns the run's `LLMClient` (opened lazily).
        space: parameter specs by name.
        context: the task description shown to the model.
        metric, direction: the objective.
        stats: the run's counters (updated in place).
        max_calls: LLM calls allowed per step.
        n_candidates: configurations asked per sampler call.
        n_samples: surrogate samples (calls) per step, for the uncertainty.
        alpha: target = best + alpha * observed range (towards better).
        max_tokens: completion cap per call.
    """

    def __init__(
        self,
        client: Callable[[], Any],
        space: dict[str, Any],
        context: str,
        metric: str,
        direction: str,
        stats: Stats,
        *,
        max_calls: int = 5,
        n_candidates: int = 6,
        n_samples: int = 2,
        alpha: float = 0.1,
        max_tokens: int = 700,
    ) -> None:
        self.client = client
        self.space = space
        self.head = (context, metric, direction, space)
        self.direction = direction
        self.stats = stats
        self.max_calls = max_calls
        self.n_candidates = n_candidates
        self.n_samples = n_samples
        self.alpha = alpha
        self.max_tokens = max_tokens
        self.configs_schema, self.predictions_schema = answer_schemas(space)

    # -- calls -------------------------------------------------------------------------------
    def _call(self, messages: list[dict], schema: Any, step: StepLog, **kw: Any) -> Any | None:
        """One structured call; the parsed JSON (or None), every failure counted."""
        step.calls += 1
        self.stats.llm_calls += 1
        try:
            result = self.client().structured(messages, schema, max_tokens=self.max_tokens, **kw)
        except BudgetExceeded:
            raise
        except Exception as exc:  # a failed request must not crash the study
            self.stats.call_errors += 1
            log.warning("LLAMBO call failed: %s: %s", type(exc).__name__, exc)
            return None
        used = int(result.prompt_tokens) + int(result.completion_tokens)
        step.tokens += used
        self.stats.prompt_tokens += int(result.prompt_tokens)
        self.stats.completion_tokens += int(result.completion_tokens)
        if result.ok:
            return result.value.model_dump(mode="json")
        self.stats.parse_failures += 1
        try:  # salvage the valid parts of an answer the schema rejected as a whole
            return json.loads(result.raw or "")
        except (TypeError, ValueError):
            return None

    def _configs(
        self, answer: Any, seen: set[str], step: StepLog, out: list[dict[str, Any]]
    ) -> None:
        """Append the valid, unseen configurations of `answer` to `out` (and their keys)."""
        items = answer.get("configs") if isinstance(answer, dict) else None
        if not isinstance(items, list):
            return
        for item in items:
            config, why = check_config(item, self.space)
            if config is None:
                self.stats.rejected_outside += 1
                step.rejected.append(f"outside the space ({why}): {json.dumps(item)[:160]}")
                continue
            key = config_text(config, self.space)
            if key in seen:
                self.stats.rejected_duplicate += 1
                step.rejected.append(f"already evaluated or proposed: {key}")
                continue
            seen.add(key)
            out.append(config)

    # -- public ------------------------------------------------------------------------------
    def warm_start(self, k: int, seen: set[str], seed: int, step: StepLog) -> list[dict]:
        """Zero-shot initial configurations (up to `k`; one re-ask if too few are valid)."""
        out: list[dict[str, Any]] = []
        messages = prompts.warm_start_messages(*self.head, k)
        for attempt in range(2):
            if step.calls >= self.max_calls:
                break
            self.stats.reasks += attempt
            answer = self._call(messages, self.configs_schema, step, temperature=0.7, seed=seed)
            self._configs(answer, seen, step, out)
            if len(out) >= k:
                break
            seed += 1
        self.stats.warm_start += len(out[:k])
        return out[:k]

    def target(self, observations: list[Observation]) -> float:
        """The score the sampler aims at: beyond the best by alpha * observed range."""
        scores = [o.score for o in observations]
        spread = (max(scores) - min(scores)) or abs(max(scores)) * 0.1 or 0.1
        if self.direction == "maximize":
            return max(scores) + self.alpha * spread
        return min(scores) - self.alpha * spread

    def propose(
        self, observations: list[Observation], seen: set[str], m: int, seed: int, step: StepLog
    ) -> list[dict[str, Any]]:
        """Up to `m` configurations: sampled towards a target, ranked by surrogate EI."""
        pool: list[dict[str, Any]] = []
        k = max(self.n_candidates, m + 2)
        target = self.target(observations)
        for attempt in range(2):  # ask, then re-ask once with the rejections shown
            if step.calls >= self.max_calls - attempt:  # a re-ask leaves one call to the surrogate
                break
            self.stats.reasks += attempt
            messages = prompts.candidate_messages(
                *self.head, observations, k, target, rejected=step.rejected
            )
            answer = self._call(messages, self.configs_schema, step, temperature=0.8, seed=seed)
            self._configs(answer, seen, step, pool)
            if len(pool) >= m + 1 or len(pool) >= k:
                break
            seed += 7919
        if len(pool) <= m:
            return pool
        ranked = self.rank(observations, pool, seed, step)
        return ranked[:m]

    def rank(
        self,
        observations: list[Observation],
        pool: list[dict[str, Any]],
        seed: int,
        step: StepLog,
    ) -> list[dict[str, Any]]:
        """`pool` by descending EI under the LLM surrogate (sampler order if it gives nothing)."""
        samples: list[list[float]] = [[] for _ in pool]
        messages = prompts.surrogate_messages(*self.head, observations, pool)
        for i in range(self.n_samples):
            if step.calls >= self.max_calls:
                break
            answer = self._call(
                messages, self.predictions_schema, step, temperature=0.7, seed=seed + 101 * i
            )
            preds = answer.get("predictions") if isinstance(answer, dict) else None
            for j, value in enumerate(preds if isinstance(preds, list) else []):
                if j < len(pool) and isinstance(value, int | float) and math.isfinite(value):
                    samples[j].append(float(value))
        sign = 1.0 if self.direction == "maximize" else -1.0
        scores = [sign * o.score for o in observations]
        best = max(scores)
        mean = sum(scores) / len(scores)
        spread = math.sqrt(sum((s - mean) ** 2 for s in scores) / len(scores)) or 1e-6
        floor = 0.1 * spread

        def ei(j: int) -> float:
            if not samples[j]:
                return expected_improvement(mean, spread, best)  # the prior: no information
            vals = [sign * v for v in samples[j]]
            mu = sum(vals) / len(vals)
            sd = math.sqrt(sum((v - mu) ** 2 for v in vals) / len(vals))
            return expected_improvement(mu, max(sd, floor), best)

        order = sorted(range(len(pool)), key=lambda j: -ei(j))  # stable: ties keep sampler order
        return [pool[j] for j in order]
