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

import contextlib
import hashlib
import importlib
import importlib.util
import json
import os
import shlex
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

__all__ = [
    "check_command",
    "check_import_time",
    "exec_file",
    "existing_files",
    "module_file",
    "resolve_callable",
]

# Imports a file (argv[1], as module argv[2]) or a module by name (argv[2] alone) with the
# parent's import path (argv[3], JSON); nothing else.
_IMPORT_PROBE = """
import importlib, importlib.util, json, sys
path, name = sys.argv[1], sys.argv[2]
sys.path[:] = json.loads(sys.argv[3])
if path:
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
else:
    importlib.import_module(name)
"""


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


def check_import_time(target: Path | str, timeout_s: float) -> None:
    """Import a user's module in a child Python first, which is killed after ``timeout_s``.

    A module that hangs at import (a server started at module level, an endless loop) would
    hang the process importing it; the child's time says so first. The child's outcome is not
    used otherwise: the import in this process reports failures with their reason.

    Args:
        target: a ``.py`` file, or a module name on this process's import path.
        timeout_s: seconds the import may take.

    Raises:
        ValueError: The import took longer than ``timeout_s`` (it is killed, with its children).
    """
    path, name = (
        (str(target), "_workbench_import_check") if isinstance(target, Path) else ("", target)
    )
    with subprocess.Popen(
        [sys.executable, "-c", _IMPORT_PROBE, path, name, json.dumps(sys.path)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # its own process group: whatever it started dies with it
    ) as child:
        try:
            child.wait(timeout=timeout_s)
            return
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):  # it may end just now
                os.killpg(child.pid, signal.SIGKILL)
            child.wait()
    shown = target.name if isinstance(target, Path) else target
    raise ValueError(
        f"importing {shown!r} took longer than {timeout_s:g} s, so it was stopped; an import "
        "must not run the work itself (move it into a function), or allow more time with "
        "--import-timeout SECONDS"
    )


def resolve_callable(
    spec: str, base: Path, *, import_timeout_s: float | None = None
) -> Callable[..., Any]:
    """Import ``module:function``: a ``module.py`` under ``base`` first, then the import path.

    A file under ``base`` is imported once per process (under a name unique to its path).

    Args:
        spec: ``module:function``.
        base: the folder a ``module.py`` is looked for in.
        import_timeout_s: when given, a user's module not yet imported is first imported in a
            child process under this time limit (`check_import_time`); Workbench's own modules
            are imported directly.

    Raises:
        ValueError: With the reason (module or function not found, import failed or too slow).
    """
    module_name, _, func_name = spec.partition(":")
    file = module_file(base, module_name)
    unique = module_name
    if file is not None:
        digest = hashlib.sha256(str(file).encode()).hexdigest()[:10]
        unique = f"_workbench_user_{digest}_{module_name.replace('.', '_')}"
    ours = file is None and (module_name == "workbench" or module_name.startswith("workbench."))
    if import_timeout_s is not None and unique not in sys.modules and not ours:
        # Workbench's own objectives (workbench.tasks.bayesmark, ...) do no work at import
        check_import_time(file or module_name, import_timeout_s)
    try:
        if file is not None:
            module = sys.modules.get(unique) or exec_file(file, unique)
        else:
            module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        raise ValueError(
            f"module {module_name!r} not found (looked for {module_name}.py in {base} and on "
            f"the Python path: {exc})"
        ) from None
    except KeyboardInterrupt:
        raise
    except BaseException as exc:  # sys.exit() at import too: a message, not Workbench's exit
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
