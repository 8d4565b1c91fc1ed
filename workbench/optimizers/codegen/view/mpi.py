"""`MpiView`: an `mpi` task's problem (one C++ function using MPI) for the generators.

The model sees the ParEval-style prompt (`render_prompt`: includes, the doc comment with the
example, the open signature) and never ``solution.cpp``, ``wrong.cpp`` or ``reference.hpp``
(the view holds the problem with the first two removed; the reference only reaches the
sandbox, inside the driver build). The public checks are the driver's validation at every np of
the problem: a program's pass rate is the share of rank counts that validated, and its
behaviour at one np is PASS, the driver's failure line, a timeout or a crash.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any

from workbench.optimizers.codegen.codetree import (
    CodeParseError,
    CodeTree,
    FunctionNode,
    assemble,
    extract_code,
    parse_c,
    render_c_function,
)
from workbench.optimizers.codegen.view.base import ProblemView, Program, PublicRun
from workbench.tasks.mpi import DriverCache, MpiProblem, MpiResult, evaluate_many

__all__ = ["STUB_COMMENT", "MpiView", "canonical_type", "extract_cpp_program"]

STUB_COMMENT = "// TODO: implement this function"
_CRASH = {"status": "crash", "value": None}
_STD_TYPEDEF = re.compile(r"\bstd::(size_t|ptrdiff_t|u?int(?:8|16|32|64)_t)\b")


def canonical_type(text: str | None) -> str:
    """A C++ parameter type with ``const`` moved to the front and spacing removed, so that
    ``std::vector<double> const&`` and ``const std::vector<double> &`` compare equal; ``std::``
    C integer typedefs (``std::size_t``) and a by-value ``const`` (``const int n``) do not count.

    >>> canonical_type("std::vector<double> const&"), canonical_type("const std::vector<double> &")
    ('const std::vector<double>&', 'const std::vector<double>&')
    """
    if text is None:
        return ""
    text = _STD_TYPEDEF.sub(r"\1", text)
    # `const` on a by-value parameter is not part of the function's type
    has_const = re.search(r"\bconst\b", text) is not None and re.search(r"[*&]", text) is not None
    bare = re.sub(r"\bconst\b", " ", text)
    bare = re.sub(r"\s*([<>,*&])\s*", r"\1", " ".join(bare.split()))
    return ("const " if has_const else "") + bare.strip()


def cpp_signature_problems(fn: FunctionNode, required: FunctionNode) -> list[str]:
    """Name, parameter count and (const-normalised) parameter and return types."""
    if fn.name != required.name:
        return [f"function is named {fn.name!r}, expected {required.name!r}"]
    want = [canonical_type(p.annotation) for p in required.params]
    got = [canonical_type(p.annotation) for p in fn.params]
    if len(got) != len(want):
        return [f"{fn.name}() takes {len(got)} parameters, expected {len(want)}"]
    problems = [
        f"parameter {i} of {fn.name}() has type {g!r}, expected {w!r}"
        for i, (g, w) in enumerate(zip(got, want, strict=True), start=1)
        if g != w
    ]
    if canonical_type(fn.returns) != canonical_type(required.returns):
        problems.append(f"{fn.name}() returns {fn.returns!r}, expected {required.returns!r}")
    return problems


def _tree_of(reply: str, problem: MpiProblem) -> tuple[CodeTree | None, str | None]:
    """The reply as a tree that defines the function: a whole definition, or a body completed
    with the prompt (ParEval's completion style, with or without the closing brace)."""
    error = None
    try:
        tree = parse_c(reply, "cpp")
        if problem.function in tree.functions:
            return tree, None
        if tree.functions:
            names = ", ".join(tree.functions)
            return None, f"the answer does not define {problem.function}() (it has {names})"
    except CodeParseError as exc:
        error = str(exc)
    body = extract_code(reply, "cpp") or reply
    for tail in ("", "\n}\n"):
        try:
            tree = parse_c(problem.prompt + "\n" + body.strip("\n") + tail, "cpp", extract=False)
        except CodeParseError:
            continue
        if problem.function in tree.functions:
            return tree, None
    return None, error or f"the answer does not define {problem.function}()"


def extract_cpp_program(reply: str, problem: MpiProblem) -> Program:
    """The C++ program in a model reply that defines `problem`'s function.

    Accepts a whole definition (with helpers and includes) or only the body. A ``main`` the
    model added is dropped (the driver owns ``main``), so are functions the entry does not
    reach; the prompt's includes are kept. A reply without usable code, or with the function
    missing, left a stub or with another signature gives `Program.error` for the model.

    Example:
        >>> from workbench.tasks.mpi import load_problem, library_dir
        >>> p = load_problem(library_dir() / "reduce_dot_product")
        >>> prog = extract_cpp_program("  double s = 0;\\n  MPI_Barrier(MPI_COMM_WORLD);\\n"
        ...                            "  return s;\\n}", p)
        >>> prog.code.splitlines()[-5]
        'double dot_product(std::vector<double> const& x, std::vector<double> const& y) {'
    """
    tree, error = _tree_of(reply, problem)
    if tree is None:
        return Program(None, error)
    fn = tree.functions[problem.function]
    if not fn.implemented:
        return Program(None, f"{problem.function}() is left unimplemented in the answer")
    required = _prompt_tree(problem).functions[problem.function]
    problems = cpp_signature_problems(fn, required)
    if problems:
        return Program(None, "; ".join(problems) + f" (keep the signature {problem.signature})")
    tree = tree.copy()
    tree.functions.pop("main", None)
    for imp in _prompt_tree(problem).imports:
        if all(i.source.strip() != imp.source.strip() for i in tree.imports):
            tree.imports.append(imp)
    return Program(assemble(tree.relink(), problem.function, only_reachable=True))


def _prompt_tree(problem: MpiProblem) -> CodeTree:
    return parse_c(problem.prompt + "\n}\n", "cpp", extract=False)


def public_run(problem: MpiProblem, result: MpiResult) -> PublicRun:
    """An `MpiResult` as the public checks' outcome: one check per np of the problem."""
    passed, outcomes = [], []
    for np in problem.np:
        run = result.run(np) if result.compiled else None
        passed.append(bool(run is not None and run.passed))
        if run is None:
            outcomes.append(dict(_CRASH))
        elif run.passed:
            outcomes.append({"status": "ok", "value": "PASS"})
        elif run.status == "timeout":
            outcomes.append({"status": "timeout", "value": None})
        elif run.status == "ok":  # ran to the end but did not validate: its wrong answer
            outcomes.append({"status": "ok", "value": run.detail})
        else:
            outcomes.append(dict(_CRASH))
    rate = sum(passed) / len(passed) if passed else 0.0
    return PublicRun(rate, passed, outcomes, result.feedback)


class MpiView(ProblemView):
    """An `MpiProblem` without its solution and wrong solution; see the module docstring.

    Args:
        problem: the task's problem.
        drivers: the task's driver-object cache (the driver is compiled once per image).
        check: run the source check before compiling (the task's ``check_source``).
    """

    kind = "mpi"
    language = "cpp"
    whole_program = True

    def __init__(
        self, problem: MpiProblem, drivers: DriverCache | None = None, *, check: bool = True
    ) -> None:
        self.problem = dataclasses.replace(problem, solution=None, wrong=None)
        self.drivers = drivers if drivers is not None else DriverCache()
        self.check = check
        self.entry = problem.function
        self.prompt = problem.prompt

    @property
    def examples(self) -> list[str]:
        """The rank counts it is validated at (the example is in the prompt's comment already)."""
        nps = ", ".join(str(n) for n in self.problem.np)
        return [f"it is run with np = {nps} MPI ranks and checked on every run"]

    def extract(self, reply: str) -> Program:
        """See `extract_cpp_program`."""
        return extract_cpp_program(reply, self.problem)

    def prompt_tree(self) -> CodeTree:
        """The prompt: its includes and the function as a stub (doc comment kept)."""
        return _prompt_tree(self.problem)

    def parse(self, text: str, *, extract: bool = True) -> CodeTree:
        """`parse_c` for C++."""
        return parse_c(text, "cpp", extract=extract)

    def stub(self, fn: FunctionNode) -> str:
        """The function with a TODO comment as its body."""
        return render_c_function(fn, STUB_COMMENT, "cpp")

    def signature_problems(self, fn: FunctionNode) -> list[str]:
        """`cpp_signature_problems` against the prompt's signature."""
        return cpp_signature_problems(fn, self.prompt_tree().functions[self.entry])

    def run_public(self, codes: list[str], sandbox: Any, timeout_s: float) -> list[PublicRun]:
        """Build and run every program at every np (the problem's own timeouts apply)."""
        del timeout_s  # the problem.yaml's compile and run limits govern MPI runs
        results = evaluate_many(
            self.problem, list(codes), sandbox, check=self.check, drivers=self.drivers
        )
        return [public_run(self.problem, r) for r in results]
