"""`Task`: turns a `Candidate` into an `Evaluation`; one subclass per task kind.

Each kind is a `Kind(name, section_model, factory)` named in one table, `KINDS`: the task
file's section named after the kind is validated by `section_model`, and `factory(task_file)`
builds the `Task`. A run imports the kind it uses, not every kind.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from pydantic import BaseModel

import workbench.llm
from workbench._imports import import_object
from workbench.contracts import Candidate, Direction, Evaluation
from workbench.errors import ConfigError
from workbench.llm import Budget, CallRecord, LLMClient, LLMConfig
from workbench.sandbox import Sandbox, SandboxConfig
from workbench.trace import ParameterNode

if TYPE_CHECKING:
    from workbench.tasks.code.problem import CodeProblem
    from workbench.tasks.schema import TaskFile

__all__ = [
    "Kind",
    "ProvidesPublicProblem",
    "ProvidesSandboxConfig",
    "ProvidesTraceParameters",
    "RunContext",
    "Task",
    "get_kind",
    "kind_names",
    "register_kind",
]


@dataclass
class RunContext:
    """What a run hands an optimizer (an agent) or a task: one typed context for both.

    A run makes two: the optimizer's (its `task`, the task file's model as `llm_config`, model
    calls logged with ``role: optimizer``) and the task's (model calls with ``role: task``).
    Both share the run's `budget` and its sandbox.

    Attributes:
        task: the task being optimized (an optimizer reads its space, direction, description
            and the capabilities below), or None.
        seed: the run's seed (optimizers own their RNG, seeded from it).
        run_dir: the run folder (storages such as Optuna's SQLite file), or None outside a run
            (what would be stored there stays in memory).
        llm_config: the model `llm()` opens when not told otherwise: a `workbench.llm.LLMConfig`
            or model string (None: ``"local"``, the embedded model).
        budget: the run's shared `Budget` (every model call of the run counts), or None.
        on_call: called with every `CallRecord` of a model opened here (the run writes it to
            events.jsonl as an ``llm_call`` event).
        make_llm: builds the model client instead of `workbench.llm.open_llm`, called as
            ``make_llm(budget=..., on_call=...)`` (tests pass a `ScriptedLLM` this way).
        emit: writes an optimizer's own event (a dict with its own ``type``) to the run's event
            log, or None outside a run. Thread-safe.
        open_sandbox: returns the run's sandbox, opening it the first time; the run closes it,
            callers must not. None: no sandbox configured.
        extra: anything a caller passes along to its own task or optimizer.
    """

    task: Task | None = None
    seed: int | None = None
    run_dir: Path | None = None
    llm_config: LLMConfig | str | None = None
    budget: Budget | None = None
    on_call: Callable[[CallRecord], None] | None = None
    make_llm: Callable[..., LLMClient] | None = None
    emit: Callable[[dict[str, Any]], None] | None = None
    open_sandbox: Callable[[], Sandbox] | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    _stack: contextlib.ExitStack = field(default_factory=contextlib.ExitStack, repr=False)
    _clients: dict[str, LLMClient] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _children: list[RunContext] = field(default_factory=list, repr=False)

    def sandbox(self) -> Sandbox:
        """The run's sandbox."""
        if self.open_sandbox is None:
            raise ConfigError("this task needs a sandbox, but none was configured for the run")
        return self.open_sandbox()

    def llm(self, config: LLMConfig | str | None = None) -> LLMClient:
        """A model client on the run's budget, opened on first use and closed with `close`.

        Every call it makes is charged to `budget` and reported to `on_call`. One client per
        distinct model configuration.

        Args:
            config: a `LLMConfig` or model string; None: `llm_config`, else ``"local"``.
        """
        if config is None:
            config = self.llm_config if self.llm_config is not None else "local"
        key = json.dumps(
            config.model_dump(mode="json") if isinstance(config, BaseModel) else config,
            sort_keys=True,
            default=str,
        )
        with self._lock:
            if key not in self._clients:
                if self.make_llm is not None:
                    client = self.make_llm(budget=self.budget, on_call=self.on_call)
                else:
                    # through the module: a test or an embedding program may replace open_llm
                    cm = workbench.llm.open_llm(config, budget=self.budget, on_call=self.on_call)
                    client = self._stack.enter_context(cm)
                self._clients[key] = client
            return self._clients[key]

    def child(self, **changes: Any) -> RunContext:
        """A context for a part of the run (an agent): this one with `changes`, its own model
        clients (so that its calls reach its own `on_call`), closed with this one and counted
        in this one's `llm_usage`."""
        kid = dataclasses.replace(
            self, **changes, _clients={}, _lock=threading.Lock(), _children=[]
        )
        with self._lock:
            self._children.append(kid)
        return kid

    def _all_clients(self) -> list[LLMClient]:
        return [*self._clients.values(), *(c for k in self._children for c in k._all_clients())]

    def llm_usage(self) -> dict[str, Any] | None:
        """The summed usage (as JSON) of the clients `llm` opened, its children's included;
        None when none was opened."""
        usages = [c.usage.to_dict() for c in self._all_clients()]
        if not usages:
            return None
        return {
            k: sum(u[k] for u in usages) for k in usages[0] if isinstance(usages[0][k], int | float)
        }

    def close(self) -> None:
        """Close the clients `llm` opened (its children's too: they share the exit stack)."""
        self._stack.close()
        self._clients.clear()
        for kid in self._children:
            kid._clients.clear()


@runtime_checkable
class ProvidesPublicProblem(Protocol):
    """A task whose code problem a generator may see (the ``code`` kind: no hidden tests)."""

    def public_problem(self) -> CodeProblem:
        """The problem without its hidden tests."""
        ...


@runtime_checkable
class ProvidesTraceParameters(Protocol):
    """A task whose candidates set traced parameters of the user's workflow (``workflow``)."""

    def trace_parameters(self) -> dict[str, ParameterNode]:
        """The workflow's trainable parameters by name."""
        ...


@runtime_checkable
class ProvidesSandboxConfig(Protocol):
    """A task that names the sandbox its code runs in (a generator's own runs use it too)."""

    sandbox_config: SandboxConfig | str | None


class Task(ABC):
    """A task kind's evaluator. Subclasses implement `evaluate`; the rest has defaults.

    Attributes:
        name: the task's name (from the task file).
        direction: whether larger or smaller primary scores are better.
        primary: the name of the score the loop optimizes.
        needs_sandbox: True when `evaluate` runs code through `ctx.sandbox()`; the run then
            opens the sandbox up front and its image id becomes part of the cache key.
    """

    name: str = "task"
    direction: Direction = "maximize"
    primary: str = "score"
    needs_sandbox: bool = False

    @abstractmethod
    def evaluate(self, candidate: Candidate, ctx: RunContext) -> Evaluation:
        """Evaluate one candidate; failures of the candidate become an Evaluation status."""

    def config(self) -> dict[str, Any]:
        """JSON of everything that changes the result of `evaluate` (part of cache keys)."""
        return {"name": self.name, "direction": self.direction, "primary": self.primary}

    def fingerprint(self) -> str:
        """sha256 of `config()`: equal fingerprints mean equal evaluations of a candidate."""
        blob = json.dumps(self.config(), sort_keys=True, default=str)
        return hashlib.sha256(blob.encode()).hexdigest()

    def search_space(self) -> dict[str, Any]:
        """Named parameter specs, for optimizers over parameter vectors (hpo-like kinds)."""
        raise NotImplementedError(f"{type(self).__name__} has no parameter search space")

    def describe(self) -> str:
        """A short text about the task for LLM-driven optimizers."""
        return f"Task {self.name!r}: {self.direction} {self.primary!r}."

    def start(self, ctx: RunContext) -> None:
        """Called once by the run, before the loop, with the context it will evaluate with.

        A task whose work outside `evaluate` (e.g. calls an optimizer makes through it) must
        share the run's budget keeps `ctx` here. Default: nothing.
        """
        return None

    def finalize(
        self, best: Candidate, evaluation: Evaluation | None, ctx: RunContext
    ) -> dict[str, Any] | None:
        """A held-out result of the run's final candidate, once, after the loop stops.

        The run writes the returned JSON to summary.json (``final``), to the event log (a
        ``final`` event) and to the report. The default returns None: nothing beyond the
        search's own scores.

        Args:
            best: the run's final candidate (the optimizer's choice, by default the best one).
            evaluation: its evaluation in the run, or None when it was never evaluated.
            ctx: the run's evaluation context (model calls count against the run's budget).
        """
        return None

    def close(self) -> None:
        """Release what the task opened (e.g. its own model server). Default: nothing."""
        return None


@dataclass(frozen=True)
class Kind:
    """A registered task kind: its section schema and the factory building its Task."""

    name: str
    section: type[BaseModel]
    factory: Callable[[TaskFile], Task]


KINDS: dict[str, str] = {
    "hpo": "workbench.tasks.hpo:KIND",
    "code": "workbench.tasks.code:KIND",
    "mpi": "workbench.tasks.mpi:KIND",
    "prompt": "workbench.tasks.prompt:KIND",
    "workflow": "workbench.tasks.workflow:KIND",
}
"""Every task kind a task file may name, and where its `Kind` is defined."""

_EXTRA: dict[str, Kind] = {}


def register_kind(name: str, section: type[BaseModel], factory: Callable[[TaskFile], Task]) -> None:
    """Add a task kind from outside the package (a plugin or a test); the built-in kinds are
    the `KINDS` table."""
    _EXTRA[name] = Kind(name, section, factory)


def get_kind(name: str) -> Kind:
    """The kind `name`; raises ConfigError listing the known kinds."""
    if name in _EXTRA:
        return _EXTRA[name]
    if name not in KINDS:
        raise ConfigError(f"unknown task kind {name!r}; known kinds: {', '.join(kind_names())}")
    kind = import_object(KINDS[name])
    if not isinstance(kind, Kind) or kind.name != name:
        raise TypeError(f"{KINDS[name]} is not the Kind {name!r}")
    return kind


def kind_names() -> list[str]:
    """Names of every task kind."""
    return sorted({*KINDS, *_EXTRA})
