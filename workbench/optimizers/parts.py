"""What the agents of a team own, by task kind: a workflow's parameters, or an MPI kernel's code
and the knobs it declares.

`Team` composes candidates through a `Parts`: which agent owns what (declared, or defaulted by
type), what task each agent sees, which changes an agent's candidate makes, how they merge into
the incumbent (the best candidate so far), and the payload that is evaluated.

- `WorkflowParts` (``kind: workflow``): the traced parameters; an ask/tell agent (``optuna``,
  ``llambo``) owns those with a range in ``workflow.space`` and sees them through `OwnedTask`;
  ``optoprime`` sees the traced graph of its own.
- `KnobParts` (``kind: mpi``): ``code``, owned by a code agent (``funcoder``, ``sample``, ...),
  which sees the MPI task itself; and ``knobs``, owned by an ask/tell agent, which tunes the
  knobs the incumbent code declares (``// @knob`` lines, `workbench.tasks.mpi.knobs`) through a
  `KnobView`. When the incumbent's code changes its knobs, the tuner starts over on the new
  ones (its history was of another program); a new program keeps the incumbent's knob values
  that it still declares.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from pydantic import TypeAdapter

from workbench.optimizers.base import SettingsError
from workbench.tasks import ProvidesTraceParameters
from workbench.tasks.hpo import CategoricalParam, FloatParam, IntParam
from workbench.tasks.mpi import Knob, MpiTask, knob_space, parse_knobs
from workbench.tasks.schema import AgentSpec
from workbench.tasks.workflow import parameter_key
from workbench.trace import Node, ParameterNode

__all__ = [
    "ASK_TELL",
    "KNOB_NOTE",
    "KnobParts",
    "KnobView",
    "OwnedTask",
    "Parts",
    "WorkflowParts",
    "assign_parameters",
    "declared_knobs",
    "parts_for",
]

ASK_TELL = frozenset({"optuna", "llambo"})
"""Optimizers that search ranges (``workflow.space``) by ask/tell."""

Incumbent = Callable[[], dict[str, Any]]
_PARAM: TypeAdapter[Any] = TypeAdapter(FloatParam | IntParam | CategoricalParam)


class _View:
    """A task as one agent sees it: the run's task (its name, direction and score), with the
    incumbent (the best candidate so far) to fill in what the agent does not own."""

    def __init__(self, task: Any, incumbent: Incumbent) -> None:
        self.task = task
        self.incumbent = incumbent
        self.name = task.name
        self.direction = task.direction
        self.primary = task.primary

    @property
    def description(self) -> str:
        """What the agent is told the task is (`describe`; LLAMBO's context, say)."""
        return self.describe()

    def describe(self) -> str:
        raise NotImplementedError

    def close(self) -> None:
        return None  # the run closes its task


class OwnedTask(_View):
    """The run's workflow task as one agent sees it: only the parameters it owns.

    The values of the other parameters are the team's incumbent (the best candidate so far);
    traced outputs are those of the team's candidates (ids ``<agent>.<id>``).
    """

    def __init__(self, task: Any, agent: str, keys: list[str], incumbent: Incumbent) -> None:
        super().__init__(task, incumbent)
        self.agent = agent
        self.keys = keys

    def describe(self) -> str:
        names = ", ".join(
            f"the code of {k.removesuffix('.__code')}" if k.endswith(".__code") else k
            for k in self.keys
        )
        return (
            f"{self.task.describe()}\nYou change {names}; the other parameters keep the values "
            "of the best candidate so far (other agents change them)."
        )

    def search_space(self) -> dict[str, Any]:
        space = self.task.search_space()
        return {k: space[k] for k in self.keys if k in space}

    def trace_parameters(self) -> dict[str, ParameterNode]:
        params = self.task.trace_parameters()
        return {k: params[k] for k in self.keys}

    def trace_output(self, candidate_id: str | None, values: dict[str, Any]) -> Node:
        cid = f"{self.agent}.{candidate_id}" if candidate_id is not None else None
        return self.task.trace_output(cid, {**self.incumbent(), **values})

    def set_values(self, values: dict[str, Any]) -> None:
        self.task.set_values({**self.incumbent(), **values})


def _space_keys(task: Any) -> set[str]:
    try:
        return set(task.search_space())
    except NotImplementedError:
        return set()


def assign_parameters(task: Any, agents: list[AgentSpec]) -> dict[str, list[str]]:
    """Agent name -> the parameter keys it owns (see the module docstring).

    Raises:
        SettingsError: a parameter unknown or owned twice, an agent owning nothing, an ask/tell
            agent given a parameter without a range.
    """
    params = task.trace_parameters()
    space = _space_keys(task)
    owner: dict[str, str] = {}
    owned: dict[str, list[str]] = {a.name: [] for a in agents}
    for i, a in enumerate(agents):
        for want in a.parameters:
            key = parameter_key(want, params)
            where = ("agents", i, "parameters")
            if key is None:
                trained = ", ".join(params)
                raise SettingsError([(where, f"{want!r} is not a trained parameter ({trained})")])
            if key in owner:
                msg = f"{want!r} is owned by agent {owner[key]!r} already"
                raise SettingsError([(where, msg)])
            if a.optimizer.name in ASK_TELL and key not in space:
                msg = f"{a.optimizer.name} searches ranges: give {want!r} one in workflow.space"
                raise SettingsError([(where, msg)])
            owner[key] = a.name
            owned[a.name].append(key)
    for i, a in enumerate(agents):
        if a.parameters:
            continue
        ask_tell = a.optimizer.name in ASK_TELL
        free = [k for k in params if k not in owner and (k in space) == ask_tell]
        for key in free:
            owner[key] = a.name
        owned[a.name] = free
        if not free:
            kind = "with a range in workflow.space" if ask_tell else "without a range"
            msg = f"owns no parameter: none {kind} is left; name its parameters"
            raise SettingsError([(("agents", i, "parameters"), msg)])
    return owned


class Parts:
    """How a team composes candidates on one kind of task (see the module docstring)."""

    def __init__(self, task: Any) -> None:
        self.task = task

    def initial(self) -> dict[str, Any]:
        """The incumbent before any candidate was evaluated."""
        raise NotImplementedError

    def assign(self, agents: list[AgentSpec]) -> dict[str, list[str]]:
        """Agent name -> the parts it owns (`SettingsError` located at the agent's entry)."""
        raise NotImplementedError

    def view(
        self, agent: str, keys: list[str], incumbent: Incumbent, *, probe: bool = False
    ) -> Any:
        """The task `agent` sees; with `probe`, a stand-in for one whose shape depends on the
        incumbent (`space_key`), to check the agent's settings before it has anything to do."""
        raise NotImplementedError

    def changes(self, payload: dict[str, Any], keys: list[str]) -> dict[str, Any] | str:
        """The parts an agent's candidate (`payload`) changes, or why it is not acceptable."""
        raise NotImplementedError

    def merge(self, incumbent: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
        """The full candidate: `changes` on the incumbent."""
        return {**incumbent, **changes}

    def payload(self, agent_payload: dict[str, Any], full: dict[str, Any]) -> dict[str, Any]:
        """What is evaluated for the full candidate `full`."""
        raise NotImplementedError

    def ready(self, keys: list[str], incumbent: dict[str, Any]) -> bool:
        """Whether an agent owning `keys` has anything to change now."""
        return True

    def space_key(self, keys: list[str], incumbent: dict[str, Any]) -> str | None:
        """What an agent owning `keys` was built for: when it changes, the agent is rebuilt
        (None: never)."""
        return None


class WorkflowParts(Parts):
    """A ``workflow`` task's traced parameters."""

    def initial(self) -> dict[str, Any]:
        return dict(self.task.initial)

    def assign(self, agents: list[AgentSpec]) -> dict[str, list[str]]:
        return assign_parameters(self.task, agents)

    def view(
        self, agent: str, keys: list[str], incumbent: Incumbent, *, probe: bool = False
    ) -> Any:
        return OwnedTask(self.task, agent, keys, incumbent)

    def changes(self, payload: dict[str, Any], keys: list[str]) -> dict[str, Any] | str:
        params = payload.get("params")
        if not isinstance(params, dict):
            return "no params dict"
        stray = sorted(set(params) - set(keys))
        return f"parameters it does not own: {stray}" if stray else dict(params)

    def payload(self, agent_payload: dict[str, Any], full: dict[str, Any]) -> dict[str, Any]:
        return {**agent_payload, "params": full}


class KnobView(_View):
    """The MPI task as the knob tuner sees it: the knobs the incumbent code declares."""

    def __init__(self, task: MpiTask, incumbent: Incumbent, *, probe: bool = False) -> None:
        super().__init__(task, incumbent)
        self.probe = probe  # a stand-in space, to check the tuner's settings up front

    def describe(self) -> str:
        return (
            f"Tune the compile-time knobs of an MPI kernel for the problem "
            f"{self.task.problem.name}: {self.task.problem.spec.description} The code is "
            f"fixed (another agent writes it); the score ({self.primary}) is measured by the "
            "judge at every rank count."
        )

    def search_space(self) -> dict[str, Any]:
        """The incumbent code's knobs as ranges (``hpo`` parameters)."""
        if self.probe:
            return {"KNOB": IntParam(type="int", low=1, high=2)}
        space = knob_space(declared_knobs(self.incumbent()))
        return {name: _PARAM.validate_python(rng) for name, rng in space.items()}


def declared_knobs(incumbent: dict[str, Any]) -> list[Knob]:
    """The knobs the incumbent's code declares (none before there is code)."""
    code = incumbent.get("code")
    return parse_knobs(code)[0] if isinstance(code, str) else []


KNOB_NOTE = """
You may leave settings that change speed but not the result (a block or chunk size, a choice
between collectives or between a collective and point-to-point messages) to a tuner: declare
each as a compile-time knob with its range, then give it a default. For example:
// @knob CHUNK int 64 65536 log
// @knob USE_ALLREDUCE choice 0 1
#ifndef CHUNK
#define CHUNK 4096
#endif
#ifndef USE_ALLREDUCE
#define USE_ALLREDUCE 1
#endif
The tuner compiles your code with other values (-DCHUNK=1024) and measures its time; every
value in a knob's range must give the right result.
"""


class KnobParts(Parts):
    """An ``mpi`` task: the kernel's ``code`` and the ``knobs`` it declares."""

    PARTS = ("code", "knobs")
    tuned = False  # an agent owns the knobs (set by `assign`)

    def initial(self) -> dict[str, Any]:
        return {"code": None, "knobs": {}}

    def assign(self, agents: list[AgentSpec]) -> dict[str, list[str]]:
        owner: dict[str, str] = {}
        owned: dict[str, list[str]] = {a.name: [] for a in agents}
        for i, a in enumerate(agents):
            ask_tell = a.optimizer.name in ASK_TELL
            wants = a.parameters or (["knobs"] if ask_tell else ["code"])
            where = ("agents", i, "parameters")
            for want in wants:
                if want not in self.PARTS:
                    msg = f"{want!r} is not a part of an mpi task (code, knobs)"
                    raise SettingsError([(where, msg)])
                if ask_tell != (want == "knobs"):
                    who = "an ask/tell optimizer" if ask_tell else "a code agent"
                    fit = "knobs" if ask_tell else "code"
                    raise SettingsError([(where, f"{a.optimizer.name} is {who}: it owns {fit!r}")])
                if want in owner:
                    msg = f"{want!r} is owned by agent {owner[want]!r} already"
                    raise SettingsError([(where, msg)])
                owner[want] = a.name
                owned[a.name].append(want)
        if "code" not in owner:
            msg = "an mpi task needs a code agent (one owning 'code')"
            raise SettingsError([(("agents",), msg)])
        self.tuned = "knobs" in owner
        return owned

    def view(
        self, agent: str, keys: list[str], incumbent: Incumbent, *, probe: bool = False
    ) -> Any:
        if "knobs" in keys:
            return KnobView(self.task, incumbent, probe=probe)
        # a code agent is told it may declare knobs when another agent tunes them
        return self.task.with_note(KNOB_NOTE) if self.tuned else self.task

    def changes(self, payload: dict[str, Any], keys: list[str]) -> dict[str, Any] | str:
        if "code" in keys:
            code = payload.get("code")
            if not isinstance(code, str) or not code.strip():
                return "no code"
            return {"code": code}
        params = payload.get("params")
        if not isinstance(params, dict):
            return "no params dict"
        return {"knobs": dict(params)}

    def merge(self, incumbent: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
        if "code" not in changes:
            return {**incumbent, **changes}
        declared = {k.name: k for k in parse_knobs(changes["code"])[0]}
        kept = {
            name: value
            for name, value in (incumbent.get("knobs") or {}).items()
            if name in declared and declared[name].check(value) is None
        }
        return {"code": changes["code"], "knobs": kept}

    def payload(self, agent_payload: dict[str, Any], full: dict[str, Any]) -> dict[str, Any]:
        out = {k: v for k, v in agent_payload.items() if k not in ("params", "knobs")}
        return {**out, "code": full["code"], "language": "cpp", "knobs": dict(full["knobs"])}

    def ready(self, keys: list[str], incumbent: dict[str, Any]) -> bool:
        return "knobs" not in keys or bool(declared_knobs(incumbent))

    def space_key(self, keys: list[str], incumbent: dict[str, Any]) -> str | None:
        if "knobs" not in keys:
            return None
        return json.dumps(knob_space(declared_knobs(incumbent)), sort_keys=True)


def parts_for(task: Any) -> Parts:
    """The parts of `task`'s kind.

    Raises:
        SettingsError: a kind agents cannot share.
    """
    if isinstance(task, ProvidesTraceParameters):
        return WorkflowParts(task)
    if isinstance(task, MpiTask):
        return KnobParts(task)
    raise SettingsError(
        [
            (
                ("agents",),
                "agents compose the parameters of a workflow task (kind: workflow) or the code "
                f"and knobs of an mpi task (kind: mpi); got {type(task).__name__}",
            )
        ]
    )
