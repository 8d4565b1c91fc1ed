"""The one loop as a langgraph `StateGraph`: propose -> evaluate (fan-out) -> update.

```
START -> propose -(Send x n)-> evaluate -> update -> stop? -> finish -> END
            ^                                          |
            +------------------------------------------+
```

A run of agents (`workbench.optimizers.team.Team`, a `RoutedOptimizer`) has one node per agent
instead of `propose`; the router (`Loop.route`) sends each step to the agent the team picks:

```
START -router-> agent_<a> | agent_<b> | ... -(Send x n)-> evaluate -> update -router-> ...
```

`update` writes the step's feedback text, then gives the evaluations to the optimizer: the
feedback is not a node of its own, since each node costs a checkpoint (a write and a commit)
and a round trip through langgraph's executor on every step.

The checkpointed state is plain JSON: ids, scores, counters and short feedback. Candidates,
evaluations and optimizer states live in the `RunStore` (the state keeps a content hash of the
optimizer's state), so checkpoints stay small. `evaluate` is idempotent: an evaluation already
recorded for the candidate, or cached under sha256(task, candidate, environment), is read back
instead of run again, which makes a step re-run after a crash cost a look-up.

Progress events (proposals, evaluations, feedback, steps, the best candidate, the stop) go out
through langgraph's stream writer; `workbench.agents.driver.run_graph` hands them to a callback.
"""

from __future__ import annotations

import os

# Checkpoints must never deserialize arbitrary types (langgraph's README warning).
os.environ.setdefault("LANGGRAPH_STRICT_MSGPACK", "true")

import functools
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated, Any, TypedDict

from langgraph.config import get_stream_writer
from langgraph.graph import END, START, StateGraph
from langgraph.types import Overwrite, Send

from workbench.agents.store import RunStore, cache_key
from workbench.contracts import Evaluation, better
from workbench.errors import BudgetExceeded, SandboxFailure
from workbench.optimizers.base import Optimizer, RoutedOptimizer
from workbench.tasks.base import RunContext, Task

__all__ = ["Loop", "LoopSettings", "LoopState", "agent_node"]

Event = dict[str, Any]
FEEDBACK_CAP = 600


def _add(old: list[dict[str, Any]] | None, new: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return (old or []) + new


def _first_reason(old: str | None, new: str | None) -> str | None:
    return old or new


class LoopState(TypedDict, total=False):
    """The checkpointed state (JSON only)."""

    step: int
    pending: list[str]
    results: Annotated[list[dict[str, Any]], _add]
    opt_ref: str | None
    n_evals: int
    best: dict[str, Any] | None
    since_improve: int
    elapsed_s: float
    feedback: str
    stop_reason: Annotated[str | None, _first_reason]


@dataclass
class LoopSettings:
    """When the loop stops and how it evaluates (from the task file's budget/stop/parallel)."""

    parallel: int = 1
    max_iterations: int | None = None
    max_evaluations: int | None = None
    wall_time_s: float | None = None
    target: float | None = None
    patience: int | None = None
    use_cache: bool = True
    environment: str = "in-process"


@dataclass
class Loop:
    """The loop's nodes bound to one task, optimizer and store; `build()` makes the graph.

    Args:
        task: evaluates candidates.
        optimizer: proposes candidates and learns from evaluations.
        store: where candidates, evaluations, optimizer states and the cache live.
        settings: budget, stop rule, parallelism, cache.
        eval_ctx: handed to `task.evaluate`.
        sink: receives every event, from the thread that emits it (must be thread-safe).
    """

    task: Task
    optimizer: Optimizer
    store: RunStore
    settings: LoopSettings = field(default_factory=LoopSettings)
    eval_ctx: RunContext = field(default_factory=RunContext)
    sink: Callable[[Event], None] | None = None
    _loaded_ref: str | None = None
    _mark: float = field(default_factory=time.monotonic)
    _fingerprint: str = ""
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _team: RoutedOptimizer | None = None  # the optimizer, when it is made of agents

    def __post_init__(self) -> None:
        self._fingerprint = self.task.fingerprint()
        self._team = self.optimizer if isinstance(self.optimizer, RoutedOptimizer) else None

    # -- plumbing ---------------------------------------------------------------------------
    def emit(self, event: Event) -> None:
        """Deliver a progress event: to `sink` at once when there is one, else to the stream.

        The sink (the run's event log) is called directly, from whichever thread emits, rather
        than through langgraph's stream: a chunk still queued in the stream when the process is
        killed would be lost, and events.jsonl must hold every proposal and evaluation.
        """
        event = {"t": time.time(), **event}
        if self.sink is not None:
            self.sink(event)
            return
        try:
            writer = get_stream_writer()
        except RuntimeError:  # not inside a node, and no sink: nobody listens
            return
        writer(event)

    def _sync(self, state: LoopState) -> None:
        """Load the optimizer state the checkpoint names, if memory holds another one."""
        ref = state.get("opt_ref")
        with self._lock:
            if ref and ref != self._loaded_ref:
                self.optimizer.load_state(self.store.blob(ref))
                self._loaded_ref = ref

    def _save_optimizer(self, state: LoopState) -> str:
        """Store the optimizer's state and drop the states no checkpoint can name any more.

        The latest durable checkpoint names `state["opt_ref"]` (or, after a kill between this
        node's writes and its checkpoint, the ref returned here): both are kept, every older
        state goes, so a run folder holds one or two optimizer states however long it runs.
        """
        with self.store.transaction():
            ref = self.store.put_blob(self.optimizer.state())
            self.store.keep_blobs({ref, state.get("opt_ref")} - {None})
        self._loaded_ref = ref
        return ref

    def initial_state(self) -> LoopState:
        """The state a new run starts from."""
        return {
            "step": 0,
            "pending": [],
            "results": [],
            "opt_ref": None,
            "n_evals": 0,
            "best": None,
            "since_improve": 0,
            "elapsed_s": 0.0,
            "feedback": "",
            "stop_reason": None,
        }

    # -- nodes ------------------------------------------------------------------------------
    def propose(self, state: LoopState, agent: str | None = None) -> dict[str, Any]:
        """Ask the optimizer (or, in a run of agents, `agent`) for up to `parallel` candidates
        (fewer near the budget)."""
        self._sync(state)
        step = state.get("step", 0)
        n = self.settings.parallel
        if self.settings.max_evaluations is not None:
            n = min(n, self.settings.max_evaluations - state.get("n_evals", 0))
        try:
            if agent is not None and self._team is not None:
                candidates = self._team.propose_as(agent, max(n, 0))
            else:
                candidates = self.optimizer.propose(max(n, 0))
        except BudgetExceeded as exc:
            return {"stop_reason": f"budget:{exc.limit}", "pending": []}
        ids = [c.id for c in candidates]
        if len(set(ids)) != len(ids):
            raise RuntimeError(f"{type(self.optimizer).__name__} proposed duplicate ids {ids}")
        with self.store.transaction():  # one commit for the step's proposals and optimizer state
            self.store.put_candidates(step, candidates)
            ref = self._save_optimizer(state)
        for c in candidates:
            self.emit(
                {
                    "type": "proposal",
                    "step": step,
                    "id": c.id,
                    "payload": c.payload,
                    "parent_ids": c.parent_ids,
                    "meta": c.meta,
                }
            )
        reason = None if candidates else "optimizer:exhausted"
        return {
            "pending": ids,
            "results": Overwrite([]),
            "opt_ref": ref,
            "stop_reason": reason,
        }

    def fan_out(self, state: LoopState) -> list[Send] | str:
        """One `evaluate` task per pending candidate (run concurrently), or finish."""
        if state.get("stop_reason") or not state.get("pending"):
            return "finish"
        return [
            Send("evaluate", {"id": cid, "step": state.get("step", 0)}) for cid in state["pending"]
        ]

    def evaluate(self, arg: dict[str, Any]) -> dict[str, Any]:
        """Evaluate one candidate, unless its evaluation is already recorded or cached."""
        cid, step = arg["id"], arg["step"]
        candidate = self.store.candidate(cid)
        key = cache_key(self._fingerprint, candidate, self.settings.environment)
        start = time.time()
        # Recorded before a crash (the step's checkpoint was not written): never run twice, and
        # not a cache hit either; it keeps what it was, and its event is announced again only
        # for a sink that may have missed it (the run's log drops an id it already holds).
        recorded = self.store.recorded(cid)
        ev, cached = recorded if recorded is not None else (None, False)
        ran = False  # evaluated here and now (not read back), and not an infrastructure failure
        if ev is None and self.settings.use_cache and (hit := self.store.cached(key)):
            ev, cached = Evaluation.from_dict({**hit, "candidate_id": cid}), True
        if ev is None:
            self.emit({"type": "evaluation_start", "step": step, "id": cid})
            try:
                ev = self.task.evaluate(candidate, self.eval_ctx)
            except BudgetExceeded as exc:
                return {
                    "results": [{"id": cid, "status": "skipped"}],
                    "stop_reason": f"budget:{exc.limit}",
                }
            except SandboxFailure as exc:  # the infrastructure failed: not the code's result
                ev = Evaluation(
                    candidate_id=cid,
                    status="error",
                    feedback=f"infrastructure failure (not the code's fault): {exc}",
                    timings={"infra_failures": 1.0},
                )
            else:
                ran = True
        if recorded is None:
            with self.store.transaction():  # one commit for the cache entry and the record
                if ran:
                    self.store.put_cache(key, ev)  # never an infrastructure failure
                self.store.put_evaluation(step, ev, key, cached)
        end = time.time()
        self.emit(
            {
                "type": "evaluation",
                "step": step,
                "id": cid,
                "status": ev.status,
                "stage": ev.stage,
                "score": ev.score,
                "scores": ev.scores,
                "cached": cached,
                "backend": (  # which sandbox ran it: "docker", "local", "function"; None: none
                    getattr(self.eval_ctx.sandbox(), "backend", None)
                    if self.task.needs_sandbox and self.eval_ctx.open_sandbox is not None
                    else None
                ),
                "start": start,
                "end": end,
                "timings": ev.timings,
                "feedback": ev.feedback[:500],
            }
        )
        return {
            "results": [
                {"id": cid, "status": ev.status, "score": ev.score, "feedback": ev.feedback[:200]}
            ]
        }

    def feedback(self, state: LoopState) -> dict[str, Any]:
        """Summarise the step for the log and for optimizers that read text (from `update`)."""
        step, best = state.get("step", 0), state.get("best")
        parts = []
        for r in sorted(state.get("results", []), key=lambda r: r["id"]):
            score = "-" if r.get("score") is None else f"{r['score']:.6g}"
            note = "" if r.get("status") == "ok" else f" ({r.get('feedback', '')[:80]})"
            parts.append(f"{r['id']} {r.get('status')} {score}{note}")
        head = (
            f"step {step}: best so far {best['score']:.6g} ({best['id']}); "
            if best
            else (f"step {step}: ")
        )
        text = (head + "; ".join(parts))[:FEEDBACK_CAP]
        self.emit({"type": "feedback", "step": step, "text": text})
        return {"feedback": text}

    def update(self, state: LoopState) -> dict[str, Any]:
        """Write the step's feedback, give the evaluations to the optimizer; track the best,
        patience and time."""
        text = self.feedback(state)["feedback"]
        self._sync(state)
        step = state.get("step", 0)
        evals = [e for cid in state.get("pending", []) if (e := self.store.evaluation(cid))]
        self.optimizer.observe(evals)
        ref = self._save_optimizer(state)
        best, improved = state.get("best"), False
        direction = self.task.direction
        for e in evals:
            if e.score is not None and better(
                e.score, None if best is None else best["score"], direction
            ):
                best, improved = {"id": e.candidate_id, "score": e.score}, True
        if improved and best is not None:
            cand = self.store.candidate(best["id"])
            self.emit(
                {
                    "type": "best",
                    "step": step,
                    "id": best["id"],
                    "score": best["score"],
                    "payload": cand.payload,
                    "evaluation": self.store.evaluation(best["id"]).to_dict(),
                }
            )  # type: ignore[union-attr]
        now = time.monotonic()
        elapsed = state.get("elapsed_s", 0.0) + (now - self._mark)
        self._mark = now
        n_evals = state.get("n_evals", 0) + len(evals)
        since = 0 if improved else state.get("since_improve", 0) + 1
        self.emit(
            {
                "type": "step",
                "step": step,
                "n_evals": n_evals,
                "best": best,
                "improved": improved,
                "elapsed_s": elapsed,
            }
        )
        return {
            "step": step + 1,
            "n_evals": n_evals,
            "best": best,
            "since_improve": since,
            "opt_ref": ref,
            "elapsed_s": elapsed,
            "pending": [],
            "feedback": text,
        }

    def stop_reason(self, state: LoopState) -> str | None:
        """Why the loop should stop now, or None to go on."""
        s, best = self.settings, state.get("best")
        if state.get("stop_reason"):
            return state["stop_reason"]
        if (
            s.target is not None
            and best is not None
            and not better(s.target, best["score"], self.task.direction)
        ):
            return "target"
        if s.patience is not None and state.get("since_improve", 0) >= s.patience:
            return "patience"
        if s.max_iterations is not None and state.get("step", 0) >= s.max_iterations:
            return "budget:iterations"
        if s.max_evaluations is not None and state.get("n_evals", 0) >= s.max_evaluations:
            return "budget:evaluations"
        if s.wall_time_s is not None and state.get("elapsed_s", 0.0) >= s.wall_time_s:
            return "budget:wall_time_s"
        return None

    def route(self, state: LoopState) -> str:
        """After `update` (and at the start): propose again or finish; in a run of agents,
        the node of the agent the optimizer routes to."""
        if self.stop_reason(state):
            return "finish"
        team = self._team
        if team is None:
            return "propose"
        self._sync(state)
        # every agent exhausted: the first one's node finds nothing and the run stops there
        return agent_node(team.next_agent() or team.agent_names()[0])

    def finish(self, state: LoopState) -> dict[str, Any]:
        """Record why the run stopped."""
        reason = self.stop_reason(state) or "done"
        self.emit(
            {
                "type": "stop",
                "reason": reason,
                "step": state.get("step", 0),
                "n_evals": state.get("n_evals", 0),
                "best": state.get("best"),
            }
        )
        return {"stop_reason": reason}

    def build(self, checkpointer: Any = None) -> Any:
        """Compile the graph (with `checkpointer`, e.g. from `open_checkpointer`).

        One optimizer: one ``propose`` node. A run of agents (a `RoutedOptimizer`): one node
        per agent (``agent_<name>``), and the router (`route`) picks the next one after every
        `update`.
        """
        g = StateGraph(LoopState)
        if self._team is not None:
            names = self._team.agent_names()
            proposers = [agent_node(name) for name in names]
            for name, node in zip(names, proposers, strict=True):
                g.add_node(node, functools.partial(self.propose, agent=name))
            g.add_conditional_edges(START, self.route, [*proposers, "finish"])
        else:
            proposers = ["propose"]
            g.add_node("propose", self.propose)
            g.add_edge(START, "propose")
        g.add_node("evaluate", self.evaluate)
        g.add_node("update", self.update)
        g.add_node("finish", self.finish)
        for node in proposers:
            g.add_conditional_edges(node, self.fan_out, ["evaluate", "finish"])
        g.add_edge("evaluate", "update")
        # reached only by a checkpoint written before `feedback` became part of `update`, so
        # that a run stopped there still resumes
        g.add_node("feedback", self.feedback)
        g.add_edge("feedback", "update")
        g.add_conditional_edges("update", self.route, [*proposers, "finish"])
        g.add_edge("finish", END)
        return g.compile(checkpointer=checkpointer)


def agent_node(name: str) -> str:
    """The graph node of agent `name`."""
    return f"agent_{name}"
