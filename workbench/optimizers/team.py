"""Several agents in one run: each an optimizer bound to the workflow parameters it owns.

A task file's ``agents:`` section names the agents; `Team` is the optimizer the run then drives,
and the loop gives each agent a node of its own (`workbench.agents.graph`). Each step one agent
proposes (`routing`, asked by the loop's router): its candidates change only its
own parameters, the others keep the values of the best candidate so far, and the evaluations
of its candidates go back to it. An agent sees the task through `OwnedTask`: an ask/tell agent
(``optuna``, ``llambo``) the ranges of its parameters in ``workflow.space``; ``optoprime`` the
traced graph of its own parameters, whose output and feedback are those of the whole run.

An ask/tell agent that proposes a point already evaluated (its own, or the incumbent's) is told
its known result at once and asked again: no evaluation is spent twice on one point. An agent
with its own ``budget:`` stops at it (its evaluations, model calls or tokens) and the others go
on.

Ownership is declared (``parameters:``) or defaulted by type: an ask/tell agent takes the
parameters with a range that no agent named, any other agent the remaining ones. A parameter
owned twice, an agent that owns nothing, or an optimizer that cannot handle a parameter is a
`SettingsError` located at the agent's entry.

Example:
    >>> from workbench.tasks.schema import AgentSpec
    >>> AgentSpec(name="tuner", optimizer={"name": "optuna"}).parameters
    []
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
from collections.abc import Callable, Collection
from typing import Any

from pydantic import BaseModel, ConfigDict

from workbench.contracts import Candidate, Evaluation, better
from workbench.errors import BudgetExceeded, ConfigError, PartBudgetExceeded
from workbench.llm import PartBudget
from workbench.optimizers import make_optimizer
from workbench.optimizers.base import Optimizer, RunContext, SettingsError
from workbench.optimizers.parts import ASK_TELL, OwnedTask, Parts, parts_for
from workbench.tasks.schema import STATUS_WHEN, AgentSpec, RoutingSpec

__all__ = ["ASK_TELL", "OwnedTask", "Team", "TeamSettings"]

MAX_FAILURES = 3
"""Failed proposals in a row after which an agent rests for the rest of the run."""

MAX_REPEATS = 3
"""Known points an ask/tell agent may propose in one turn: each is told its known result at
once, without an evaluation, and the agent is asked again; past this the next agent goes."""


def _key(params: dict[str, Any]) -> str:
    """A point's key among the known results: a digest, so that the team's state (saved at
    every step) holds 32 characters per point, not its code."""
    blob = json.dumps(params, sort_keys=True, default=repr)
    return hashlib.sha256(blob.encode()).hexdigest()[:32]


class TeamSettings(BaseModel):
    """What `TaskFile.proposer` hands the team: the agents and the routing."""

    model_config = ConfigDict(extra="forbid")
    agents: list[AgentSpec]
    routing: RoutingSpec = RoutingSpec()


class _Agent:
    def __init__(self, spec: AgentSpec, optimizer: Optimizer | None, index: int) -> None:
        self.spec = spec
        self.name = spec.name
        self.optimizer: Optimizer | None = optimizer  # None until it has something to change
        self.index = index  # its entry in agents:
        self.space: str | None = None  # what it was built for (`Parts.space_key`)


class Team(Optimizer):
    """The agents of a workflow task, taking turns in one run (see the module docstring).

    Args:
        ctx: the run context; ``ctx.task`` is a ``workflow`` task.
        settings: `TeamSettings` or its dict.
    """

    name = "team"

    def __init__(self, ctx: RunContext, settings: TeamSettings | dict[str, Any]) -> None:
        self.ctx = ctx
        self.settings = TeamSettings.model_validate(settings)
        task = ctx.task
        self.parts: Parts = parts_for(task)
        self.task: Any = task
        self.direction = task.direction
        self.incumbent: dict[str, Any] = self.parts.initial()
        self.best_score: float | None = None
        self.pending: dict[str, dict[str, Any]] = {}  # team id -> {"agent", "params"}
        self.turns: dict[str, int] = {}
        self.exhausted: set[str] = set()
        self.last_statuses: list[str] = []
        self.last_stages: list[str | None] = []
        self.since_improve = 0
        self.gains: dict[str, int] = {}  # agent -> its steps that raised the best score
        self.recent: dict[str, list[float]] = {}  # agent -> [its turns, its gains], discounted
        self.streak = 0  # steps in a row whose evaluations all had the last step's status
        self.failures: dict[str, int] = {}  # agent -> failed proposals in a row
        self.proposed: dict[str, int] = {}  # agent -> candidates proposed (its evaluations)
        self.known: dict[str, dict[str, Any]] = {}  # params key -> status, scores, feedback
        self.repeats = 0  # known points told back instead of evaluated
        self.budgets: dict[str, PartBudget] = {}  # agents with their own model-call limits
        self.owned = self.parts.assign(self.settings.agents)
        self.agents: dict[str, _Agent] = {}
        for i, spec in enumerate(self.settings.agents):
            limits = spec.budget
            if limits is not None and (limits.llm_calls or limits.tokens):
                self.budgets[spec.name] = PartBudget(
                    calls=limits.llm_calls, tokens=limits.tokens, parent=ctx.budget, part=spec.name
                )
            agent = self.agents[spec.name] = _Agent(spec, None, i)
            if self.parts.space_key(self.owned[spec.name], self.incumbent) is None:
                agent.optimizer = self._build(agent)
            else:  # built once its space is known: its settings are checked now, on a stand-in
                self._build(agent, probe=True).close()
            self.turns[spec.name] = 0
            self.gains[spec.name] = 0
            self.recent[spec.name] = [0.0, 0.0]
            self.failures[spec.name] = 0
            self.proposed[spec.name] = 0

    def _build(self, agent: _Agent, *, probe: bool = False) -> Optimizer:
        """`agent`'s optimizer, on the task it sees (`Parts.view`); with `probe`, on a
        stand-in space (its settings checked before it has anything to tune)."""
        spec, i, ctx = agent.spec, agent.index, self.ctx
        keys = self.owned[spec.name]
        view = self.parts.view(spec.name, keys, lambda: dict(self.incumbent), probe=probe)
        sub = ctx.child(  # the run's sandbox; its own clients, counted in the run's
            task=view,
            seed=None if ctx.seed is None else ctx.seed + i,
            budget=self.budgets.get(spec.name, ctx.budget),
            run_dir=None if ctx.run_dir is None else ctx.run_dir / "agents" / spec.name,
            llm_config=spec.llm if spec.llm is not None else ctx.llm_config,
            emit=self._emitter(spec.name),
            on_call=self._caller(spec.name),
        )
        if sub.run_dir is not None:
            sub.run_dir.mkdir(parents=True, exist_ok=True)
        try:
            return make_optimizer(spec.optimizer.name, spec.optimizer.settings, sub)
        except SettingsError as exc:
            raise SettingsError([(("agents", i, *loc), m) for loc, m in exc.problems]) from None
        except ConfigError as exc:
            raise SettingsError([(("agents", i, "optimizer"), str(exc))]) from None

    def _fit(self, agent: _Agent) -> Optimizer | None:
        """`agent`'s optimizer for the incumbent as it is now: (re)built when what it owns
        changed shape (an MPI tuner after the code's knobs changed); None while it has nothing
        to change."""
        keys = self.owned[agent.name]
        if not self.parts.ready(keys, self.incumbent):
            return None
        space = self.parts.space_key(keys, self.incumbent)
        if agent.optimizer is None or space != agent.space:
            if agent.optimizer is not None:
                agent.optimizer.close()
                if self.ctx.emit is not None:
                    self.ctx.emit({"type": "agent_reset", "agent": agent.name, "space": space})
            agent.optimizer, agent.space = self._build(agent), space
        return agent.optimizer

    def _emitter(self, agent: str) -> Callable[[dict[str, Any]], None] | None:
        emit = self.ctx.emit
        if emit is None:
            return None
        return lambda event: emit({**event, "agent": agent})

    def _caller(self, agent: str) -> Callable[[Any], None] | None:
        """The run's model-call hook, with the agent's name on each record."""
        on_call = self.ctx.on_call
        if on_call is None:
            return None
        return lambda record: on_call({**record.to_dict(), "agent": agent})  # type: ignore[arg-type]

    # -- routing --------------------------------------------------------------------------------
    def next_agent(self, skip: Collection[str] = ()) -> str | None:
        """Who proposes now: the first routing rule that holds, else the policy's pick (the
        agent furthest behind its share of the steps, or the best by `_gain_index`); None when
        every agent is exhausted (or in `skip`)."""
        live = [
            a
            for a in self.agents
            if a not in self.exhausted
            and a not in skip
            and self.parts.ready(self.owned[a], self.incumbent)  # it has something to change
        ]
        if not live:
            return None
        for rule in self.settings.routing.rules:
            if rule.agent not in live:
                continue
            if rule.when == "plateau":
                if self.best_score is not None and self.since_improve >= rule.steps:
                    return rule.agent
            elif (
                self.last_statuses
                and all(s == rule.when for s in self._last_seen(rule.when))
                and self.streak <= rule.steps  # a repair that keeps failing gives way
            ):
                return rule.agent
        if self.settings.routing.policy == "gains":
            untried = [a for a in live if self.turns[a] == 0]
            if untried:
                return untried[0]
            total = sum(n for n, _ in self.recent.values())
            return max(live, key=lambda a: (self._gain_index(a, total), -live.index(a)))
        return min(live, key=lambda a: (self.turns[a] + 1) / self.agents[a].spec.share)

    def _last_seen(self, when: str) -> list[str | None]:
        """What the last step's evaluations showed of the kind `when` asks about: their
        statuses, or the stages they stopped at."""
        return list(self.last_statuses) if when in STATUS_WHEN else list(self.last_stages)

    def _gain_index(self, agent: str, total: float) -> float:
        """Discounted UCB on the share of `agent`'s recent turns that raised the best score:
        that rate plus ``explore * sqrt(share * ln(all recent turns) / its recent turns)``,
        every turn counting `routing.discount` less at each later turn (an early gain, which
        is easy, fades; an agent left idle is retried)."""
        turns, gains = self.recent[agent]
        share = self.agents[agent].spec.share
        bonus = math.sqrt(share * math.log(max(total, 1.0)) / max(turns, 1e-9))
        return gains / max(turns, 1e-9) + self.settings.routing.explore * bonus

    def _count_turn(self, agent: str) -> None:
        self.turns[agent] += 1
        keep = self.settings.routing.discount
        for counts in self.recent.values():
            counts[0] *= keep
            counts[1] *= keep
        self.recent[agent][0] += 1.0

    # -- Optimizer --------------------------------------------------------------------------------
    def agent_names(self) -> list[str]:
        """The agents, in the task file's order."""
        return list(self.agents)

    def propose(self, n: int) -> list[Candidate]:
        """The candidates of the agent `next_agent` picks (see `propose_as`)."""
        name = self.next_agent()
        return [] if name is None else self.propose_as(name, n)

    def propose_as(self, agent: str, n: int) -> list[Candidate]:
        """`agent`'s candidates, its parameters set on the incumbent's values.

        An agent whose `propose` raises, or proposes parameters it does not own, has failed
        this turn: the failure is an ``agent_failure`` event and counts, and the next agent
        (`next_agent`) proposes instead; so does it when `agent` is exhausted. After
        `MAX_FAILURES` failures in a row an agent rests for the rest of the run.
        """
        name: str | None = agent if agent in self.agents else self.next_agent()
        if name in self.exhausted:
            name = self.next_agent()
        repeats: dict[str, int] = {}
        skip: set[str] = set()  # agents that proposed only known points this call
        again = False
        while n > 0 and name is not None:
            agent_ = self.agents[name]
            left = self._evaluations_left(name)
            if left == 0:
                cap = agent_.spec.budget.evaluations if agent_.spec.budget else None
                self._spent(name, "evaluations", self.proposed[name], cap)
                name = self.next_agent(skip)
                continue
            opt = self._fit(agent_)
            if opt is None:  # nothing to change yet (an MPI tuner before any code has knobs)
                skip.add(name)
                name = self.next_agent(skip)
                continue
            if not again:
                self._count_turn(name)
            again = False
            try:
                subs = opt.propose(n if left is None else min(n, left))
            except PartBudgetExceeded as exc:
                if exc.part != name:
                    raise
                self._spent(name, exc.limit, exc.used, exc.allowed)
                name = self.next_agent(skip)
                continue
            except BudgetExceeded:
                raise
            except Exception as exc:  # one agent's bug must not end the others' run
                self._failed(name, f"propose raised {type(exc).__name__}: {exc}")
                name = self.next_agent(skip)
                continue
            if not subs:
                self.exhausted.add(name)
                name = self.next_agent(skip)
                continue
            out = []
            told = []
            for c in subs:
                changes = self.parts.changes(c.payload, self.owned[name])
                if isinstance(changes, str):
                    self._failed(name, f"candidate {c.id} dropped: {changes}")
                    opt.rejected(c.id, f"it changes {changes}; change only yours")
                    continue
                tid = f"{name}.{c.id}"
                full = self.parts.merge(self.incumbent, changes)
                if agent_.spec.optimizer.name in ASK_TELL and _key(full) in self.known:
                    told.append(self._known_result(c.id, full))
                    continue
                self.pending[tid] = {"agent": name, "params": full, "space": agent_.space}
                out.append(
                    Candidate(
                        tid,
                        self.parts.payload(c.payload, full),
                        parent_ids=[f"{name}.{p}" for p in c.parent_ids],
                        meta={**c.meta, "agent": name},
                    )
                )
            if told:  # known points: their results now, no evaluation spent on them
                self.repeats += len(told)
                opt.observe(told)
                repeats[name] = repeats.get(name, 0) + len(told)
            if out:
                self.failures[name] = 0
                self.proposed[name] += len(out)
                return out
            if told and repeats[name] < MAX_REPEATS:
                again = True  # asked again: the same turn
                continue
            if told:
                skip.add(name)
            name = self.next_agent(skip)
        return []

    def _known_result(self, sub_id: str, full: dict[str, Any]) -> Evaluation:
        known = self.known[_key(full)]
        return Evaluation(
            sub_id,
            known["status"],
            dict(known["scores"]),
            self.task.primary,
            self.direction,
            feedback=known["feedback"],
        )

    def _evaluations_left(self, name: str) -> int | None:
        limits = self.agents[name].spec.budget
        if limits is None or limits.evaluations is None:
            return None
        return max(limits.evaluations - self.proposed[name], 0)

    def _spent(self, name: str, limit: str, used: float, allowed: float | None) -> None:
        """`name` reached its own budget: it proposes no more (an ``agent_budget`` event)."""
        self.exhausted.add(name)
        if self.ctx.emit is not None:
            self.ctx.emit(
                {
                    "type": "agent_budget",
                    "agent": name,
                    "limit": limit,
                    "used": used,
                    "allowed": allowed,
                }
            )

    def _failed(self, name: str, why: str) -> None:
        self.failures[name] += 1
        resting = self.failures[name] >= MAX_FAILURES
        if resting:
            self.exhausted.add(name)
        if self.ctx.emit is not None:
            self.ctx.emit(
                {
                    "type": "agent_failure",
                    "agent": name,
                    "error": why[:1000],
                    "in_a_row": self.failures[name],
                    "resting": resting,
                }
            )

    def observe(self, evaluations: list[Evaluation]) -> None:
        """Each agent observes its candidates' evaluations; the incumbent moves to a better one."""
        mine: dict[str, list[Evaluation]] = {}
        fresh = []
        improved = False
        gainers: set[str] = set()
        for ev in evaluations:
            entry = self.pending.pop(ev.candidate_id, None)
            if entry is None:
                continue  # observed before, or not this team's
            fresh.append(ev)
            self.known[_key(entry["params"])] = {
                "status": ev.status,
                "scores": dict(ev.scores),
                "feedback": ev.feedback[:500],
            }
            sub_id = ev.candidate_id.split(".", 1)[1]
            if entry.get("space") == self.agents[entry["agent"]].space:  # not of a rebuilt one
                mine.setdefault(entry["agent"], []).append(
                    dataclasses.replace(ev, candidate_id=sub_id)
                )
            if ev.score is not None and better(ev.score, self.best_score, self.direction):
                if self.best_score is not None:  # a first score is not a gain over anything
                    gainers.add(entry["agent"])
                self.best_score = ev.score
                self.incumbent = dict(entry["params"])
                improved = True
        for name in gainers:
            self.gains[name] += 1
            self.recent[name][1] += 1.0
        for name, evs in mine.items():
            opt = self.agents[name].optimizer
            if opt is None:
                continue
            try:
                opt.observe(evs)
            except PartBudgetExceeded as exc:  # its model calls while observing: it rests
                if exc.part != name:
                    raise
                self._spent(name, exc.limit, exc.used, exc.allowed)
        if fresh:
            statuses = [e.status for e in fresh]
            outcomes = [(e.status, e.stage) for e in fresh]
            before = list(zip(self.last_statuses, self.last_stages, strict=False))
            same = len(set(outcomes)) == 1
            again = same and len(set(before)) == 1 and before[0] == outcomes[0]
            self.streak = (self.streak + 1 if again else 1) if same else 0
            self.last_statuses = statuses
            self.last_stages = [e.stage for e in fresh]
            self.since_improve = 0 if improved else self.since_improve + 1

    def state(self) -> dict[str, Any]:
        """JSON: every agent's state, the incumbent, the pending candidates, the turns."""
        return {
            "agents": {
                name: a.optimizer.state()
                for name, a in self.agents.items()
                if a.optimizer is not None
            },
            "spaces": {name: a.space for name, a in self.agents.items()},
            "incumbent": self.incumbent,
            "best_score": self.best_score,
            "pending": self.pending,
            "turns": self.turns,
            "exhausted": sorted(self.exhausted),
            "last_statuses": self.last_statuses,
            "last_stages": self.last_stages,
            "since_improve": self.since_improve,
            "gains": self.gains,
            "recent": self.recent,
            "streak": self.streak,
            "failures": self.failures,
            "proposed": self.proposed,
            "known": self.known,
            "repeats": self.repeats,
            "agent_spent": {
                name: {"calls": b.spent.calls - b.spent.cache_hits, "tokens": b.spent.tokens}
                for name, b in self.budgets.items()
            },
        }

    def load_state(self, state: dict[str, Any]) -> None:
        """Inverse of `state`."""
        self.incumbent = dict(state["incumbent"])
        self.best_score = state["best_score"]
        self.pending = {k: dict(v) for k, v in state["pending"].items()}
        self.turns = {**self.turns, **state["turns"]}
        self.exhausted = set(state["exhausted"])
        self.last_statuses = list(state["last_statuses"])
        self.last_stages = list(state.get("last_stages", [None] * len(self.last_statuses)))
        self.since_improve = int(state["since_improve"])
        self.gains = {**self.gains, **state.get("gains", {})}
        self.recent = {**self.recent, **{k: list(v) for k, v in state.get("recent", {}).items()}}
        self.streak = int(state.get("streak", 0))
        self.failures = {**self.failures, **state.get("failures", {})}
        self.proposed = {**self.proposed, **state.get("proposed", {})}
        self.known = dict(state.get("known", {}))
        self.repeats = int(state.get("repeats", 0))
        for name, spent in state.get("agent_spent", {}).items():
            if name in self.budgets:  # its own limits count what it spent before the resume
                usage = self.budgets[name].spent
                usage.calls, usage.cache_hits = int(spent["calls"]), 0
                usage.prompt_tokens, usage.completion_tokens = int(spent["tokens"]), 0
        for name, sub in state["agents"].items():
            agent = self.agents[name]
            if agent.optimizer is None or agent.space != state.get("spaces", {}).get(name):
                opt = self._fit(agent)  # built for the incumbent it was saved with
                if opt is None:
                    continue
            assert agent.optimizer is not None
            agent.optimizer.load_state(sub)

    def plan(self) -> dict[str, Any] | None:
        """The agents' plans, by agent (None when none has one)."""
        plans = {name: a.optimizer.plan() for name, a in self.agents.items() if a.optimizer}
        plans = {k: v for k, v in plans.items() if v is not None}
        return {"agents": plans} if plans else None

    def close(self) -> None:
        """Close every agent."""
        for a in self.agents.values():
            if a.optimizer is not None:
                a.optimizer.close()
