"""One optimizer on one task with a scripted model, driven as the loop drives it.

An `OptimizerCase` says how to build an optimizer on the smallest task it supports and how the
scripted model answers. `open_subject` builds it in a folder of its own (the run folder is
``<folder>/run``) behind a `workbench.llm.ScriptedLLM` that counts the calls reaching the
script; `Subject.step` is one step of the loop: propose, evaluate, observe.

The contract suite (`workbench.testing.pytest_optimizers`) compares twins: two subjects of one
case, or a subject and a fresh one restored from its state. That works because the script is
a pure function of the request (`ChatRequest.key()` is a handy source of variety), so every
instance hears the same answers to the same questions, wherever it starts.

Example:
    >>> import tempfile
    >>> from workbench.optimizers import FunctionOptimizer
    >>> case = OptimizerCase(
    ...     "function",
    ...     make_task=lambda folder: None,
    ...     build=lambda ctx: FunctionOptimizer(lambda n, seen: [{"x": len(seen)}] * n),
    ...     evaluate=lambda task, c: Evaluation(c.id, "ok", {"score": c.payload["x"]}),
    ... )
    >>> subject = open_subject(case, Path(tempfile.mkdtemp()))
    >>> [c.payload for c in subject.step(2)], [c.payload for c in subject.step(1)]
    ([{'x': 0}, {'x': 0}], [{'x': 2}])
    >>> subject.calls, json_problem(subject.optimizer.state())
    (0, None)
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from workbench.contracts import Candidate, Evaluation
from workbench.llm import Budget, ScriptedLLM
from workbench.optimizers import Optimizer, RunContext, make_optimizer

__all__ = ["OptimizerCase", "Subject", "json_problem", "open_subject"]


@dataclass
class OptimizerCase:
    """One optimizer set up for the contract suite.

    Attributes:
        name: the optimizer's registered name (with `settings`, what `build` makes by default).
        make_task: builds the task in the given folder; called for every instance (a task may
            hold state, e.g. a workflow's current parameter values).
        script: the scripted model, ``script(request) -> str | ChatResult | CompletionResult``
            (see `workbench.llm.ScriptedLLM`). It must be a pure function of the request. None:
            the optimizer calls no model (a call fails the test).
        settings: ``optimizer.settings`` for `make_optimizer`.
        build: builds the optimizer from its context (default: ``make_optimizer(name,
            settings, ctx)``).
        evaluate: evaluates a candidate of the task (default: ``task.evaluate(candidate,
            RunContext(open_sandbox=open_sandbox))``).
        open_sandbox: the sandbox the run would lend (`RunContext.open_sandbox`).
        seed: the run's seed.
        n: candidates asked per step.
        warmup: steps run before a check looks (the optimizer should have state by then).
    """

    name: str
    make_task: Callable[[Path], Any]
    script: Callable[[Any], Any] | None = None
    settings: dict[str, Any] = field(default_factory=dict)
    build: Callable[[RunContext], Optimizer] | None = None
    evaluate: Callable[[Any, Candidate], Evaluation] | None = None
    open_sandbox: Callable[[], Any] | None = None
    seed: int = 0
    n: int = 2
    warmup: int = 2


@dataclass
class Subject:
    """An optimizer under test with its own task, context and count of scripted calls.

    Attributes:
        case: what it was built from.
        optimizer: the optimizer.
        task: its task.
        ctx: its context (run folder, budget, scripted model).
        counter: ``[calls]``: calls that reached the script (shared with the model).
        proposed: the id of every candidate it proposed, in order.
    """

    case: OptimizerCase
    optimizer: Optimizer
    task: Any
    ctx: RunContext
    counter: list[int]
    proposed: list[str] = field(default_factory=list)

    @property
    def calls(self) -> int:
        """Model calls that reached the script so far."""
        return self.counter[0]

    def propose(self, n: int) -> list[Candidate]:
        """`Optimizer.propose`, remembering the ids."""
        out = self.optimizer.propose(n)
        self.proposed.extend(c.id for c in out)
        return out

    def evaluate(self, candidates: list[Candidate]) -> list[Evaluation]:
        """Evaluate each candidate with the case's evaluator."""
        if self.case.evaluate is not None:
            return [self.case.evaluate(self.task, c) for c in candidates]
        ctx = RunContext(open_sandbox=self.case.open_sandbox, seed=self.case.seed)
        return [self.task.evaluate(c, ctx) for c in candidates]

    def step(self, n: int | None = None) -> list[Candidate]:
        """One step of the loop (propose, evaluate, observe); returns the candidates."""
        out = self.propose(self.case.n if n is None else n)
        if out:
            self.optimizer.observe(self.evaluate(out))
        return out

    def warm_up(self, steps: int | None = None) -> None:
        """Run `steps` steps (default: the case's `warmup`), fewer if the optimizer stops."""
        for _ in range(self.case.warmup if steps is None else steps):
            if not self.step():
                return

    def state_text(self) -> str:
        """`Optimizer.state` as canonical JSON text (keys sorted), for comparisons."""
        return json.dumps(self.optimizer.state(), sort_keys=True)

    def close(self) -> None:
        """Close the optimizer, its context and its task."""
        self.optimizer.close()
        self.ctx.close()
        close = getattr(self.task, "close", None)
        if callable(close):
            close()


def open_subject(case: OptimizerCase, folder: Path, budget: Budget | None = None) -> Subject:
    """Build `case`'s optimizer in `folder` (run folder ``folder/run``) on `budget`.

    The model is a `ScriptedLLM` on `case.script` with the budget, built when the optimizer
    first asks for it (`RunContext.make_llm`).
    """
    run_dir = folder / "run"
    run_dir.mkdir(parents=True, exist_ok=True)
    counter = [0]

    def answer(request: Any) -> Any:
        counter[0] += 1
        if case.script is None:
            raise AssertionError(f"{case.name} called a model, but its case has no script")
        return case.script(request)

    def make_llm(budget: Any = None, on_call: Any = None) -> ScriptedLLM:
        return ScriptedLLM(answer, budget=budget, on_call=on_call)

    task = case.make_task(folder)
    ctx = RunContext(
        task=task,
        seed=case.seed,
        run_dir=run_dir,
        budget=budget,
        make_llm=make_llm,
        open_sandbox=case.open_sandbox,
    )
    build = case.build or (lambda c: make_optimizer(case.name, dict(case.settings), c))
    return Subject(case, build(ctx), task, ctx, counter)


def json_problem(value: Any, where: str = "$") -> str | None:
    """Where `value` stops being JSON that loads back as itself, or None when it is such JSON.

    JSON here means dicts with string keys, lists, strings, finite numbers, booleans and None:
    a tuple, an int key, a set, bytes, NaN or any other object is a problem (json.dumps
    accepts some of them, but what loads back is not what was saved).
    """
    if value is None or isinstance(value, bool | str | int):
        return None
    if isinstance(value, float):
        return None if math.isfinite(value) else f"{where}: {value!r} is not finite"
    if isinstance(value, list):
        for i, item in enumerate(value):
            if (problem := json_problem(item, f"{where}[{i}]")) is not None:
                return problem
        return None
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                return f"{where}: key {key!r} is a {type(key).__name__}, not a string"
            if (problem := json_problem(item, f"{where}.{key}")) is not None:
                return problem
        return None
    return f"{where}: a {type(value).__name__} ({value!r:.80})"
