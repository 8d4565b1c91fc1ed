"""The `mpi` task kind: write one C++ function that uses MPI, judged at several rank counts.

The problem is a folder of the library (``tasks/mpi/<name>``, by name) or any problem folder (a
path, relative to the task file). A candidate's payload is ``{"code": <C++ source of the function,
or its body>, "language": "cpp"}``, and optionally ``"knobs": {NAME: value}``: values of the knobs
the code declares (``// @knob`` lines, `workbench.tasks.mpi.knobs`), set at compile time.
Evaluation checks the source, compiles it with the problem's driver (the driver object is built
once per run and image) and runs it through the judge's cascade in one sandbox call
(`workbench.tasks.mpi.evaluate`); `Evaluation.stage` names the stage a candidate stopped at.

Scores: ``np_pass_rate`` (primary, maximized: the fraction of rank counts that validated),
``passed`` (1 when every np validated), ``speedup`` (serial reference time over the candidate's
time at the largest np, 0 unless passed), ``best_speedup`` and ``compile_s``; with ``mpi:
{objective: speed}`` the primary is ``speed_score`` (`speed_score`). Status ``ok`` means
the code compiled and ran (the pass rate is then the score); ``error`` covers a rejected source
(no MPI, MPI_Init/Finalize/Abort), a compile error and a failed sandbox call.

Example task file::

    name: dot
    kind: mpi
    optimizer: {name: sample}
    budget: {iterations: 5, llm_calls: 20}
    mpi:
      problem: reduce_dot_product
"""

from __future__ import annotations

import copy
import dataclasses
import time
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from workbench.contracts import Candidate, Evaluation
from workbench.errors import WorkbenchError
from workbench.tasks.base import RunContext, Task
from workbench.tasks.mpi.prebuild import DriverCache
from workbench.tasks.mpi.problem import MpiProblem, library_dir, load_problem
from workbench.tasks.mpi.results import MpiResult
from workbench.tasks.mpi.runner import evaluate

__all__ = ["MpiSection", "MpiTask", "mpi_task_factory", "resolve_problem_dir"]

PRIMARY = "np_pass_rate"
SPEED = "speed_score"
LANGUAGES = ("cpp", "c++", "cxx", "mpi")


def resolve_problem_dir(problem: str, base: Path) -> Path:
    """A library name (``reduce_dot_product``) or a folder path relative to `base`."""
    if "/" not in problem and "\\" not in problem and (library_dir() / problem).is_dir():
        return library_dir() / problem
    return (base / problem).resolve()


class MpiSection(BaseModel):
    """`mpi:` — which problem, and whether to check the source before compiling it."""

    model_config = ConfigDict(extra="forbid")
    problem: str = Field(min_length=1, description="library name or problem folder")
    check_source: bool = Field(True, description="refuse code without MPI or with MPI_Init")
    objective: Literal["pass_rate", "speed"] = Field(
        "pass_rate",
        description=(
            "pass_rate: maximize np_pass_rate; speed: maximize speed_score, which is "
            "np_pass_rate for a failed candidate and 1 + its slowest timed trial's speedup at "
            "speed_np for a correct one (any correct program beats every failed one, and a "
            "faster one must be faster than the spread of its trials)"
        ),
    )
    speed_np: int = Field(2, ge=1, description="the np whose speedup the speed objective counts")

    @field_validator("problem")
    @classmethod
    def _loads(cls, v: str, info: ValidationInfo) -> str:
        base = Path((info.context or {}).get("base_dir", "."))
        path = resolve_problem_dir(v, base)
        try:
            load_problem(path)
        except WorkbenchError as exc:
            names = ", ".join(p.name for p in sorted(library_dir().glob("*/")) if p.is_dir())
            raise ValueError(f"{exc} (library problems: {names})") from None
        return str(path)


class MpiTask(Task):
    """Evaluates ``{"code", "language": "cpp"}`` candidates on an `MpiProblem`."""

    needs_sandbox = True
    direction = "maximize"
    primary = PRIMARY

    def __init__(
        self,
        name: str,
        problem: MpiProblem,
        *,
        check_source: bool = True,
        objective: str = "pass_rate",
        speed_np: int = 2,
    ) -> None:
        self.name = name
        self.problem = problem
        self.check_source = check_source
        self.objective = objective
        self.speed_np = speed_np
        self.primary = SPEED if objective == "speed" else PRIMARY
        self.drivers = DriverCache()

    def with_note(self, note: str) -> MpiTask:
        """This task with `note` added to the problem's prompt (what a code agent is told);
        the same problem otherwise, and the same driver cache."""
        spec = self.problem.spec.model_copy(update={"prompt": self.problem.spec.prompt + note})
        task = copy.copy(self)
        task.problem = dataclasses.replace(self.problem, spec=spec)
        return task

    def config(self) -> dict[str, Any]:
        """The problem's sources and spec (part of evaluation cache keys)."""
        p = self.problem
        return {
            "kind": "mpi",
            "name": self.name,
            "spec": p.spec.model_dump(mode="json"),
            "driver": p.driver,
            "reference": p.reference,
            "check_source": self.check_source,
            "objective": self.objective,
            "speed_np": self.speed_np,
        }

    def describe(self) -> str:
        """The ParEval-style prompt, for LLM-driven optimizers."""
        return (
            f"Write the body of the C++ function {self.problem.function}() using MPI "
            f"(it runs at np = {self.problem.np}):\n{self.problem.prompt}\n"
        )

    def evaluate(self, candidate: Candidate, ctx: RunContext) -> Evaluation:
        """Check, compile and run the candidate at every np of the problem."""
        code = candidate.payload.get("code")
        language = str(candidate.payload.get("language", "cpp")).lower()
        base = {"candidate_id": candidate.id, "primary": PRIMARY, "direction": "maximize"}
        if not isinstance(code, str) or not code.strip():
            return Evaluation(
                status="error",
                scores={PRIMARY: 0.0},
                feedback="payload.code must be non-empty C++ source",
                **base,
            )
        if language not in LANGUAGES:
            return Evaluation(
                status="error",
                scores={PRIMARY: 0.0},
                feedback=f"the mpi kind compiles C++ (language: cpp), got {language!r}",
                **base,
            )
        knobs = candidate.payload.get("knobs") or {}
        if not isinstance(knobs, dict):
            return Evaluation(
                status="error",
                scores={PRIMARY: 0.0},
                feedback="payload.knobs must map knob names to numbers",
                **base,
            )
        start = time.perf_counter()
        result = evaluate(
            self.problem,
            code,
            ctx.sandbox(),
            check=self.check_source,
            drivers=self.drivers,
            knobs=knobs,
        )
        evaluation = to_evaluation(result, candidate.id, time.perf_counter() - start)
        if self.objective == "speed":
            evaluation.scores[SPEED] = speed_score(result, self.speed_np)
            evaluation.primary = SPEED
        return evaluation


def speed_score(result: MpiResult, np: int) -> float:
    """The speed objective: the np pass rate of a failed candidate (below 1); 1 + the speedup
    of its slowest timed trial at `np` for a correct one, so a faster program beats the
    incumbent only outside the spread of its own trials."""
    runs = result.runs
    run = result.run(np) or (max(runs, key=lambda r: r.np) if runs else None)
    t_ref = result.reference_time()
    if not result.passed or run is None or not t_ref:
        # correct at every np but not timed: still below a pass
        return min(result.np_pass_rate, 0.999)
    slowest = max(run.times) if run.times else run.time_candidate
    return 1.0 + (t_ref / slowest if slowest else 0.0)


def to_evaluation(result: MpiResult, candidate_id: str, eval_s: float) -> Evaluation:
    """An `MpiResult` as the loop's `Evaluation` (see the module docstring for the scores)."""
    runs = result.runs
    scores = {
        PRIMARY: result.np_pass_rate,
        "passed": 1.0 if result.passed else 0.0,
        "speedup": result.speedup(),
        "best_speedup": result.best_speedup(),
    }
    for r in runs:
        if r.time_candidate is not None:
            scores[f"time_np{r.np}"] = r.time_candidate
    t_ref = result.reference_time()
    if t_ref is not None:
        scores["time_reference"] = t_ref
    status = "ok" if result.status in ("ok", "failed") else "error"
    shown = [(f"smoke np={result.smoke.np}", result.smoke)] if result.smoke is not None else []
    shown += [(f"np={r.np}", r) for r in runs]
    printed = [(name, r.stdout + r.stderr) for name, r in shown]
    output = "\n".join(f"[{name}]\n{text}" for name, text in printed if text)
    return Evaluation(
        candidate_id=candidate_id,
        status=status,
        scores=scores,
        primary=PRIMARY,
        direction="maximize",
        tests=[
            {"name": f"np={r.np}", "passed": r.passed, "message": "" if r.passed else r.detail}
            for r in runs
        ],
        output=result.compile_output + ("\n" + output if output else ""),
        timings={"eval_s": eval_s, **result.timings},
        feedback=result.feedback,
        stage=result.stage,
    )


def mpi_task_factory(task_file: Any) -> MpiTask:
    """Build the `MpiTask` of a loaded task file."""
    section: MpiSection = task_file.section
    return MpiTask(
        task_file.name,
        load_problem(section.problem),
        check_source=section.check_source,
        objective=section.objective,
        speed_np=section.speed_np,
    )
