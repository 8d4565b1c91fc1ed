"""The LLM side of LLAMBO: warm start, candidate sampler, and the ranking of its candidates.

No Optuna here: the engine gets the observations and the keys of every configuration the
study already holds, and returns canonical, in-space, never-seen configurations. Every rejected
proposal (outside the space, duplicate), parse failure and failed call is counted in `Stats`;
a malformed answer is never fatal (only `BudgetExceeded` propagates, to end the run cleanly).

One step costs one sampler call (k rows aimed at a target score), one re-ask continuing the
same conversation when fewer than the needed rows were valid and new, and no surrogate call by
default: the rows are ranked by TPE's density ratio (`rank.density_ratio`); with
``n_samples > 0`` by the LLM surrogate's Expected Improvement instead (LLAMBO's discriminative
surrogate, one call per sample). A structured call whose answer does not validate costs a
second (repair) call inside the LLM layer; the per-step budget counts it.
"""

from __future__ import annotations

import json
import logging
import math
import re
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from workbench.errors import BudgetExceeded
from workbench.optimizers.llambo import prompts
from workbench.optimizers.llambo.prompts import Observation, best_score
from workbench.optimizers.llambo.rank import density_ratio, nearest_distance
from workbench.optimizers.llambo.serialize import answer_schemas, check_row, clip_row, config_text

__all__ = ["Engine", "Stats", "expected_improvement"]

log = logging.getLogger(__name__)

NEAR_COPY = 0.03  # mean unit-scale distance under which a row is a near-copy of an observed one
PLATEAU = 3  # observations sharing the best score that make a plateau (explore, not exploit)


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
    clipped: int = 0
    fallbacks: int = 0
    failed_streak: int = 0
    gave_up_slots: int = 0
    warm_start: int = 0
    llm_proposals: int = 0
    tpe_proposals: int = 0
    llm_steps: int = 0
    max_step_calls: int = 0
    surrogate_calls: int = 0
    plateau_steps: int = 0

    def to_dict(self) -> dict[str, int]:
        """JSON form."""
        return asdict(self)


@dataclass
class StepLog:
    """What one propose step spent and rejected (goes into the candidates' meta)."""

    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    rejected: list[str] = field(default_factory=list)
    outside: list[Any] = field(default_factory=list)

    @property
    def tokens(self) -> int:
        """Prompt + completion tokens of the step."""
        return self.prompt_tokens + self.completion_tokens


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


_ROW = re.compile(r"\[[^\[\]]*\]")


def salvage(raw: str | None) -> Any:
    """What can be read from an answer the schema rejected (e.g. cut off at max_tokens)."""
    try:
        return json.loads(raw or "")
    except (TypeError, ValueError):
        pass
    rows = []
    for match in _ROW.findall(raw or ""):
        try:
            rows.append(json.loads(match))
        except ValueError:
            continue
    return {"configs": rows} if rows else None


def row_tokens(space: dict[str, Any]) -> int:
    """A generous estimate of the tokens of one answer row (digits are single tokens)."""
    total = 2
    for spec in space.values():
        if spec.type == "categorical":
            total += 2 + max(len(json.dumps(c)) for c in spec.choices) // 2
        elif spec.type == "int":
            total += 2 + len(str(int(spec.high)))
        else:
            total += 10
    return total


class Engine:
    """LLM proposals over one search space.

    Args:
        client: returns the run's `LLMClient` (opened lazily).
        space: parameter specs by name.
        context: the task description shown to the model.
        metric, direction: the objective.
        stats: the run's counters (updated in place).
        max_calls: LLM calls allowed per step (repair calls included).
        n_candidates: rows asked per sampler call.
        n_samples: LLM surrogate samples (calls) per step; 0 ranks by TPE's density ratio.
        alpha: target = best + alpha * observed range (towards better).
        max_tokens: completion cap per call; None: from the space and `n_candidates`.
        clip_outside: clamp rows still outside the space after the re-ask, instead of leaving
            the slot to TPE (off by default: the clamped rows sit on the bounds).
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
        n_candidates: int = 4,
        n_samples: int = 0,
        alpha: float = 0.1,
        max_tokens: int | None = None,
        clip_outside: bool = False,
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
        self.clip_outside = clip_outside
        self.row_tokens = row_tokens(space)

    def _tokens_for(self, k: int) -> int:
        return self.max_tokens or 24 + k * (self.row_tokens + 3)

    # -- calls -------------------------------------------------------------------------------
    def _room(self, step: StepLog) -> bool:
        """Whether a structured call fits the step's budget even if it needs a repair call."""
        return step.calls + 2 <= self.max_calls

    def _call(
        self, messages: list[dict], schema: Any, step: StepLog, max_tokens: int, **kw: Any
    ) -> tuple[Any | None, str]:
        """One structured call: (the parsed JSON or None, the raw answer); failures counted."""
        try:
            result = self.client().structured(messages, schema, max_tokens=max_tokens, **kw)
        except BudgetExceeded:
            raise
        except Exception as exc:  # a failed request must not crash the study
            step.calls += 1
            self.stats.llm_calls += 1
            self.stats.call_errors += 1
            log.warning("LLAMBO call failed: %s: %s", type(exc).__name__, exc)
            return None, ""
        calls = 1 + (int(result.parse_failures) > 0)  # the layer's repair call
        step.calls += calls
        self.stats.llm_calls += calls
        step.prompt_tokens += int(result.prompt_tokens)
        step.completion_tokens += int(result.completion_tokens)
        self.stats.prompt_tokens += int(result.prompt_tokens)
        self.stats.completion_tokens += int(result.completion_tokens)
        if result.ok:
            return result.value.model_dump(mode="json"), result.raw or ""
        self.stats.parse_failures += 1
        return salvage(result.raw), result.raw or ""

    def _configs(
        self, answer: Any, seen: set[str], step: StepLog, out: list[dict[str, Any]]
    ) -> None:
        """Append the valid, unseen configurations of `answer` to `out` (and their keys)."""
        items = answer.get("configs") if isinstance(answer, dict) else None
        if not isinstance(items, list):
            return
        for item in items:
            config, why = check_row(item, self.space)
            if config is None:
                self.stats.rejected_outside += 1
                step.outside.append(item)
                step.rejected.append(f"{json.dumps(item)[:120]}: outside the space ({why})")
                continue
            key = config_text(config, self.space)
            if key in seen:
                self.stats.rejected_duplicate += 1
                step.rejected.append(f"{json.dumps(item)[:120]}: already evaluated or proposed")
                continue
            seen.add(key)
            out.append(config)

    def _ask(
        self,
        messages: list[dict],
        k: int,
        m: int,
        seen: set[str],
        seed: int,
        step: StepLog,
        temperature: float,
    ) -> list[dict[str, Any]]:
        """Ask for `k` rows; re-ask once (same conversation) while fewer than `m` are usable.

        Rows outside the space are rejected and shown in the re-ask; if the answers still hold
        fewer than `m` usable rows and `clip_outside` is on, the rejected ones are clamped into
        the space (counted as `clipped`) before the caller falls back to TPE.
        """
        out: list[dict[str, Any]] = []
        schema, _ = answer_schemas(self.space, max_configs=k)
        for attempt in range(2):
            if not self._room(step):
                break
            if attempt:
                self.stats.reasks += 1
            shown = len(step.rejected)
            answer, raw = self._call(
                messages, schema, step, self._tokens_for(k), temperature=temperature, seed=seed
            )
            self._configs(answer, seen, step, out)
            if len(out) >= m:
                break
            messages = prompts.reask_messages(messages, raw, step.rejected[shown:], k)
            seed += 7919
        for item in step.outside if self.clip_outside else ():  # still short: clamp its rows
            if len(out) >= m:
                break
            config = clip_row(item, self.space)
            key = config_text(config, self.space) if config is not None else None
            if key is not None and key not in seen:
                seen.add(key)
                out.append(config)
                self.stats.clipped += 1
        step.outside.clear()
        return out

    # -- public ------------------------------------------------------------------------------
    def warm_start(self, k: int, seen: set[str], seed: int, step: StepLog) -> list[dict]:
        """Zero-shot initial configurations (up to `k`; one re-ask if too few are valid)."""
        messages = prompts.warm_start_messages(*self.head, k)
        out = self._ask(messages, k, k, seen, seed, step, temperature=0.7)[:k]
        self.stats.warm_start += len(out)
        return out

    def target(self, observations: list[Observation]) -> float:
        """The score the sampler aims at: beyond the best by alpha * observed range."""
        scores = [o.score for o in observations]
        spread = (max(scores) - min(scores)) or abs(max(scores)) * 0.1 or 0.1
        sign = 1.0 if self.direction == "maximize" else -1.0
        return best_score(observations, self.direction) + sign * self.alpha * spread

    def propose(
        self, observations: list[Observation], seen: set[str], m: int, seed: int, step: StepLog
    ) -> list[dict[str, Any]]:
        """Up to `m` configurations: rows sampled towards a target, the best `m` by the ranker."""
        self.stats.llm_steps += 1
        k = max(self.n_candidates, m)
        tied = self.tied(observations)
        plateau = tied >= PLATEAU
        if plateau:
            self.stats.plateau_steps += 1
        messages = prompts.candidate_messages(
            *self.head, observations, k, self.target(observations), tied if plateau else 0
        )
        pool = self._ask(messages, k, m, seen, seed, step, temperature=0.8)
        if len(pool) > m:
            if plateau:  # no trend to rank by: the rows farthest from every observation first
                far = [nearest_distance(c, observations, self.space) for c in pool]
                pool = [pool[j] for j in sorted(range(len(pool)), key=lambda j: -far[j])]
            else:
                pool = self.rank(observations, pool, seed, step)
        return pool[:m]

    def tied(self, observations: list[Observation]) -> int:
        """How many observations share the best score (a plateau when >= `PLATEAU`).

        Degenerate models plateau: e.g. on rf-digits every tree with min_impurity_decrease
        above ~0.1 is a stump scoring chance accuracy, and such rows all score the same. A
        model shown them copies them, and a density ratio ranks noise.
        """
        best = best_score(observations, self.direction)
        tol = 1e-9 * max(1.0, abs(best))
        return sum(1 for o in observations if abs(o.score - best) <= tol)

    def rank(
        self,
        observations: list[Observation],
        pool: list[dict[str, Any]],
        seed: int,
        step: StepLog,
    ) -> list[dict[str, Any]]:
        """`pool`, best first: by LLM-surrogate EI when `n_samples`, else TPE's density ratio
        (near-copies of observed rows last)."""
        samples = self._predictions(observations, pool, seed, step) if self.n_samples else None
        if not samples or not any(samples):
            ratio = density_ratio(observations, pool, self.space, self.direction)
            # a near-copy of an observed row (the small models' habit) goes last: it would
            # spend an evaluation to learn almost nothing
            near = [nearest_distance(c, observations, self.space) < NEAR_COPY for c in pool]
            order = sorted(range(len(pool)), key=lambda j: (near[j], -ratio[j]))
            return [pool[j] for j in order]
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

    def _predictions(
        self, observations: list[Observation], pool: list[dict[str, Any]], seed: int, step: StepLog
    ) -> list[list[float]]:
        """LLAMBO's discriminative surrogate: `n_samples` in-context regressions of the pool."""
        samples: list[list[float]] = [[] for _ in pool]
        messages = prompts.surrogate_messages(*self.head, observations, pool)
        _, schema = answer_schemas(self.space)
        for i in range(self.n_samples):
            if not self._room(step):
                break
            self.stats.surrogate_calls += 1
            answer, _ = self._call(
                messages, schema, step, 16 + 8 * len(pool), temperature=0.7, seed=seed + 101 * i
            )
            preds = answer.get("predictions") if isinstance(answer, dict) else None
            for j, value in enumerate(preds if isinstance(preds, list) else []):
                if j < len(pool) and isinstance(value, int | float) and math.isfinite(value):
                    samples[j].append(float(value))
        return samples
