"""`Optimizer`: proposes candidates, observes their evaluations, and saves a JSON state.

Every optimizer (Optuna's samplers, OptoPrime, LLAMBO, FunCoder, PG-TD, the prompt optimizers)
implements this base and plugs into the one loop in `workbench.agents`. What an optimizer needs
from the run (the task, the seed, the run folder, an LLM client with the run's budget and event
hook) comes in a `workbench.tasks.RunContext`.

Example:
    >>> opt = FunctionOptimizer(lambda n, seen: [{"x": len(seen) + i} for i in range(n)])
    >>> [c.payload for c in opt.propose(2)]
    [{'x': 0}, {'x': 1}]
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any, ClassVar, Protocol, runtime_checkable

from pydantic import ValidationError

from workbench.contracts import Candidate, Evaluation
from workbench.errors import ConfigError
from workbench.tasks.base import RunContext

__all__ = ["FunctionOptimizer", "Optimizer", "RoutedOptimizer", "RunContext", "SettingsError"]


class SettingsError(ConfigError):
    """Bad `optimizer:` values; `problems` lists (field path in the task file, message)."""

    def __init__(self, problems: list[tuple[tuple[Any, ...], str]]) -> None:
        self.problems = problems
        super().__init__("; ".join(f"{'.'.join(map(str, loc))}: {msg}" for loc, msg in problems))

    @classmethod
    def from_validation(
        cls, exc: ValidationError, at: tuple[Any, ...] = ("optimizer", "settings")
    ) -> SettingsError:
        """The problems of a settings model's `ValidationError`, each located under `at`."""
        problems = []
        for e in exc.errors(include_url=False):
            msg = str(e["msg"]).removeprefix("Value error, ")
            if e["type"] == "extra_forbidden":
                msg = "unknown key"
            elif "input" in e:
                msg += f" (got {e['input']!r})"
            problems.append(((*at, *e["loc"]), msg))
        return cls(problems)


@runtime_checkable
class RoutedOptimizer(Protocol):
    """An optimizer made of agents (`workbench.optimizers.team.Team`): the loop gives each
    agent a node of its own and asks which one proposes next."""

    def agent_names(self) -> list[str]:
        """The agents, in order."""
        ...

    def next_agent(self) -> str | None:
        """The agent that proposes next (None: every agent is exhausted)."""
        ...

    def propose_as(self, agent: str, n: int) -> list[Candidate]:
        """Up to `n` candidates from `agent` (another agent's when it fails or is exhausted)."""
        ...


class Optimizer(ABC):
    """Base of every optimizer. Three abstract methods; `load_state` and `close` have defaults.

    Contract: `propose(n)` returns at most `n` new candidates with run-unique ids; `observe`
    receives one evaluation per proposed candidate and must be idempotent per candidate id (a
    step re-run after a crash may observe again); `state()` is JSON from which `load_state`
    restores the optimizer in a fresh process.
    """

    name: ClassVar[str] = "optimizer"

    @abstractmethod
    def propose(self, n: int) -> list[Candidate]:
        """Up to `n` new candidates to evaluate (all of them may run at once)."""

    @abstractmethod
    def observe(self, evaluations: list[Evaluation]) -> None:
        """Learn from the evaluations of proposed candidates."""

    @abstractmethod
    def state(self) -> dict[str, Any]:
        """A JSON state enough to resume (see `load_state`)."""

    def load_state(self, state: dict[str, Any]) -> None:
        """Restore from `state()`; the default refuses, naming the class."""
        raise NotImplementedError(f"{type(self).__name__} cannot resume from a saved state")

    def rejected(self, candidate_id: str, reason: str) -> None:
        """A candidate it proposed was dropped before any evaluation (an agent proposing a
        parameter it does not own, say), and why; it will never be observed. Default: nothing;
        an optimizer that learns from feedback takes the reason as feedback."""
        return None

    def plan(self) -> dict[str, Any] | None:
        """What the run will spend, known before it starts; None when there is nothing to say.

        ``workbench optimize`` and ``workbench validate`` print it before anything runs, and
        the run writes it to the event log (a ``plan`` event, at the start) and to
        summary.json (``plan``, asked again at the end so it may carry refinements learnt
        during the run). JSON; the key ``summary`` (one line for people) is printed as is,
        numeric keys such as ``task_calls`` / ``optimizer_calls`` are projections.
        """
        return None

    def final_candidate(self, best: Candidate | None) -> Candidate | None:
        """The run's result, given the loop's best candidate (default: that one).

        An optimizer whose result is not simply the top validation score (e.g. a prompt built
        by a heuristic after the search) returns it here; the run passes it to
        `Task.finalize`.
        """
        return best

    def close(self) -> None:
        """Release resources (storages, clients). Default: nothing."""
        return None


class FunctionOptimizer(Optimizer):
    """A test double: `fn(n, seen)` returns `n` payloads, `seen` is every evaluation so far.

    Args:
        fn: the proposal function.
        prefix: the id prefix of the candidates (ids are ``<prefix><counter>``).
    """

    name = "function"

    def __init__(
        self, fn: Callable[[int, list[Evaluation]], list[dict[str, Any]]], prefix: str = "f"
    ) -> None:
        self.fn = fn
        self.prefix = prefix
        self.count = 0
        self.seen: dict[str, Evaluation] = {}

    def propose(self, n: int) -> list[Candidate]:
        """Ask `fn` for `n` payloads."""
        out = []
        for payload in self.fn(n, list(self.seen.values()))[:n]:
            out.append(Candidate(id=f"{self.prefix}{self.count:05d}", payload=payload))
            self.count += 1
        return out

    def observe(self, evaluations: list[Evaluation]) -> None:
        """Remember the evaluations (idempotent by candidate id)."""
        for e in evaluations:
            self.seen[e.candidate_id] = e

    def state(self) -> dict[str, Any]:
        """Counter and seen evaluations."""
        return {"count": self.count, "seen": [e.to_dict() for e in self.seen.values()]}

    def load_state(self, state: dict[str, Any]) -> None:
        """Inverse of `state`."""
        self.count = int(state.get("count", 0))
        evals = [Evaluation.from_dict(d) for d in state.get("seen", [])]
        self.seen = {e.candidate_id: e for e in evals}
