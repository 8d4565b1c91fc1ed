"""The loop's contracts: what is proposed (`Candidate`), what a run showed (`Evaluation`), a score.

Plain dataclasses inside the loop, JSON on disk: every class here round-trips through
``to_dict()`` / ``from_dict()`` with nothing but JSON types (STYLE: no pickle anywhere).

Example:
    >>> c = Candidate(id="c1", payload={"params": {"lr": 0.1}})
    >>> Candidate.from_dict(c.to_dict()) == c
    True
    >>> e = Evaluation(candidate_id="c1", status="ok", scores={"acc": 0.9}, primary="acc")
    >>> e.score
    0.9
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields
from typing import Any, Literal

__all__ = [
    "OUTPUT_CAP",
    "Candidate",
    "Direction",
    "Evaluation",
    "Score",
    "Status",
    "better",
]

Status = Literal["ok", "failed", "timeout", "oom", "error"]
Direction = Literal["maximize", "minimize"]
STATUSES: tuple[str, ...] = ("ok", "failed", "timeout", "oom", "error")
OUTPUT_CAP = 8_000
"""Characters of program output an Evaluation keeps (head and tail)."""


def _known(cls: type, data: dict[str, Any]) -> dict[str, Any]:
    names = {f.name for f in fields(cls)}
    return {k: v for k, v in data.items() if k in names}


def better(a: float, b: float | None, direction: str) -> bool:
    """True when score `a` is strictly better than `b` (None is worse than anything)."""
    if b is None or math.isnan(b):
        return not math.isnan(a)
    if math.isnan(a):
        return False
    return a > b if direction == "maximize" else a < b


def cap_output(text: str, limit: int = OUTPUT_CAP) -> str:
    """Keep the head and the tail of `text` when it is longer than `limit` characters.

    The result is never longer than `limit`, so capping twice changes nothing.
    """
    if len(text) <= limit:
        return text
    cut = f"\n… [{len(text)} characters, middle cut] …\n"
    half = (limit - len(cut)) // 2
    return text[:half] + cut + text[len(text) - half :]


@dataclass
class Candidate:
    """One proposal: parameter values, code files or a prompt, as JSON.

    Attributes:
        id: unique within a run.
        payload: what the task evaluates, e.g. ``{"params": {...}}`` or ``{"files": {...}}``.
        parent_ids: candidates this one was derived from.
        meta: optimizer bookkeeping (trial number, LLM rationale, ...).
    """

    id: str
    payload: dict[str, Any]
    parent_ids: list[str] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Candidate:
        """Inverse of `to_dict` (unknown keys are ignored)."""
        return cls(**_known(cls, data))


@dataclass
class Score:
    """A named score and the direction in which it gets better."""

    name: str
    value: float
    direction: Direction = "maximize"

    def beats(self, other: Score | None) -> bool:
        """True when this score is strictly better than `other`."""
        return better(self.value, None if other is None else other.value, self.direction)


@dataclass
class Evaluation:
    """What evaluating one candidate showed.

    Attributes:
        candidate_id: the candidate evaluated.
        status: "ok", "failed" (ran, but tests failed or no score), "timeout", "oom", "error".
        scores: named numbers; `primary` names the one the loop optimizes.
        direction: whether larger or smaller `primary` is better.
        tests: per-test results, each ``{"name", "passed", "message"}``.
        output: program output, capped (see `cap_output`).
        timings: seconds, e.g. ``{"eval_s": 0.2}``.
        feedback: short text for the optimizer.
        stage: for kinds that judge in stages (``mpi``: ``contract``, ``build``, ``smoke``,
            ``run``, ``correctness``, ``speed``), the first stage the candidate failed; None
            when it passed them all or the kind has no stages. Routing rules read it.
    """

    candidate_id: str
    status: Status
    scores: dict[str, float] = field(default_factory=dict)
    primary: str = "score"
    direction: Direction = "maximize"
    tests: list[dict[str, Any]] = field(default_factory=list)
    output: str = ""
    timings: dict[str, float] = field(default_factory=dict)
    feedback: str = ""
    stage: str | None = None

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"Evaluation.status must be one of {STATUSES}, got {self.status!r}")
        self.output = cap_output(self.output)

    @property
    def score(self) -> float | None:
        """The primary score, or None when the evaluation did not produce one."""
        value = self.scores.get(self.primary)
        if self.status != "ok" or value is None or math.isnan(value):
            return None
        return float(value)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Evaluation:
        """Inverse of `to_dict` (unknown keys are ignored)."""
        return cls(**_known(cls, data))
