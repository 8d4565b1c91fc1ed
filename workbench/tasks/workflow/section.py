"""The ``workflow:`` section of a task file, and loading the user's module from its path.

Example task file::

    name: numeric
    kind: workflow
    optimizer: {name: optoprime}
    budget: {iterations: 5}
    workflow:
      module: numeric.py          # relative to the task file
      entry: run                  # run(**args) -> the output (a traced node)
      parameters: [x]             # names or attribute paths; empty: every trainable one
      feedback: feedback          # feedback(output) -> (score, text); or module:function
      metric: abs_error
      direction: minimize
"""

from __future__ import annotations

import hashlib
import itertools
import shlex
from pathlib import Path
from types import ModuleType
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from workbench.quantities import Seconds
from workbench.tasks._resolve import (
    check_command,
    check_import_time,
    exec_file,
    existing_files,
    module_file,
)
from workbench.tasks.hpo import Param

__all__ = ["WorkflowSection", "load_module"]

_COUNTER = itertools.count()


def load_module(path: Path) -> ModuleType:
    """Import the file at ``path`` as a fresh module (its own parameters, its own state).

    Each call gives a new module object, so two tasks built from one file never share
    parameter values.

    Raises:
        ValueError: The file is missing or importing it failed (with the reason).
    """
    if not path.is_file():
        raise ValueError(f"module file {str(path)!r} not found")
    digest = hashlib.sha256(str(path).encode()).hexdigest()[:10]
    name = f"_workbench_workflow_{digest}_{next(_COUNTER)}_{path.stem}"
    try:
        return exec_file(path, name)
    except KeyboardInterrupt:
        raise
    except BaseException as exc:  # sys.exit() at import too: a message, not Workbench's exit
        raise ValueError(f"importing {str(path)!r} failed: {type(exc).__name__}: {exc}") from None


def _base(info: ValidationInfo) -> Path:
    return Path((info.context or {}).get("base_dir", "."))


def _import_timeout(info: ValidationInfo) -> float | None:
    """Seconds an import of the user's code may take (`workbench validate` sets it)."""
    return (info.context or {}).get("import_timeout_s")


class WorkflowSection(BaseModel):
    """``workflow:`` — the user's module, what to train, and how the output is judged.

    Attributes:
        module: Path of the Python file (relative to the task file) defining the trainable
            values (``node(..., trainable=True)``), functions (``@bundle(trainable=True)``) or
            ``Module`` instances at module level.
        entry: The function running the workflow, called as ``entry(**args)``; its result (a
            traced node) is the output feedback is about. Optional with ``command``. When it
            has a ``context`` parameter it receives the run's `RunContext`: what it runs
            through Workbench (``workbench.optimizers.codegen.solve``: a code generator on a
            problem) then counts in the run's budget and runs in the run's sandbox.
        args: Keyword arguments for ``entry``.
        parameters: Names or attribute paths of the parameters to train (``x``,
            ``solve`` for a bundled function's code, ``agent.prompt``); empty: all of them.
        feedback: ``function`` in the module, or ``module:function`` importable from the task
            folder: ``feedback(output_value) -> (score, text)``.
        command: A test command run in the sandbox (alternative to ``feedback``): the code of
            every code parameter is written to ``solution_file``, all values to
            ``params.json``, and ``files`` are copied next to them.
        files: Files copied into the sandbox for ``command`` (relative to the task file).
        solution_file: Where the code parameters' source goes in the sandbox.
        run_in: Where trainable functions run: ``sandbox`` (the default: each call in the
            run's sandbox; arguments and results must be JSON) or ``process`` (named: the
            generated code then runs inside Workbench's own process, with no sandbox at all).
        sandboxed: Bundled functions of the module that are not trained but whose calls run
            in the sandbox too (with ``run_in: sandbox``), each call its own sandbox run: a
            scorer that fits a model on what a generated function returned, say, so that
            its time and memory are bounded by the sandbox's limits and the generated code
            never shares a process with it. Only the function's source is shipped: it
            imports what it uses inside its body.
        llm: A model for the workflow's own calls (prompt tasks): a model string or the
            fields of an ``llm:`` section; ``entry`` and ``feedback`` receive the client as
            ``llm=`` when their signature has that parameter.
        metric: The score's name.
        direction: Whether larger or smaller scores are better.
        timeout_s: Time limit of one ``command`` run or one sandboxed call.
        space: Ranges of numeric or categorical parameters, by parameter key, as in an ``hpo``
            task's ``space`` (``x: {type: float, low: -10, high: 10}``): what ask/tell
            optimizers (``optuna``, ``llambo``) search. Parameters it does not name keep their
            values.
    """

    model_config = ConfigDict(extra="forbid")
    module: str = Field(min_length=1)
    entry: str | None = Field(None, pattern=r"^[A-Za-z_]\w*$")
    args: dict[str, object] = Field(default_factory=dict)
    parameters: list[str] = Field(default_factory=list)
    feedback: str | None = Field(None, pattern=r"^([A-Za-z_][\w.]*:)?[A-Za-z_]\w*$")
    command: list[str] | str | None = None
    files: list[str] = Field(default_factory=list)
    solution_file: str = Field("solution.py", pattern=r"^[\w.-]+$")
    run_in: Literal["process", "sandbox"] = "sandbox"
    sandboxed: list[str] = Field(default_factory=list)
    llm: str | dict[str, Any] | None = None
    metric: str = Field("score", min_length=1)
    direction: Literal["maximize", "minimize"] = "maximize"
    timeout_s: Seconds = 60
    space: dict[str, Param] = Field(default_factory=dict)

    @field_validator("module")
    @classmethod
    def _module_exists(cls, v: str, info: ValidationInfo) -> str:
        path = (_base(info) / v).resolve()
        if path.suffix != ".py" or not path.is_file():
            raise ValueError(f"module file {v!r} not found (looked for {path}); give a .py path")
        if (timeout_s := _import_timeout(info)) is not None:
            check_import_time(path, timeout_s)
        return str(path)

    @field_validator("feedback")
    @classmethod
    def _feedback_imports(cls, v: str | None, info: ValidationInfo) -> str | None:
        if v is not None and ":" in v and (timeout_s := _import_timeout(info)) is not None:
            name = v.partition(":")[0]
            check_import_time(module_file(_base(info), name) or name, timeout_s)
        return v

    @field_validator("files")
    @classmethod
    def _files_exist(cls, v: list[str], info: ValidationInfo) -> list[str]:
        return existing_files(v, _base(info))

    _command_not_empty = field_validator("command")(check_command)

    @model_validator(mode="after")
    def _one_judge(self) -> WorkflowSection:
        if (self.feedback is None) == (self.command is None):
            raise ValueError("give exactly one of `feedback: function` or `command:`")
        if self.feedback is not None and self.entry is None:
            raise ValueError("`feedback` judges the output of `entry`; name the entry function")
        if self.sandboxed and self.run_in != "sandbox":
            raise ValueError("`sandboxed` functions run in the sandbox; it needs run_in: sandbox")
        return self

    def command_args(self) -> list[str]:
        """The command as an argument list."""
        assert self.command is not None
        return shlex.split(self.command) if isinstance(self.command, str) else list(self.command)
