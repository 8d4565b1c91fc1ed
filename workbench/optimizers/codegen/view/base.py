"""`ProblemView`: one problem as a code generator may see it, whatever the task kind.

A generator (``sample``, ``funcoder``, ``pgtd``) asks the view, not the task, for what it
needs: the language, the code prompt the model completes, the function to write, how a reply
becomes a program, how a program becomes a candidate payload, and how programs run on the
*public* checks (with feedback). `PythonView` serves the `code` kind, `MpiView` the `mpi` kind;
neither shows a generator hidden tests or reference solutions.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any

from workbench.optimizers.codegen.codetree import CodeTree, FunctionNode

__all__ = ["ProblemView", "Program", "PublicReward", "PublicRun"]


@dataclass
class Program:
    """A module parsed from a model reply: the code to run, or why there is none."""

    code: str | None
    error: str | None = None


@dataclass
class PublicRun:
    """One program on the public checks.

    Attributes:
        pass_rate: share of public checks passed (python: tests; mpi: rank counts).
        passed: pass/fail per public check (empty when the program did not get to run them).
        outcomes: per check, ``{"status": "ok"|"crash"|"timeout", "value": ...}`` (the shape of
            `workbench.optimizers.codegen.funcoder.Outcome.from_dict`): what the program did there.
        feedback: the text a model reads about this run.
    """

    pass_rate: float
    passed: list[bool] = field(default_factory=list)
    outcomes: list[dict[str, Any]] = field(default_factory=list)
    feedback: str = ""


class ProblemView(ABC):
    """What every code generator needs from a task (see the module docstring).

    Attributes:
        kind: the task kind (``code`` or ``mpi``).
        language: ``python`` or ``cpp`` (the codetree language, also the fence tag).
        entry: the function the model writes.
        prompt: the code the model completes (signature and doc; ParEval shape for mpi).
        whole_program: FunCoder's consensus runs whole programs on the public checks for every
            function (mpi: there is no harness for a helper alone) instead of model-written
            inputs of that one function (python).
    """

    kind: str
    language: str
    entry: str
    prompt: str
    whole_program: bool = False

    @property
    @abstractmethod
    def examples(self) -> list[str]:
        """Public tests / examples shown to the model, one per line."""

    @abstractmethod
    def extract(self, reply: str) -> Program:
        """The program in a model reply that defines `entry` (or why there is none)."""

    @abstractmethod
    def prompt_tree(self) -> CodeTree:
        """The prompt parsed as a function tree (the entry as a stub)."""

    @abstractmethod
    def parse(self, text: str, *, extract: bool = True) -> CodeTree:
        """A reply or a program as a function tree (raises `CodeParseError`)."""

    @abstractmethod
    def stub(self, fn: FunctionNode) -> str:
        """Function `fn` with header and doc kept and the body hidden."""

    @abstractmethod
    def signature_problems(self, fn: FunctionNode) -> list[str]:
        """How `fn` departs from the entry's required signature (empty when it complies)."""

    @abstractmethod
    def run_public(self, codes: list[str], sandbox: Any, timeout_s: float) -> list[PublicRun]:
        """Run programs on the public checks in the sandbox (in parallel where it can)."""

    def payload(self, code: str) -> dict[str, Any]:
        """The candidate payload of a program."""
        return {"code": code, "language": self.language}


@dataclass
class PublicReward:
    """reward(program) = `PublicRun.pass_rate` on the public checks (PG-TD's reward).

    Attributes:
        view: the problem.
        sandbox: where programs run (set before the first call).
        test_timeout_s: per-test limit (python) or ignored (mpi: the problem's own timeouts).
        runs: programs run; seconds: time spent running them.
    """

    view: ProblemView
    sandbox: Any
    test_timeout_s: float = 5.0
    runs: int = 0
    seconds: float = 0.0

    def __call__(self, program: str) -> float:
        if not program.strip():
            return 0.0
        started = time.monotonic()
        result = self.view.run_public([program], self.sandbox, self.test_timeout_s)[0]
        self.runs += 1
        self.seconds += time.monotonic() - started
        return float(result.pass_rate)
