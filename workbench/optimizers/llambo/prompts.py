"""Every prompt LLAMBO sends. Prefix sharing: the system message (task, space, metric) and the
history (observations in trial order) come first and are identical across the calls of a step
and grow only at the end between steps, so llama-server reuses their KV cache; the part that
differs (the instruction, the candidates) comes last.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from workbench.optimizers.llambo.serialize import config_text, describe_space

__all__ = [
    "PROMPT_VERSION",
    "Observation",
    "candidate_messages",
    "surrogate_messages",
    "warm_start_messages",
]

PROMPT_VERSION = "llambo-2026-11-28.2"


@dataclass
class Observation:
    """One evaluated configuration (canonical) and its score."""

    config: dict[str, Any]
    score: float


def _fmt(score: float) -> str:
    return f"{score:.6g}"


def _system(context: str, metric: str, direction: str, space: dict[str, Any]) -> str:
    goal = "higher is better" if direction == "maximize" else "lower is better"
    return (
        "You are an expert in hyperparameter optimisation of machine-learning models.\n"
        f"Task: {context}\n"
        f"Metric: {metric} ({goal}).\n"
        f"Search space:\n{describe_space(space)}\n"
        "Answer with JSON only."
    )


def _history(observations: list[Observation], space: dict[str, Any], metric: str) -> str:
    if not observations:
        return "No configuration has been evaluated yet."
    lines = [f"{config_text(o.config, space)} -> {metric} = {_fmt(o.score)}" for o in observations]
    return "Evaluated configurations, in order:\n" + "\n".join(lines)


def _messages(head: tuple[str, str, str, dict[str, Any]], history: str, ask: str) -> list[dict]:
    context, metric, direction, space = head
    return [
        {"role": "system", "content": _system(context, metric, direction, space)},
        {"role": "user", "content": f"{history}\n\n{ask}"},
    ]


def warm_start_messages(
    context: str, metric: str, direction: str, space: dict[str, Any], k: int
) -> list[dict[str, str]]:
    """Zero-shot warm start: `k` diverse, promising initial configurations."""
    ask = (
        f"Propose {k} diverse configurations to start a Bayesian optimisation, each one a "
        "configuration you expect to perform well on this task given what you know about the "
        "model and the data. Use the exact parameter names; keep every value inside its range; "
        "for log-scale parameters think in orders of magnitude. "
        f'Answer as {{"configs": [ ...{k} objects... ]}}.'
    )
    return _messages((context, metric, direction, space), _history([], space, metric), ask)


def candidate_messages(
    context: str,
    metric: str,
    direction: str,
    space: dict[str, Any],
    observations: list[Observation],
    k: int,
    target: float,
    rejected: list[str] = (),  # type: ignore[assignment]
) -> list[dict[str, str]]:
    """Candidate sampler: `k` new configurations aimed at the score `target`."""
    best = max(o.score for o in observations) if direction == "maximize" else None
    if best is None:
        best = min(o.score for o in observations)
    ask = (
        f"The best {metric} so far is {_fmt(best)}. Propose {k} new configurations that you "
        f"expect to reach {metric} = {_fmt(target)}. Each must differ from every configuration "
        "above in at least two parameters (copies are rejected). Do not repeat the bounds of "
        "the ranges or round values; give full precision. "
        f'Answer as {{"configs": [ ...{k} objects... ]}}.'
    )
    if rejected:
        ask += "\nThese earlier proposals were rejected, do not repeat them:\n" + "\n".join(
            f"- {r}" for r in rejected[:8]
        )
    head = (context, metric, direction, space)
    return _messages(head, _history(observations, space, metric), ask)


def surrogate_messages(
    context: str,
    metric: str,
    direction: str,
    space: dict[str, Any],
    observations: list[Observation],
    candidates: list[dict[str, Any]],
) -> list[dict[str, str]]:
    """Discriminative surrogate: predict the score of each candidate (in-context regression)."""
    listed = "\n".join(f"{i + 1}. {config_text(c, space)}" for i, c in enumerate(candidates))
    ask = (
        f"Predict the {metric} of each of these {len(candidates)} new configurations, "
        f"from the evaluated ones above:\n{listed}\n"
        f'Answer as {{"predictions": [{len(candidates)} numbers, in this order]}}.'
    )
    head = (context, metric, direction, space)
    return _messages(head, _history(observations, space, metric), ask)
