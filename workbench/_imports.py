"""Late imports of heavy third-party packages, in one place (STYLE habit 18).

Imports sit at the top of modules so that readers and tools see the real dependency graph. A
package that costs a noticeable part of a command's start-up and that many commands never use
is named there too, but through `lazy_import`: the name is bound at the top, the package is
imported on first use. Today that is `openai` (only calls to a model need it).

The registries (optimizers, task kinds) are tables of ``"module:attr"`` strings, resolved by
`import_object` when a name is used: a run imports the optimizer and the kind it names, not
every one that exists.

Example:
    >>> from workbench._imports import lazy_import
    >>> json = lazy_import("json")
    >>> json.dumps([1])
    '[1]'
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import Any

__all__ = ["import_object", "lazy_import"]


class _LazyModule(types.ModuleType):
    """A module object that imports the real module the first time an attribute is read."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self._wb_module: types.ModuleType | None = None

    def _load(self) -> types.ModuleType:
        if self._wb_module is None:
            self._wb_module = importlib.import_module(self.__name__)
            self.__dict__.update(self._wb_module.__dict__)
        return self._wb_module

    def __getattr__(self, item: str) -> Any:
        return getattr(self._load(), item)


def lazy_import(name: str) -> types.ModuleType:
    """A stand-in for ``import <name>`` that imports the package on first attribute access.

    Args:
        name: the absolute module name.

    Returns:
        the module itself when it is already imported, else a proxy that loads it when used.
    """
    module = sys.modules.get(name)
    return module if module is not None else _LazyModule(name)


def import_object(target: str) -> Any:
    """The object a ``"package.module:attr"`` string names (the module is imported).

    Raises:
        ValueError: `target` is not of the form ``module:attr``.
        ImportError: the module cannot be imported.
        AttributeError: the module has no such attribute.
    """
    module, sep, attr = target.partition(":")
    if not sep or not module or not attr:
        raise ValueError(f"{target!r} is not of the form 'module:attr'")
    obj: Any = importlib.import_module(module)
    for part in attr.split("."):
        obj = getattr(obj, part)
    return obj
