"""What task sections name: user modules, ``module:function`` callables, files and commands.

Shared by the ``hpo`` and ``workflow`` kinds, so both import a user's file, resolve a
``module:function`` and check their ``files:`` and ``command:`` fields the same way.

Example:
    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> _ = (folder / "objective.py").write_text("def f(x):\\n    return 2 * x\\n")
    >>> resolve_callable("objective:f", folder)(21)
    42
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import shlex
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

__all__ = [
    "check_command",
    "exec_file",
    "existing_files",
    "module_file",
    "resolve_callable",
]


def exec_file(path: Path, name: str) -> ModuleType:
    """Import the file at ``path`` as the module ``name`` (registered in ``sys.modules``).

    Dataclasses and other introspection look a module up in ``sys.modules`` while it runs, so
    it is registered first, and removed again when running it fails.

    Raises:
        ValueError: ``path`` cannot be imported as a Python module.
        BaseException: Whatever running the module raised.
    """
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ValueError(f"cannot import {str(path)!r} as a Python module")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
    return module


def module_file(base: Path, module: str) -> Path | None:
    """``base/<module path>.py`` when that file exists (``a.b`` -> ``a/b.py``), else None."""
    path = base.joinpath(*module.split(".")).with_suffix(".py")
    return path if path.is_file() else None


def resolve_callable(spec: str, base: Path) -> Callable[..., Any]:
    """Import ``module:function``: a ``module.py`` under ``base`` first, then the import path.

    A file under ``base`` is imported once per process (under a name unique to its path).

    Raises:
        ValueError: With the reason (module or function not found, import failed).
    """
    module_name, _, func_name = spec.partition(":")
    file = module_file(base, module_name)
    try:
        if file is not None:
            digest = hashlib.sha256(str(file).encode()).hexdigest()[:10]
            unique = f"_workbench_user_{digest}_{module_name.replace('.', '_')}"
            module = sys.modules.get(unique) or exec_file(file, unique)
        else:
            module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        raise ValueError(
            f"module {module_name!r} not found (looked for {module_name}.py in {base} and on "
            f"the Python path: {exc})"
        ) from None
    except Exception as exc:
        raise ValueError(f"importing {module_name!r} failed: {type(exc).__name__}: {exc}") from None
    func = getattr(module, func_name, None)
    if not callable(func):
        raise ValueError(f"module {module_name!r} has no function {func_name!r}")
    return func


def existing_files(names: list[str], base: Path) -> list[str]:
    """The absolute paths of ``names`` (relative to ``base``), which must all be files.

    Raises:
        ValueError: A name is not a file (with the path looked at).
    """
    out = []
    for name in names:
        path = (base / name).resolve()
        if not path.is_file():
            raise ValueError(f"file {name!r} not found (looked for {path})")
        out.append(str(path))
    return out


def check_command(command: list[str] | str | None) -> list[str] | str | None:
    """Return ``command`` unchanged unless it is given but has no words.

    Raises:
        ValueError: The command is empty.
    """
    if command is not None and not (shlex.split(command) if isinstance(command, str) else command):
        raise ValueError("command is empty")
    return command
