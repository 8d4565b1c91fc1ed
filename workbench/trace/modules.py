"""``Module`` / ``@model``: classes whose trainable parameters can be listed, saved and loaded.

Parameters are found through attributes, nested modules, lists, tuples and dicts, and bundled
methods (each instance has its own code parameter). Each gets a stable name — its attribute
path, such as ``planner.prompt`` or ``solve.__code`` — so a JSON file written by ``save`` can be
loaded into a fresh instance in another process. No pickle: values must be JSON-able
(str, int, float, bool, None, lists, tuples, dicts with str keys).

Example:
    >>> class Agent(Module):
    ...     def __init__(self):
    ...         self.prompt = node("Be brief.", trainable=True)
    >>> sorted(Agent().named_parameters())
    ['prompt']
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, TypeVar

from workbench.errors import ConfigError
from workbench.trace.bundle import FunModule
from workbench.trace.nodes import ParameterNode

__all__ = ["FORMAT", "Module", "model", "named_parameters"]

FORMAT = "workbench.trace.parameters/1"
T = TypeVar("T", bound=type)


def _walk(obj: Any, prefix: str, out: dict[str, ParameterNode], seen: set[int]) -> None:
    if id(obj) in seen:
        return
    if isinstance(obj, ParameterNode):
        if obj.trainable:
            seen.add(id(obj))
            out.setdefault(prefix, obj)
        return
    if isinstance(obj, FunModule):
        seen.add(id(obj))
        for p in obj.parameters():
            _walk(p, f"{prefix}.__code", out, seen)
        return
    dot = f"{prefix}." if prefix else ""
    if isinstance(obj, list | tuple):
        seen.add(id(obj))
        for i, item in enumerate(obj):
            _walk(item, f"{dot}{i}", out, seen)
    elif isinstance(obj, dict):
        seen.add(id(obj))
        for key, item in obj.items():
            _walk(item, f"{dot}{key}", out, seen)
    elif isinstance(obj, Module):
        seen.add(id(obj))
        for name in _bundled_method_names(type(obj)):
            _walk(getattr(obj, name), f"{dot}{name}", out, seen)
        for name, value in vars(obj).items():
            if not name.startswith("__trace"):
                _walk(value, f"{dot}{name}", out, seen)


def _bundled_method_names(cls: type) -> list[str]:
    names: dict[str, None] = {}
    for klass in reversed(cls.__mro__):
        for name, value in vars(klass).items():
            if isinstance(value, FunModule) and value.parameter is not None:
                names[name] = None
    return list(names)


def named_parameters(obj: Any) -> dict[str, ParameterNode]:
    """Trainable parameters reachable from ``obj``, keyed by attribute path (first path wins)."""
    out: dict[str, ParameterNode] = {}
    _walk(obj, "", out, set())
    for path, param in out.items():
        param.path = path
    return out


def _to_json(path: str, value: Any) -> Any:
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, tuple):
        return {"__tuple__": [_to_json(path, v) for v in value]}
    if isinstance(value, list):
        return [_to_json(path, v) for v in value]
    if isinstance(value, dict) and all(isinstance(k, str) for k in value):
        return {k: _to_json(path, v) for k, v in value.items()}
    raise TypeError(
        f"parameter {path!r} holds a {type(value).__name__}, which cannot be saved as JSON; "
        "use str, numbers, bool, None, lists, tuples or dicts with str keys"
    )


def _from_json(value: Any) -> Any:
    if isinstance(value, list):
        return [_from_json(v) for v in value]
    if isinstance(value, dict):
        if set(value) == {"__tuple__"}:
            return tuple(_from_json(v) for v in value["__tuple__"])
        return {k: _from_json(v) for k, v in value.items()}
    return value


class Module:
    """Base class for anything that holds trainable parameters."""

    def named_parameters(self) -> dict[str, ParameterNode]:
        """Trainable parameters keyed by stable attribute path."""
        return named_parameters(self)

    def parameters(self) -> list[ParameterNode]:
        """Trainable parameters (attributes, nested modules, containers, bundled methods)."""
        return list(self.named_parameters().values())

    def parameters_dict(self) -> dict[str, Any]:
        """Path -> current value."""
        return {path: p._data for path, p in self.named_parameters().items()}

    def zero_feedback(self) -> None:
        """Clear the feedback of every parameter."""
        for p in self.parameters():
            p.zero_feedback()

    def save(self, path: str | Path) -> None:
        """Write the parameters' values as JSON.

        Raises:
            TypeError: A value is not JSON-able (the message names the parameter).
        """
        values = {k: _to_json(k, v) for k, v in self.parameters_dict().items()}
        doc = {"format": FORMAT, "class": type(self).__qualname__, "parameters": values}
        Path(path).write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n")

    def load(self, path: str | Path) -> None:
        """Set the parameters from a file written by :meth:`save`.

        Raises:
            ConfigError: The file is not such a file, or its names do not match this object's.
        """
        try:
            doc = json.loads(Path(path).read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise ConfigError(f"cannot read parameters from {path}: {exc}") from exc
        if not isinstance(doc, dict) or doc.get("format") != FORMAT:
            raise ConfigError(f"{path} is not a parameter file written by Module.save")
        params = self.named_parameters()
        saved = doc["parameters"]
        missing, unknown = sorted(set(params) - set(saved)), sorted(set(saved) - set(params))
        if missing or unknown:
            raise ConfigError(
                f"{path} does not match {type(self).__qualname__}: missing {missing}, "
                f"unknown {unknown}; was it saved from another class?"
            )
        for name, value in saved.items():
            params[name].set(_from_json(value))


def model(cls: T) -> T:
    """Class decorator: make ``cls`` a :class:`Module` (same name, module and behaviour)."""
    if issubclass(cls, Module):
        return cls
    new = type(
        cls.__name__,
        (cls, Module),
        {"__module__": cls.__module__, "__qualname__": cls.__qualname__, "__doc__": cls.__doc__},
    )
    return new  # type: ignore[return-value]
