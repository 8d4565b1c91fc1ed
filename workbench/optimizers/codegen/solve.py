"""`solve`: one code problem, one generator, on a run's context: what a workflow calls.

A workflow whose output is "the code a generator wrote" (a prompt agent tuning FunCoder's
instruction over a split of problems, say) calls `solve` for each problem from inside its
entry, with the ``context`` the run hands it: the generator's model calls then count in the
run's budget and events, and its consensus runs and the problem's tests run in the run's
sandbox. The generator sees the problem without its hidden tests; the `Solution` carries the
hidden pass rate of the program it proposed.

Example:
    >>> from workbench.optimizers.codegen.solve import Solution
    >>> Solution("HumanEval/0", "def f(): ...", "ok", 1.0, 0.5, "").solved
    False
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from workbench.contracts import Evaluation
from workbench.optimizers import make_optimizer
from workbench.tasks import RunContext
from workbench.tasks.code import CodeProblem, CodeSection, CodeTask, load_section_problem

__all__ = ["Solution", "solve"]


@dataclasses.dataclass(frozen=True)
class Solution:
    """What a generator wrote for one problem, and how it fared.

    Attributes:
        problem: The problem's id.
        code: The program (empty when the generator proposed none).
        status: The evaluation's status (``ok``, ``failed``, ``error``, ``timeout``, ...).
        public_pass_rate: The share of the public tests (those the generator saw) passed.
        hidden_pass_rate: The share of the hidden tests passed (None: the problem has none).
        feedback: The public tests' feedback (what failed, and how).
    """

    problem: str
    code: str
    status: str
    public_pass_rate: float
    hidden_pass_rate: float | None
    feedback: str

    @property
    def solved(self) -> bool:
        """Every hidden test passed (every public one when there are no hidden tests)."""
        rate = self.public_pass_rate if self.hidden_pass_rate is None else self.hidden_pass_rate
        return self.status == "ok" and rate == 1.0


def _problem(problem: str | Mapping[str, Any] | CodeProblem) -> CodeProblem:
    if isinstance(problem, CodeProblem):
        return problem
    if isinstance(problem, str):
        return load_section_problem(CodeSection(humaneval=problem))
    return load_section_problem(CodeSection.model_validate({"problem": dict(problem)}))


def _solution(problem: CodeProblem, code: str, ev: Evaluation | None) -> Solution:
    if ev is None:
        return Solution(problem.task_id, code, "error", 0.0, None, "no program was proposed")
    hidden = ev.scores.get("hidden_pass_rate")
    return Solution(
        problem.task_id,
        code,
        ev.status,
        float(ev.scores.get("public_pass_rate", 0.0)),
        None if hidden is None else float(hidden),
        ev.feedback,
    )


def solve(
    problem: str | Mapping[str, Any] | CodeProblem,
    *,
    context: RunContext,
    generator: str = "funcoder",
    settings: Mapping[str, Any] | None = None,
    steps: int = 1,
    test_timeout_s: float = 5.0,
) -> Solution:
    """Run `generator` on `problem` for up to `steps` propose/evaluate rounds; the program
    that passed the most public tests (the first of equals) is the solution.

    Args:
        problem: A HumanEval id (``"HumanEval/12"``), an inline problem (the fields of a
            ``code.problem`` section), or a `CodeProblem`.
        context: The run's context (a workflow entry's ``context`` argument): budget, model
            hooks and sandbox.
        generator: A code generator (``funcoder``, ``sample``, ``pgtd``).
        settings: The generator's settings (FunCoder's ``instruction`` and ``exemplars``...).
        steps: Rounds at most; a round whose program passes every public test is the last.
        test_timeout_s: Time limit of one test run.

    Raises:
        ConfigError, SettingsError: a bad problem or bad settings.
        BudgetExceeded: the run's budget ran out (the run stops as at any model call).
    """
    full = _problem(problem)
    task = CodeTask(full.task_id, full, test_timeout_s=test_timeout_s)
    ctx = context.child(task=task, run_dir=None, emit=None)
    optimizer = make_optimizer(generator, dict(settings or {}), ctx)
    best: tuple[str, Evaluation] | None = None
    try:
        for _ in range(max(1, steps)):
            candidates = optimizer.propose(1)
            if not candidates:
                break
            evaluations = [task.evaluate(c, ctx) for c in candidates]
            optimizer.observe(evaluations)
            for c, ev in zip(candidates, evaluations, strict=True):
                rate = ev.scores.get("public_pass_rate", 0.0)
                if best is None or rate > best[1].scores.get("public_pass_rate", 0.0):
                    best = (str(c.payload.get("code", "")), ev)
            if best is not None and best[1].scores.get("public_pass_rate") == 1.0:
                break
    finally:
        optimizer.close()
    return _solution(full, best[0] if best else "", best[1] if best else None)
