"""Pieces every code generator shares: the problem from the run, call budgets, reply parsing."""

from __future__ import annotations

from typing import Any

from workbench.contracts import Evaluation
from workbench.errors import ConfigError
from workbench.optimizers.base import RunContext
from workbench.optimizers.codegen.view import Program, extract_python_program
from workbench.sandbox import open_sandbox
from workbench.tasks import ProvidesPublicProblem, ProvidesSandboxConfig
from workbench.tasks.code import CodeProblem

__all__ = ["Program", "calls_left", "code_problem", "extract_program", "program_key", "sandbox_of"]


def code_problem(ctx: RunContext, generator: str) -> CodeProblem:
    """The problem of a `code` task as a generator may see it (no hidden tests).

    Raises:
        ConfigError: the run's task is not a `code` task.
    """
    task = ctx.task
    if not isinstance(task, ProvidesPublicProblem):
        kind = type(task).__name__ if task is not None else "no task"
        raise ConfigError(f"optimizer {generator!r} writes code: use it on a `code` task ({kind})")
    return task.public_problem()


def calls_left(ctx: RunContext) -> int | None:
    """LLM calls the run may still make (None: no call limit)."""
    budget = ctx.budget
    if budget is None or getattr(budget, "calls", None) is None:
        return None
    spent = budget.spent
    return max(int(budget.calls) - (spent.calls - spent.cache_hits), 0)


def sandbox_of(ctx: RunContext, override: str | None = None) -> tuple[Any, bool]:
    """A sandbox for a generator's own runs, and whether the caller must close it.

    The run's own sandbox when the context offers one (``ctx.open_sandbox``); else a new one
    from `override`, the task's `sandbox:` section, or ``auto``.
    """
    if override is None and ctx.open_sandbox is not None:
        return ctx.open_sandbox(), False
    config = override
    if config is None and isinstance(ctx.task, ProvidesSandboxConfig):
        config = ctx.task.sandbox_config
    return open_sandbox(config if config is not None else "auto"), True


def extract_program(reply: str, problem: CodeProblem) -> Program:
    """The module in a model reply that defines `problem`'s entry point.

    Fenced code wins; a bare function body is completed with the prompt; top-level script
    lines (``print(f(3))``) are dropped. A reply without usable code gives `Program.error`,
    a message fit to send back to the model. (`PythonView.extract`; C++: `MpiView.extract`.)
    """
    return extract_python_program(reply, problem)


PRIMARY = "public_pass_rate"


def track_best(
    best: dict[str, Any] | None, codes: dict[str, str], evaluations: list[Evaluation]
) -> tuple[dict[str, Any] | None, bool]:
    """Fold evaluations of proposed programs into the best so far (by public pass rate).

    The score is each evaluation's primary (``public_pass_rate`` of a `code` task,
    ``np_pass_rate`` of an `mpi` task: both count public checks only).

    Args:
        best: the best program so far (``{"id", "code", "score", "feedback"}``) or None.
        codes: the pending programs by candidate id; an observed one is removed, so a step
            re-run after a crash (or a candidate that is not ours) is skipped.
        evaluations: what the loop observed.

    Returns:
        The new best, and whether some program passed every public test.
    """
    solved = False
    for e in evaluations:
        code = codes.pop(e.candidate_id, None)
        if code is None:
            continue
        score = float(e.scores.get(e.primary or PRIMARY, 0.0))
        if best is None or score > best["score"]:
            best = {"id": e.candidate_id, "code": code, "score": score, "feedback": e.feedback}
        if e.status == "ok" and score >= 1.0:
            solved = True
    return best, solved


def program_key(code: str) -> str:
    """`code` without blank lines and indentation: what makes two programs the same."""
    return "\n".join(line.strip() for line in code.splitlines() if line.strip())
