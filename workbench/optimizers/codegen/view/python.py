"""`PythonView`: a `code` task's problem (Python, public tests only) for the generators."""

from __future__ import annotations

from typing import Any

from workbench.optimizers.codegen.codetree import (
    CodeParseError,
    CodeTree,
    FunctionNode,
    assemble,
    check_signature,
    extract_code,
    parse_python,
    render_python_function,
)
from workbench.optimizers.codegen.view.base import ProblemView, Program, PublicRun
from workbench.tasks.code import CodeProblem, complete_code, evaluate_many

__all__ = ["STUB_BODY", "PythonView", "extract_python_program"]

STUB_BODY = "raise NotImplementedError()"


def extract_python_program(reply: str, problem: CodeProblem) -> Program:
    """The module in a model reply that defines `problem`'s entry point.

    Fenced code wins; a bare function body is completed with the prompt; top-level script
    lines (``print(f(3))``) are dropped. A reply without usable code gives `Program.error`,
    a message fit to send back to the model.
    """
    try:
        tree = parse_python(reply)
    except CodeParseError as exc:
        tree, error = None, str(exc)
    if tree is None or problem.entry_point not in tree.functions:
        # a HumanEval-style body (indented statements): complete it with the prompt
        body = extract_code(reply, "python") or reply
        body = body.strip("\n") + "\n"
        completed = complete_code(problem, body)
        if completed != body:
            try:
                tree = parse_python(completed, extract=False)
            except CodeParseError as exc:
                return Program(None, str(exc))
    if tree is None:
        return Program(None, error)
    if problem.entry_point not in tree.functions:
        names = ", ".join(tree.functions) or "no function"
        return Program(None, f"the answer does not define {problem.entry_point}() (it has {names})")
    if not tree.functions[problem.entry_point].implemented:
        return Program(None, f"{problem.entry_point}() is left unimplemented in the answer")
    return Program(assemble(tree, problem.entry_point, scripts=False))


class PythonView(ProblemView):
    """A `CodeProblem` without hidden tests (`CodeTask.public_problem`).

    Example:
        >>> from workbench.tasks.code import problem_from_dict
        >>> view = PythonView(problem_from_dict({"task_id": "t", "entry_point": "inc",
        ...     "prompt": 'def inc(x):\\n    "x + 1"\\n', "public_tests": ["assert inc(1) == 2"]}))
        >>> view.language, view.examples, view.extract("def inc(x):\\n    return x + 1\\n").code
        ('python', ['assert inc(1) == 2'], 'def inc(x):\\n    return x + 1\\n')
    """

    kind = "code"
    language = "python"

    def __init__(self, problem: CodeProblem) -> None:
        self.problem = problem
        self.entry = problem.entry_point
        self.prompt = problem.prompt

    @property
    def examples(self) -> list[str]:
        """The public tests as source lines."""
        return [t.source() for t in self.problem.public_tests]

    def extract(self, reply: str) -> Program:
        """See `extract_python_program`."""
        return extract_python_program(reply, self.problem)

    def prompt_tree(self) -> CodeTree:
        """The prompt's functions (the entry point a stub, given helpers implemented)."""
        tree = parse_python(self.problem.prompt, extract=False)
        if self.entry not in tree.functions:
            raise CodeParseError(f"the prompt does not define {self.entry}()", raw="")
        return tree

    def parse(self, text: str, *, extract: bool = True) -> CodeTree:
        """`parse_python`."""
        return parse_python(text, extract=extract)

    def stub(self, fn: FunctionNode) -> str:
        """The function with ``raise NotImplementedError()`` as its body."""
        return render_python_function(fn, STUB_BODY)

    def signature_problems(self, fn: FunctionNode) -> list[str]:
        """`check_signature` against the prompt's header of the entry point."""
        required = self.prompt_tree().functions[self.entry].signature.rstrip(":")
        return check_signature(fn, required, "python")

    def run_public(self, codes: list[str], sandbox: Any, timeout_s: float) -> list[PublicRun]:
        """The public tests of every program (one sandbox call each, in parallel)."""
        results = evaluate_many(
            [(self.problem, c) for c in codes], sandbox, "public", test_timeout_s=timeout_s
        )
        out = []
        for r in results:
            outcomes = [
                {"status": "ok" if t.passed else "crash", "value": t.passed} for t in r.tests
            ]
            out.append(PublicRun(r.pass_rate, [t.passed for t in r.tests], outcomes, r.feedback))
        return out
