"""Compose agents on a traced module from Python: the ``agents:`` task file, as a call.

`compose` turns a module of traced parameters (a path, or the module itself), the agents and
what they own (names or the traced objects themselves) into a validated `TaskFile`: the same
task a YAML file with ``kind: workflow`` and an ``agents:`` section gives, so
``workbench.optimize(task)`` runs it, its run folder resumes and reports like any other, and
``task.to_yaml_dict()`` writes it out as a task file. The run loads the module's file afresh:
the objects you hold are never changed by it; the best values are in the summary.

Example:
    >>> import workbench as wb
    >>> import tasks.workflow.team as team  # doctest: +SKIP
    >>> scale_range = {"type": "float", "low": 0.0, "high": 2.0}
    >>> task = wb.compose(
    ...     team,
    ...     entry=team.run,
    ...     feedback=team.feedback,
    ...     agents=[
    ...         wb.Agent("coder", "optoprime", owns=[team.offset]),
    ...         wb.Agent("tuner", "optuna", owns={team.scale: scale_range}),
    ...     ],
    ...     budget={"evaluations": 12},
    ...     direction="minimize",
    ... )  # doctest: +SKIP
    >>> wb.optimize(task)["best"]["score"]  # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Mapping, Sequence
from os import PathLike
from pathlib import Path
from types import ModuleType
from typing import Any

from workbench.errors import ConfigError
from workbench.tasks.loader import parse_task_data
from workbench.tasks.schema import TaskFile
from workbench.trace import FunModule, ParameterNode, named_parameters

__all__ = ["Agent", "compose"]


@dataclasses.dataclass(frozen=True)
class Agent:
    """One agent for `compose`: a registered optimizer bound to the parameters it owns.

    Attributes:
        name: Its name (events, candidates and routing rules name it).
        optimizer: A registered optimizer (``optoprime``, ``llambo``, ``optuna``, ...).
        owns: Its parameters: names (as in ``workflow.parameters``) or the traced objects
            (a ``node(..., trainable=True)``, a ``@bundle(trainable=True)`` function); a
            mapping gives each parameter's range as well (``{C: {"type": "float", "low":
            0.01, "high": 100, "log": True}}``), which goes into ``workflow.space``. Empty:
            those its optimizer can handle that no other agent names.
        settings: The optimizer's settings.
        llm: Its own model (a model string or the fields of an ``llm:`` section).
        share: Its share of the steps.
    """

    name: str
    optimizer: str
    owns: Sequence[Any] | Mapping[Any, Any] = ()
    settings: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    llm: str | Mapping[str, Any] | None = None
    share: float = 1.0


_BUILT = {"name", "kind", "agents", "budget", "routing"}
"""Top-level task keys `compose` builds from its own arguments."""


def _module_path(module: str | PathLike[str] | ModuleType) -> tuple[Path, ModuleType | None]:
    if isinstance(module, ModuleType):
        file = getattr(module, "__file__", None)
        if not file or not str(file).endswith(".py"):
            raise ConfigError(
                f"compose: module {module.__name__!r} has no .py file to load the run from"
            )
        return Path(file).resolve(), module
    return Path(module).resolve(), None


def _namer(module: ModuleType | None) -> Callable[[Any, str], str]:
    """Maps a parameter given as a name or a traced object of `module` to its name."""
    found: dict[int, str] = {}
    if module is not None:
        public = {k: v for k, v in vars(module).items() if not k.startswith("_")}
        for key, param in named_parameters(public).items():
            found[id(param)] = key.removesuffix(".__code")

    def name_of(obj: Any, where: str) -> str:
        if isinstance(obj, str):
            return obj
        target = obj.parameter if isinstance(obj, FunModule) else obj
        if isinstance(target, ParameterNode) and id(target) in found:
            return found[id(target)]
        if module is None:
            raise ConfigError(
                f"compose: {where}: give parameter names, or pass the module object so that "
                f"traced objects can be named (got {obj!r})"
            )
        raise ConfigError(
            f"compose: {where}: {obj!r} is not a trainable parameter of {module.__name__}"
        )

    return name_of


def _function_name(fn: str | Callable[..., Any] | None) -> str | None:
    if fn is None or isinstance(fn, str):
        return fn
    name = getattr(fn, "__name__", None)
    if not isinstance(name, str):
        raise ConfigError(f"compose: {fn!r} has no name; give the function's name")
    return name


def compose(
    module: str | PathLike[str] | ModuleType,
    *,
    agents: Sequence[Agent | Mapping[str, Any]],
    budget: Mapping[str, Any],
    entry: str | Callable[..., Any] | None = "run",
    feedback: str | Callable[..., Any] | None = None,
    routing: Sequence[Mapping[str, Any]] | Mapping[str, Any] = (),
    space: Mapping[Any, Mapping[str, Any]] | None = None,
    name: str | None = None,
    base_dir: str | PathLike[str] | None = None,
    **fields: Any,
) -> TaskFile:
    """A workflow task whose parameters several agents share, validated as a task file is.

    Args:
        module: The traced module: its ``.py`` path, or the imported module (then parameters
            and functions may be given as the objects themselves).
        agents: `Agent`s, or dicts of an ``agents:`` entry.
        budget: The run's budget (``{"evaluations": 30, "llm_calls": 40}``), shared by the
            agents.
        entry: The workflow's function (its name, or the function).
        feedback: The feedback function (its name, or the function); or give ``command=``.
        routing: Routing rules (``[{"when": "error", "agent": "coder"}]``), or the whole
            ``routing:`` section (``{"rules": [...], "policy": "gains"}``).
        space: Further ranges by parameter (name or object), as in ``workflow.space``.
        name: The task's name (default: ``<module stem>-agents``).
        base_dir: Where relative paths (``files``, the module path) resolve (default: the
            module's folder).
        **fields: Other keys: top-level ones (``llm``, ``seed``, ``parallel``, ``stop``,
            ``sandbox``, ``description``, ``workdir``) or of the ``workflow:`` section (``args``,
            ``metric``, ``direction``, ``command``, ``files``, ``sandboxed``, ``run_in``,
            ``timeout_s``, ...).

    Raises:
        ConfigError: every problem, with its field path (``agents.1.parameters: ...``).
    """
    path, mod = _module_path(module)
    name_of = _namer(mod)
    top_keys = set(TaskFile.model_fields) - _BUILT  # the rest is the workflow: section's
    top = {k: v for k, v in fields.items() if k in top_keys}
    section: dict[str, Any] = {k: v for k, v in fields.items() if k not in top_keys}
    ranges: dict[str, Any] = {name_of(k, "space"): dict(v) for k, v in (space or {}).items()}
    specs: list[dict[str, Any]] = []
    for i, a in enumerate(agents):
        if isinstance(a, Mapping):
            specs.append(dict(a))
            continue
        owns = a.owns
        names = [name_of(p, f"agents.{i}.owns") for p in owns]
        if isinstance(owns, Mapping):
            for key, rng in zip(names, owns.values(), strict=True):
                ranges[key] = dict(rng)
        spec: dict[str, Any] = {
            "name": a.name,
            "optimizer": {"name": a.optimizer, "settings": dict(a.settings)},
            "parameters": names,
            "share": a.share,
        }
        if a.llm is not None:
            spec["llm"] = {"model": a.llm} if isinstance(a.llm, str) else dict(a.llm)
        specs.append(spec)
    section.update(module=str(path), entry=_function_name(entry))
    if feedback is not None:
        section["feedback"] = _function_name(feedback)
    if ranges:
        section["space"] = {**section.get("space", {}), **ranges}
    if section["entry"] is None:
        section.pop("entry")
    data: dict[str, Any] = {
        "name": name or f"{path.stem}-agents",
        "kind": "workflow",
        **top,
        "agents": specs,
        "budget": dict(budget),
        "workflow": section,
    }
    if isinstance(routing, Mapping):
        data["routing"] = dict(routing)
    elif routing:
        data["routing"] = {"rules": [dict(r) for r in routing]}
    try:
        data = json.loads(json.dumps(data))  # plain data, as a task file holds
    except TypeError as exc:
        raise ConfigError(f"compose: the task must be plain data (JSON): {exc}") from None
    base = Path(base_dir) if base_dir is not None else path.parent
    return parse_task_data(data, base, source=f"compose({path.name})")
