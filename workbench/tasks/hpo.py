"""The `hpo` task kind: tune the parameters of an objective over a search space.

The objective is either a Python callable, ``objective: "module:function"`` (run in this process:
it is the user's own code, called as ``function(params, **args)``), or a shell command whose last
output line is the score (run through `workbench.sandbox`; ``{name}`` in the command is replaced by
the parameter's value and ``params.json`` holds them all). Either may return one number or a JSON
object of named numbers, of which `metric` is the one optimized. With ``parallel > 1`` a callable
is called from several threads at once; `timeout_s` bounds commands only (a thread cannot be
killed), so a callable must bound its own run time.

Example task file::

    name: rf-breast
    kind: hpo
    budget: {evaluations: 30}
    hpo:
      objective: workbench.tasks.bayesmark:objective
      args: {model: RF, dataset: breast}
      metric: cv_score
      space:
        max_depth: {type: int, low: 1, high: 15}
        max_features: {type: float, low: 0.01, high: 0.99}
"""

from __future__ import annotations

import hashlib
import json
import math
import shlex
import time
import traceback
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from workbench.contracts import Candidate, Evaluation
from workbench.quantities import Count, FiniteFloat, Positive, Seconds
from workbench.sandbox import Limits
from workbench.tasks._resolve import check_command, existing_files, module_file, resolve_callable
from workbench.tasks.base import Kind, RunContext, Task
from workbench.tasks.schema import TaskFile

__all__ = [
    "KIND",
    "CategoricalParam",
    "FloatParam",
    "HpoSection",
    "HpoTask",
    "IntParam",
    "resolve_callable",
]

_STRICT = ConfigDict(extra="forbid")


class FloatParam(BaseModel):
    """A float in [low, high], sampled on a log scale when `log`."""

    model_config = _STRICT
    type: Literal["float"]
    low: FiniteFloat
    high: FiniteFloat
    log: bool = False
    step: Positive | None = None

    @model_validator(mode="after")
    def _range(self) -> FloatParam:
        if self.low >= self.high:
            raise ValueError(f"need finite low < high, got low={self.low}, high={self.high}")
        if self.log and self.low <= 0:
            raise ValueError(f"log scale needs low > 0, got low={self.low}")
        if self.log and self.step is not None:
            raise ValueError("step cannot be combined with log")
        return self

    def check(self, value: Any) -> str | None:
        """None when `value` is valid, else why not."""
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        if not ok or not (self.low <= value <= self.high):
            return f"must be a number in [{self.low}, {self.high}], got {value!r}"
        return None


class IntParam(BaseModel):
    """An integer in [low, high], sampled on a log scale when `log`."""

    model_config = _STRICT
    type: Literal["int"]
    low: int
    high: int
    log: bool = False
    step: Count = 1

    @model_validator(mode="after")
    def _range(self) -> IntParam:
        if self.low >= self.high:
            raise ValueError(f"need finite low < high, got low={self.low}, high={self.high}")
        if self.log and self.low <= 0:
            raise ValueError(f"log scale needs low > 0, got low={self.low}")
        if self.log and self.step != 1:
            raise ValueError("step cannot be combined with log")
        return self

    def check(self, value: Any) -> str | None:
        """None when `value` is valid, else why not."""
        ok = isinstance(value, int) and not isinstance(value, bool)
        if not ok or not (self.low <= value <= self.high):
            return f"must be an integer in [{self.low}, {self.high}], got {value!r}"
        return None


class CategoricalParam(BaseModel):
    """One of a list of choices (strings, numbers, booleans or null)."""

    model_config = _STRICT
    type: Literal["categorical"]
    choices: list[str | int | float | bool | None] = Field(min_length=1)

    @field_validator("choices")
    @classmethod
    def _unique(cls, v: list[Any]) -> list[Any]:
        if any(isinstance(c, float) and not math.isfinite(c) for c in v):
            raise ValueError("choices must be finite numbers (no .inf or .nan)")
        if len({json.dumps(c) for c in v}) != len(v):
            raise ValueError("choices must be unique")
        return v

    def check(self, value: Any) -> str | None:
        """None when `value` is valid, else why not."""
        return None if value in self.choices else f"must be one of {self.choices}, got {value!r}"


Param = Annotated[FloatParam | IntParam | CategoricalParam, Field(discriminator="type")]


class HpoSection(BaseModel):
    """`hpo:` — the objective (a callable or a command) and the search space."""

    model_config = _STRICT
    objective: str | None = Field(None, pattern=r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$")
    command: list[str] | str | None = None
    files: list[str] = Field(default_factory=list, description="copied into the sandbox")
    args: dict[str, Any] = Field(default_factory=dict, description="keyword arguments")
    metric: str = Field("score", min_length=1)
    direction: Literal["maximize", "minimize"] = "maximize"
    timeout_s: Seconds = 600
    space: dict[str, Param] = Field(min_length=1)

    @field_validator("objective")
    @classmethod
    def _importable(cls, v: str | None, info: ValidationInfo) -> str | None:
        if v is not None:
            context = info.context or {}
            resolve_callable(
                v,
                Path(context.get("base_dir", ".")),
                import_timeout_s=context.get("import_timeout_s"),
            )
        return v

    @field_validator("files")
    @classmethod
    def _files_exist(cls, v: list[str], info: ValidationInfo) -> list[str]:
        return existing_files(v, Path((info.context or {}).get("base_dir", ".")))

    _command_not_empty = field_validator("command")(check_command)

    @model_validator(mode="after")
    def _one_objective(self) -> HpoSection:
        if (self.objective is None) == (self.command is None):
            raise ValueError("give exactly one of `objective: module:function` or `command:`")
        return self


def _as_scores(value: Any, metric: str) -> dict[str, float]:
    if isinstance(value, dict):
        return {str(k): float(v) for k, v in value.items() if isinstance(v, int | float)}
    if isinstance(value, int | float) and not isinstance(value, bool):
        return {metric: float(value)}
    raise TypeError(f"objective returned {type(value).__name__}, expected a number or a dict")


class HpoTask(Task):
    """Evaluates ``{"params": {...}}`` candidates with the configured objective.

    Args:
        name: the task file's name.
        section: its `hpo:` section.
        workdir: the folder for relative paths and `module:function`.
        description: the task file's `description` (shown to LLM optimizers; not part of the
            fingerprint, since it changes no evaluation).
    """

    def __init__(
        self, name: str, section: HpoSection, workdir: Path, description: str = ""
    ) -> None:
        self.name = name
        self.description = description.strip()
        self.section = section
        self.workdir = workdir
        self.direction = section.direction
        self.primary = section.metric
        self.needs_sandbox = section.command is not None
        self._func = (
            resolve_callable(section.objective, workdir) if section.objective is not None else None
        )

    def search_space(self) -> dict[str, FloatParam | IntParam | CategoricalParam]:
        """The named parameter specs."""
        return dict(self.section.space)

    def config(self) -> dict[str, Any]:
        """Everything that changes an evaluation: the section and the objective's source."""
        conf = {"kind": "hpo", **self.section.model_dump(mode="json")}
        sources = list(self.section.files)
        if self.section.objective is not None:
            file = module_file(self.workdir, self.section.objective.partition(":")[0])
            sources += [str(file)] if file else []
        conf["sources"] = {
            s: hashlib.sha256(Path(s).read_bytes()).hexdigest()
            for s in sources
            if Path(s).is_file()
        }
        return conf

    def describe(self) -> str:
        """The task file's description, then the space and the goal, for LLM optimizers."""
        space = json.dumps(self.section.model_dump(mode="json")["space"])
        goal = f"{self.direction} {self.primary!r} of {self.name!r} over {space}"
        return f"{self.description}\n{goal}" if self.description else goal

    def _invalid(self, params: Any) -> str | None:
        if not isinstance(params, dict):
            return f"payload.params must be a mapping, got {type(params).__name__}"
        missing = sorted(set(self.section.space) - set(params))
        extra = sorted(set(params) - set(self.section.space))
        if missing or extra:
            return f"parameters missing: {missing}, unknown: {extra}"
        problems = [
            f"{k} {why}" for k, p in self.section.space.items() if (why := p.check(params[k]))
        ]
        return "; ".join(problems) or None

    def evaluate(self, candidate: Candidate, ctx: RunContext) -> Evaluation:
        """Run the objective on the candidate's parameters."""
        params = candidate.payload.get("params")
        base = {"candidate_id": candidate.id, "primary": self.primary, "direction": self.direction}
        if why := self._invalid(params):
            return Evaluation(status="error", feedback=f"invalid parameters: {why}", **base)
        start = time.perf_counter()
        if self._func is not None:
            try:
                value = self._func(dict(params), **self.section.args)
                scores = _as_scores(value, self.primary)
            except KeyboardInterrupt:
                raise
            except BaseException as exc:  # sys.exit() too: it ends this evaluation, not the run
                out = traceback.format_exc()
                took = {"eval_s": time.perf_counter() - start}
                msg = f"objective raised {type(exc).__name__}: {exc}"
                return Evaluation(status="error", output=out, timings=took, feedback=msg, **base)
            output = ""
        else:
            status, scores, output, feedback = self._run_command(params, ctx)
            if status != "ok":
                took = {"eval_s": time.perf_counter() - start}
                return Evaluation(
                    status=status, output=output, timings=took, feedback=feedback, **base
                )
        took = {"eval_s": time.perf_counter() - start}
        value = scores.get(self.primary)
        if value is None or not math.isfinite(value):
            why = f"no finite {self.primary!r} among the scores {sorted(scores)}"
            return Evaluation(
                status="failed", scores=scores, output=output, timings=took, feedback=why, **base
            )
        text = f"{self.primary}={value:.6g} for " + ", ".join(f"{k}={v}" for k, v in params.items())
        return Evaluation(
            status="ok", scores=scores, output=output, timings=took, feedback=text, **base
        )

    def _run_command(self, params: dict[str, Any], ctx: RunContext) -> tuple[Any, ...]:
        cmd = self.section.command
        assert cmd is not None
        args = shlex.split(cmd) if isinstance(cmd, str) else list(cmd)
        try:
            args = [a.format(**params) for a in args]
        except (KeyError, IndexError, ValueError) as exc:
            return "error", {}, "", f"command template: {exc!r}"
        files: dict[str, bytes | str] = {
            Path(f).name: Path(f).read_bytes() for f in self.section.files
        }
        files["params.json"] = json.dumps(params)
        result = ctx.sandbox().run(files, args, Limits(timeout_s=self.section.timeout_s))
        output = (result.stdout or "") + (f"\n[stderr]\n{result.stderr}" if result.stderr else "")
        if result.status != "ok":
            status = result.status if result.status in ("timeout", "oom") else "error"
            return (
                status,
                {},
                output,
                f"command ended with {result.status} (exit {result.exit_code})",
            )
        lines = [ln for ln in (result.stdout or "").strip().splitlines() if ln.strip()]
        if not lines:
            return "failed", {}, output, "command printed nothing; its last line must be the score"
        try:
            return "ok", _as_scores(json.loads(lines[-1]), self.primary), output, ""
        except (ValueError, TypeError):
            return "failed", {}, output, f"last output line is not a number: {lines[-1][:80]!r}"


def _factory(task_file: TaskFile) -> HpoTask:
    return HpoTask(
        task_file.name,
        task_file.section,  # type: ignore[arg-type]
        task_file.base_dir,
        description=task_file.description,
    )


KIND = Kind("hpo", HpoSection, _factory)
"""The ``hpo`` task kind (named in `workbench.tasks.base.KINDS`)."""
