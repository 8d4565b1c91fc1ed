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
time at the largest np, 0 unless passed), ``best_speedup`` and ``compile_s``. Status ``ok`` means
the code compiled and ran (the pass rate is then the score); ``error`` covers a rejected source
(no MPI, MPI_Init/Finalize/Abort), a compile error and a failed sandbox call.

Example task file::

    name: dot
    kind: mpi
    optimizer: {name: optoprime}
    budget: {iterations: 5, llm_calls: 20}
    mpi:
      problem: reduce_dot_product
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

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

    def __init__(self, name: str, problem: MpiProblem, *, check_source: bool = True) -> None:
        self.name = name
        self.problem = problem
        self.check_source = check_source
        self.drivers = DriverCache()

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
        return to_evaluation(result, candidate.id, time.perf_counter() - start)


def to_evaluation(result: MpiResult, candidate_id: str, eval_s: float) -> Evaluation:
    """An `MpiResult` as the loop's `Evaluation` (see the module docstring for the scores)."""
    runs = result.runs
    rate = sum(r.passed for r in runs) / len(runs) if runs else 0.0
    scores = {
        PRIMARY: rate,
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
    return MpiTask(task_file.name, load_problem(section.problem), check_source=section.check_source)
