"""The `optoprime` optimizer on the loop: OptoPrime over a task's traced parameters.

A ``workflow`` task exposes ``trace_parameters()`` (stable key -> parameter) and
``trace_output(candidate_id, values)`` (the traced output of a candidate's run); a ``code`` or
``mpi`` task is seen as one trainable program judged in the sandbox (`ProgramTrace`), so
OptoPrime writes and repairs code from the sandbox's feedback. Each step:

1. the first step proposes the parameters' current values (the baseline);
2. ``observe`` moves to the step's best candidate (when it beats the current one, or always:
   see ``accept``) and remembers every evaluation's ``(values, feedback)``;
3. ``propose(n)`` rebuilds the current candidate's graph, sends ``backward`` the evaluation's
   feedback text plus its score, and asks OptoPrime at ``n`` temperatures: ``n`` candidates.
   A suggestion that repeats values already evaluated is rejected (kind ``repeat``, counted)
   and asked again once, with the feedback those values got.

In a task file (each setting is documented on `OptoPrimeSettings`)::

    optimizer:
      name: optoprime
      settings: {temperatures: [0.0, 0.8], memory_size: 3, max_tokens: 400}
"""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from workbench.contracts import Candidate, Evaluation, better
from workbench.errors import ConfigError
from workbench.optimizers.base import Optimizer, RunContext
from workbench.optimizers.codegen.view import problem_view
from workbench.optimizers.optoprime.optimizer import OptoPrime, jsonable
from workbench.optimizers.optoprime.program import ProgramTrace, TraceView, WorkflowTrace
from workbench.optimizers.optoprime.render import DEFAULT_INSTRUCTION
from workbench.quantities import Count, CountOrZero, NonNegative
from workbench.tasks import ProvidesTraceParameters
from workbench.trace import backward

__all__ = ["OptoPrimeOptimizer", "OptoPrimeSettings"]


class OptoPrimeSettings(BaseModel):
    """``optimizer.settings`` of the ``optoprime`` optimizer."""

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)

    temperatures: list[NonNegative] = Field(default_factory=lambda: [0.0, 0.7, 1.0], min_length=1)
    """Sampling temperatures: a step of ``n`` candidates makes one call at each of the first
    ``n``, cycling through the list when ``n`` (the run's ``parallel``) is longer."""
    memory_size: CountOrZero = 0
    """How many past ``(values, feedback)`` pairs the prompt shows (0: none)."""
    value_limit: Count | None = 2000
    """Cut inputs, intermediate values and outputs longer than this many characters in the
    prompt (None: show them whole)."""
    variable_limit: Count | None = None
    """Cut the parameters' values longer than this many characters in the prompt (None: show
    them whole)."""
    max_tokens: Count = 1024
    """Answer length limit per call, in tokens."""
    constrain_keys: bool = True
    """Ask for structured output whose suggestion keys are exactly the parameters' names (False:
    the generic ``{"reasoning", "suggestion": {...}}`` schema)."""
    accept: Literal["best", "improve"] = "improve"
    """When to move to a step's best candidate: ``improve`` only if it beats the current one,
    ``best`` always (as Trace does)."""
    instruction: str | None = None
    """The prompt's #Instruction (the objective); default: OptoPrime's, plus the task's
    description."""
    mask: list[str] = Field(default_factory=list)
    """Prompt section names to leave empty (``["code"]`` for the "masked" ablation)."""


def _trace_view(task: Any) -> TraceView:
    """The task as OptoPrime sees it: a workflow's traced parameters, or one program to write."""
    if isinstance(task, ProvidesTraceParameters):
        return WorkflowTrace(task)
    try:
        view = problem_view(task, "optoprime")
    except ConfigError:
        raise ConfigError(
            "optimizer 'optoprime' needs a task with traced parameters (kind: workflow) or a "
            f"program to write (kind: code or mpi), got {type(task).__name__}"
        ) from None
    return ProgramTrace(view, task.primary)


def _rank(ev: Evaluation | dict[str, Any] | None) -> float | None:
    if ev is None:
        return None
    return ev.score if isinstance(ev, Evaluation) else ev.get("score")


class OptoPrimeOptimizer(Optimizer):
    """OptoPrime as an `Optimizer`: ``{"params": {key: value}}`` candidates for a workflow,
    ``{"code": ..., "language": ...}`` for a code or mpi task.

    Args:
        ctx: The run context; ``ctx.task`` is a ``workflow`` task (`ProvidesTraceParameters`)
            or a ``code`` / ``mpi`` task (its program is the one parameter, `ProgramTrace`).
        settings: :class:`OptoPrimeSettings` or its dict.
    """

    name = "optoprime"

    def __init__(self, ctx: RunContext, settings: OptoPrimeSettings | dict[str, Any]) -> None:
        self.ctx = ctx
        self.settings = OptoPrimeSettings.model_validate(settings)
        task = ctx.task
        if task is None:
            raise ConfigError("optimizer 'optoprime' needs a task")
        self.task = task
        self.view = _trace_view(task)
        self.params = self.view.trace_parameters()
        self.values: dict[str, Any] = {k: jsonable(p._data) for k, p in self.params.items()}
        self.current: dict[str, Any] | None = None  # {"id", "status", "score", "feedback"}
        self.pending: dict[str, dict[str, Any]] = {}
        self.observed: list[str] = []
        self.tried: dict[str, str] = {}  # signature of evaluated values -> their feedback
        self.count = 0
        self.events: list[dict[str, Any]] = []
        s = self.settings
        instruction = s.instruction or f"{DEFAULT_INSTRUCTION}\nGoal: {task.describe()}"
        self.opt = OptoPrime(
            list(self.params.values()),
            llm=None,
            memory_size=s.memory_size,
            value_limit=s.value_limit,
            variable_limit=s.variable_limit,
            temperatures=s.temperatures,
            instruction=instruction,
            max_tokens=s.max_tokens,
            seed=ctx.seed,
            mask=s.mask,
            constrain_keys=s.constrain_keys,
            remember_on_propose=False,
            on_event=self._on_event,
        )

    # -- helpers -------------------------------------------------------------------------------
    def _on_event(self, event: dict[str, Any]) -> None:
        """Keep the event and send it to the run's event log (its own `type` kept)."""
        self.events.append(event)
        if self.ctx.emit is not None:
            self.ctx.emit(event)
        elif self.ctx.on_call is not None:
            # the hook writes {"type": "llm_call", **event}; the event's own type wins
            self.ctx.on_call(event)

    def _new_id(self) -> str:
        cid = f"o{self.count:05d}"
        self.count += 1
        return cid

    def _feedback_text(self, ev: Evaluation) -> str:
        score = ev.score
        where = (
            f"{self.task.primary} = {score:.6g} ({self.task.direction})"
            if score is not None
            else None
        )
        head = f"Status: {ev.status}." + (f" Score: {where}." if where else "")
        return f"{ev.feedback}\n{head}".strip()

    def _backward(self) -> None:
        """Rebuild the current candidate's graph and send its feedback to the parameters."""
        assert self.current is not None
        output = self.view.trace_output(self.current["id"], dict(self.values))
        self.view.set_values(dict(self.values))  # later evaluations may have changed them
        self.opt.zero_feedback()
        backward(output, self.current["feedback"])
        for p in self.params.values():
            if not p.feedback:  # not connected to the output: feedback on the value itself
                backward(p, self.current["feedback"])

    # -- Optimizer -----------------------------------------------------------------------------
    def propose(self, n: int) -> list[Candidate]:
        """The baseline first; then ``n`` OptoPrime suggestions at ``n`` temperatures."""
        if n <= 0:
            return []
        if self.current is None:
            cid = self._new_id()
            self.pending[cid] = dict(self.values)
            return [Candidate(cid, self.view.payload(self.values), meta={"origin": "initial"})]
        if self.opt.llm is None:
            self.opt.llm = self.ctx.llm()
        self._backward()
        temps = [self.settings.temperatures[i % len(self.settings.temperatures)] for i in range(n)]
        self.events.clear()
        suggestions = self.opt.propose(temps)
        out: list[Candidate] = []
        step: set[str] = set()
        repeats = self._take(suggestions, out, step)
        if repeats:
            # one re-ask per repeated suggestion, told what those values already got
            again = self.opt.propose([s.temperature for s, _ in repeats])
            still = self._take(again, out, step)
            if not out and still:  # nothing new at all: keep the loop going with a repeat
                out.append(self._candidate(*still[0]))
        return out

    @staticmethod
    def _signature(values: dict[str, Any]) -> str:
        return json.dumps(values, sort_keys=True, default=repr)

    def _take(self, suggestions: list[Any], out: list[Candidate], step: set[str]) -> list[Any]:
        """Append each suggestion with new values to `out`; return the repeats, each rejected.

        A repeat is a suggestion whose values were evaluated before (its feedback is shown to
        the model) or are already among this step's candidates.
        """
        by_param = {id(p): k for k, p in self.params.items()}
        repeats: list[Any] = []
        for s in suggestions:
            values = dict(self.values)
            for param, value in s.updates.items():
                values[by_param[id(param)]] = jsonable(value)
            values = self.view.normalize(values)
            sig = self._signature(values)
            if sig in step:
                continue  # two temperatures agreeing is not a failure of either
            if sig in self.tried:
                named = {self.params[k].name: v for k, v in values.items()}
                shown = json.dumps(named, default=repr)
                if len(shown) > 300:
                    shown = shown[:300] + "..."
                self.opt.reject(
                    "repeat",
                    f"The values {shown} were already evaluated; their feedback was: "
                    f"{self.tried[sig]} Suggest values that have not been tried.",
                    value=named,
                )
                repeats.append((s, values))
                continue
            step.add(sig)
            out.append(self._candidate(s, values))
        return repeats

    def _candidate(self, s: Any, values: dict[str, Any]) -> Candidate:
        assert self.current is not None
        cid = self._new_id()
        self.pending[cid] = values
        meta = {
            "temperature": s.temperature,
            "changed": [k for k, v in values.items() if v != self.values[k]],
            "reasoning": s.result.reasoning[:1000],
            "rejections": s.result.counts(),
            "parent": self.current["id"],
        }
        return Candidate(cid, self.view.payload(values), parent_ids=[self.current["id"]], meta=meta)

    def rejected(self, candidate_id: str, reason: str) -> None:
        """A candidate dropped before evaluation: the reason goes into the next call."""
        values = self.pending.pop(candidate_id, None)
        if values is None:
            return
        named = {self.params[k].name: v for k, v in values.items() if k in self.params}
        self.opt.reject("dropped", f"Your suggestion was not evaluated: {reason}", value=named)

    def observe(self, evaluations: list[Evaluation]) -> None:
        """Remember each evaluation; move to the step's best candidate (see ``accept``)."""
        fresh = [e for e in evaluations if e.candidate_id in self.pending]
        if not fresh:
            return
        direction = self.task.direction
        best: Evaluation | None = None
        tried: dict[str, dict[str, Any]] = {}
        for ev in fresh:
            values = tried[ev.candidate_id] = self.pending.pop(ev.candidate_id)
            self.observed.append(ev.candidate_id)
            self.view.record(ev.candidate_id, ev.status, ev.score)
            named = {self.params[k].name: v for k, v in values.items()}
            text = self._feedback_text(ev)
            self.opt.remember(named, text)
            self.tried[self._signature(values)] = text[:500]
            if best is None or (ev.score is not None and better(ev.score, _rank(best), direction)):
                best = ev
        assert best is not None
        current_score = _rank(self.current)
        if self.current is not None:
            if best.score is None and current_score is not None:
                return
            if self.settings.accept == "improve" and not better(
                best.score if best.score is not None else float("nan"), current_score, direction
            ):
                return
        self.values = dict(tried[best.candidate_id])
        self.current = {
            "id": best.candidate_id,
            "status": best.status,
            "score": best.score,
            "feedback": self._feedback_text(best),
        }
        self.view.set_values(dict(self.values))

    def state(self) -> dict[str, Any]:
        """JSON: current values and candidate, pending candidates, OptoPrime's memory/counters."""
        return {
            "values": self.values,
            "current": self.current,
            "pending": self.pending,
            "observed": self.observed[-1000:],
            "count": self.count,
            "tried": self.tried,
            "optoprime": self.opt.state(),
        }

    def load_state(self, state: dict[str, Any]) -> None:
        """Inverse of :meth:`state`; the graph is rebuilt on the next ``propose``."""
        self.values = dict(state.get("values", self.values))
        self.current = state.get("current")
        self.pending = {k: dict(v) for k, v in state.get("pending", {}).items()}
        self.observed = list(state.get("observed", []))
        self.count = int(state.get("count", 0))
        self.tried = dict(state.get("tried", {}))
        self.opt.load_state(state.get("optoprime", {}))
        if self.current is not None:
            self.view.record(self.current["id"], self.current["status"], self.current["score"])
        self.view.set_values(dict(self.values))

    def close(self) -> None:
        """Close the task's own LLM client (prompt workflows)."""
        close = getattr(self.task, "close", None)
        if callable(close):
            close()
