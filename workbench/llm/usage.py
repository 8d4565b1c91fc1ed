"""Usage, budgets, call records and the price table."""

from __future__ import annotations

import threading
import time
from dataclasses import asdict, dataclass, field
from typing import Any

from workbench.errors import BudgetExceeded, PartBudgetExceeded

__all__ = ["PRICES", "Budget", "CallRecord", "PartBudget", "Usage", "price_for"]

# $ per 1k tokens. Local and self-hosted models cost nothing; unknown hosted models cost 0 with a
# price override available through `LLMConfig.prices`.
PRICES: dict[str, dict[str, float]] = {
    "gpt-4o": {"prompt": 0.0025, "completion": 0.01},
    "gpt-4o-mini": {"prompt": 0.00015, "completion": 0.0006},
    "gpt-4.1": {"prompt": 0.002, "completion": 0.008},
    "gpt-4.1-mini": {"prompt": 0.0004, "completion": 0.0016},
    "gpt-4.1-nano": {"prompt": 0.0001, "completion": 0.0004},
    "o4-mini": {"prompt": 0.0011, "completion": 0.0044},
}


def price_for(model: str, override: dict[str, float] | None = None) -> dict[str, float]:
    """Prices for `model` ($/1k tokens): the override, else the table, else zero."""
    if override is not None:
        return {
            "prompt": override.get("prompt", 0.0),
            "completion": override.get("completion", 0.0),
        }
    name = model.split(":", 1)[1] if model.startswith("openai:") else model
    return PRICES.get(name, {"prompt": 0.0, "completion": 0.0})


TEXT_LIMIT = 20_000  # characters of each answer a CallRecord keeps


@dataclass
class CallRecord:
    """One call, cache hits included; `to_dict()` is JSON.

    `texts` holds the model's answers (one per sample; a structured call's last raw answer),
    each cut at `TEXT_LIMIT` characters, so that a run's event log shows what the model said.
    """

    kind: str
    model: str
    prompt_tokens: int
    completion_tokens: int
    cached: bool
    latency_s: float
    cost: float
    parse_failed: bool = False
    error: str | None = None
    cached_prompt_tokens: int = 0
    texts: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Usage:
    """Running totals over calls (thread-safe `add`)."""

    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cache_hits: int = 0
    cached_prompt_tokens: int = 0  # prompt tokens a server answered from its KV cache
    parse_failures: int = 0
    errors: int = 0
    cost: float = 0.0
    latency_s: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    @property
    def tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def add(self, record: CallRecord, parse_failures: int | None = None) -> None:
        """Count one call; `parse_failures` defaults to ``int(record.parse_failed)``."""
        with self._lock:
            self.calls += 1
            self.prompt_tokens += record.prompt_tokens
            self.completion_tokens += record.completion_tokens
            self.cache_hits += int(record.cached)
            self.cached_prompt_tokens += record.cached_prompt_tokens
            fails = int(record.parse_failed) if parse_failures is None else parse_failures
            self.parse_failures += fails
            self.errors += int(record.error is not None)
            self.cost += record.cost
            self.latency_s += record.latency_s

    def to_dict(self) -> dict[str, Any]:
        names = (
            "calls",
            "prompt_tokens",
            "completion_tokens",
            "cache_hits",
            "cached_prompt_tokens",
            "parse_failures",
            "errors",
            "cost",
            "latency_s",
        )
        data: dict[str, Any] = {name: getattr(self, name) for name in names}
        data["tokens"] = self.tokens
        return data


@dataclass
class Budget:
    """Limits shared by everything in a run; ``None`` means unlimited.

    Only calls that reached a model count: a cache hit costs no call, no token and no money.
    `check()` runs before each call and raises `BudgetExceeded` once a limit is reached.

    Example:
        >>> b = Budget(calls=1)
        >>> b.charge(CallRecord("chat", "m", 3, 4, False, 0.1, 0.0))
        >>> b.check()
        Traceback (most recent call last):
        ...
        workbench.errors.BudgetExceeded: budget 'llm_calls' exhausted: used 1 of 1
    """

    calls: int | None = None
    tokens: int | None = None
    cost: float | None = None
    wall_time_s: float | None = None
    spent: Usage = field(default_factory=Usage)
    started_at: float = field(default_factory=time.monotonic)
    _in_flight: int = field(default=0, repr=False, compare=False)
    _gate: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def check(self, in_flight: int = 0) -> None:
        """Raise `BudgetExceeded` when any limit is already reached.

        Args:
            in_flight: Calls started but not yet charged, counted against the call limit.
        """
        spent = self.spent
        used = spent.calls - spent.cache_hits
        if self.calls is not None and used + in_flight >= self.calls:
            raise BudgetExceeded("llm_calls", used, self.calls)
        if self.tokens is not None and spent.tokens >= self.tokens:
            raise BudgetExceeded("llm_tokens", spent.tokens, self.tokens)
        if self.cost is not None and spent.cost >= self.cost:
            raise BudgetExceeded("llm_cost", spent.cost, self.cost)
        elapsed = time.monotonic() - self.started_at
        if self.wall_time_s is not None and elapsed >= self.wall_time_s:
            raise BudgetExceeded("wall_time_s", round(elapsed, 3), self.wall_time_s)

    def charge(self, record: CallRecord) -> None:
        """Count a finished call (cache hits carry zero tokens and cost)."""
        self.spent.add(record)

    def reserve(self) -> None:
        """Check the limits and hold one call: concurrent callers cannot overshoot `calls`.

        Every `reserve` is followed by one `settle` (with the call's record, or None when
        nothing reached a model). A held call that turns out to be a cache hit is released
        uncharged; until then it counts, so a race at the limit can only stop a call early.

        Raises:
            BudgetExceeded: a limit is reached, counting calls still in flight.
        """
        with self._gate:
            self.check(self._in_flight)
            self._in_flight += 1

    def settle(self, record: CallRecord | None) -> None:
        """Charge a reserved call's record (if any) and release its hold, in one step."""
        with self._gate:
            if record is not None:
                self.spent.add(record)
            self._in_flight = max(self._in_flight - 1, 0)

    def to_dict(self) -> dict[str, Any]:
        return {
            "calls": self.calls,
            "tokens": self.tokens,
            "cost": self.cost,
            "wall_time_s": self.wall_time_s,
            "spent": self.spent.to_dict(),
        }


@dataclass
class PartBudget(Budget):
    """One part's own limits inside a shared budget (an agent's model calls within the run's).

    A call is held and charged in both; at the part's own limit `PartBudgetExceeded` (naming
    `part`) is raised, so the part stops and the run goes on; at the parent's, the parent's
    `BudgetExceeded` ends the run as usual.

    Example:
        >>> run = Budget(calls=10)
        >>> coder = PartBudget(calls=1, parent=run, part="coder")
        >>> coder.charge(CallRecord("chat", "m", 3, 4, False, 0.1, 0.0))
        >>> run.spent.calls
        1
        >>> coder.check()
        Traceback (most recent call last):
        ...
        workbench.errors.PartBudgetExceeded: coder: budget 'llm_calls' exhausted: used 1 of 1
    """

    parent: Budget | None = None
    part: str = ""

    def _own(self, in_flight: int = 0) -> None:
        try:
            Budget.check(self, in_flight)
        except BudgetExceeded as exc:
            raise PartBudgetExceeded(self.part, exc.limit, exc.used, exc.allowed) from None

    def check(self, in_flight: int = 0) -> None:
        """The part's limits (`PartBudgetExceeded`), then the parent's (`BudgetExceeded`)."""
        self._own(in_flight)
        if self.parent is not None:
            self.parent.check()

    def reserve(self) -> None:
        """Hold one call in the part and in the parent (released from both on failure)."""
        with self._gate:
            self._own(self._in_flight)
            self._in_flight += 1
        if self.parent is None:
            return
        try:
            self.parent.reserve()
        except BaseException:
            with self._gate:
                self._in_flight -= 1
            raise

    def settle(self, record: CallRecord | None) -> None:
        """Charge and release in the part and in the parent."""
        Budget.settle(self, record)
        if self.parent is not None:
            self.parent.settle(record)

    def charge(self, record: CallRecord) -> None:
        """Charge the part and the parent."""
        Budget.charge(self, record)
        if self.parent is not None:
            self.parent.charge(record)
