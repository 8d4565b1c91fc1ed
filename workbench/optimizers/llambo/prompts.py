"""Every prompt LLAMBO sends, laid out append-only for llama-server's prompt cache.

The system message (task, metric, space, row format) never changes within a run; the user
message lists the observations as compact rows in trial order, so between two steps the prompt
only grows by the new rows, and the part that differs (best score, target, how many to propose)
comes last. llama-server (``cache_prompt``, its default) keeps the slot's KV cache for the
common prefix, so a step pays prompt processing for the new rows and the instruction only. A
re-ask continues the same conversation (the model's answer, then the rejections), which is
also a pure extension of the cached prompt.

Example:
    >>> from workbench.tasks.hpo import IntParam
    >>> space = {"depth": IntParam(type="int", low=1, high=9)}
    >>> obs = [Observation({"depth": 3}, 0.91234)]
    >>> candidate_messages("a tree", "acc", "maximize", space, obs, 2, 0.95)[1]["content"]
    ... # doctest: +NORMALIZE_WHITESPACE
    'Evaluated configurations in trial order (row -> acc):\\n[3] -> 0.9123\\n\\nThe best acc so
    far is 0.9123. Propose 2 new rows that you expect to reach acc = 0.95: use the rows above and
    what you know about good hyperparameters for this model. A row that copies or barely changes
    a row above wastes an evaluation. Every value must be inside its range: depth [1, 9]. Answer
    as {"configs": [2 rows]}.'
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from workbench.optimizers.llambo.serialize import config_row, describe_space, format_value

__all__ = [
    "PROMPT_VERSION",
    "Observation",
    "best_score",
    "candidate_messages",
    "reask_messages",
    "surrogate_messages",
    "warm_start_messages",
]

PROMPT_VERSION = "llambo-2026-11-28.7"


@dataclass
class Observation:
    """One evaluated configuration (canonical) and its score."""

    config: dict[str, Any]
    score: float


def best_score(observations: list[Observation], direction: str) -> float:
    """The best observed score (`direction`: "maximize" or "minimize")."""
    scores = [o.score for o in observations]
    return max(scores) if direction == "maximize" else min(scores)


def fmt_score(score: float) -> str:
    """Scores in prompts: 4 significant digits."""
    return f"{score:.4g}"


def _system(context: str, metric: str, direction: str, space: dict[str, Any]) -> str:
    goal = "higher is better" if direction == "maximize" else "lower is better"
    columns = ", ".join(space)
    return (
        "You are an expert in hyperparameter optimisation of machine-learning models.\n"
        f"Task: {context}\n"
        f"Metric: {metric} ({goal}).\n"
        f"Search space:\n{describe_space(space)}\n"
        f"A configuration is a row: a JSON array of its values in this order: [{columns}].\n"
        "Answer with JSON only."
    )


def _ranges(space: dict[str, Any]) -> str:
    """The ranges again, compactly, next to the question (small models forget the system's)."""
    parts = []
    for name, spec in space.items():
        if spec.type == "categorical":
            parts.append(f"{name} one of {json.dumps(spec.choices)}")
        else:
            lo, hi = (format_value(v, spec) for v in (spec.low, spec.high))
            parts.append(f"{name} [{lo}, {hi}]")
    return "; ".join(parts)


def _history(observations: list[Observation], space: dict[str, Any], metric: str) -> str:
    if not observations:
        return "No configuration has been evaluated yet."
    lines = [f"{config_row(o.config, space)} -> {fmt_score(o.score)}" for o in observations]
    return f"Evaluated configurations in trial order (row -> {metric}):\n" + "\n".join(lines)


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
        f"Propose {k} diverse rows to start a Bayesian optimisation, each one a configuration "
        "you expect to perform well on this task given what you know about the model and the "
        "data. Keep every value inside its range; for log-scale parameters think in orders of "
        f'magnitude. Answer as {{"configs": [{k} rows]}}.'
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
    tied: int = 0,
) -> list[dict[str, str]]:
    """Candidate sampler: `k` new configurations aimed at the score `target`.

    With `tied` > 0 (that many rows share the best score: a plateau, see `Engine.tied`) there
    is no trend to follow, so the model is asked to leave the plateau instead.
    """
    best = best_score(observations, direction)
    if tied:
        better = "higher" if direction == "maximize" else "lower"
        aim = (
            f"{tied} rows above share the best {metric}, {fmt_score(best)}: the search is stuck "
            f"on a plateau, and rows near them score the same. Propose {k} new rows unlike "
            "those rows (change several values a lot), chosen with what you know about good "
            f"hyperparameters for this model, that you expect to score {better} than "
            f"{fmt_score(best)}."
        )
    else:
        aim = (
            f"The best {metric} so far is {fmt_score(best)}. Propose {k} new rows that you "
            f"expect to reach {metric} = {fmt_score(target)}: use the rows above and what you "
            "know about good hyperparameters for this model. A row that copies or barely "
            "changes a row above wastes an evaluation."
        )
    ask = (
        f"{aim} Every value must be inside its range: {_ranges(space)}. "
        f'Answer as {{"configs": [{k} rows]}}.'
    )
    head = (context, metric, direction, space)
    return _messages(head, _history(observations, space, metric), ask)


def reask_messages(
    messages: list[dict[str, str]], answer: str, rejected: list[str], k: int
) -> list[dict[str, str]]:
    """The same conversation, continued: the model's answer, why rows were rejected, ask again."""
    why = "\n".join(f"- {r}" for r in rejected[:6]) or "- no valid row"
    ask = (
        f"These rows were rejected:\n{why}\nPropose {k} other new rows, inside the ranges and "
        f'different from every row above. Answer as {{"configs": [{k} rows]}}.'
    )
    return [
        *messages,
        {"role": "assistant", "content": answer or "{}"},
        {"role": "user", "content": ask},
    ]


def surrogate_messages(
    context: str,
    metric: str,
    direction: str,
    space: dict[str, Any],
    observations: list[Observation],
    candidates: list[dict[str, Any]],
) -> list[dict[str, str]]:
    """Discriminative surrogate: predict the score of each candidate (in-context regression)."""
    listed = "\n".join(f"{i + 1}. {config_row(c, space)}" for i, c in enumerate(candidates))
    ask = (
        f"Predict the {metric} of each of these {len(candidates)} new rows, "
        f"from the evaluated ones above:\n{listed}\n"
        f'Answer as {{"predictions": [{len(candidates)} numbers, in this order]}}.'
    )
    head = (context, metric, direction, space)
    return _messages(head, _history(observations, space, metric), ask)
