"""Python function trees (stdlib ast): parsing replies, stubs, edges, signatures, assembly."""

from __future__ import annotations

import pytest

from workbench.errors import ModelAnswerError
from workbench.optimizers.codegen.codetree import (
    CodeParseError,
    assemble,
    check_signature,
    dependency_order,
    extract_code,
    merge,
    parse_code,
    parse_python,
    replace_function,
    set_body,
)

DIVIDE_REPLY = '''Let me break this into smaller pieces.

```python
import math
from functools import reduce

LIMIT = 10 ** 6


def lcm_all(nums: list[int]) -> int:
    """Least common multiple of all numbers."""
    return reduce(lcm, sorted(nums, key=abs), 1)


def lcm(a: int, b: int) -> int:
    """Least common multiple of a and b."""
    return abs(a * b) // gcd(a, b) if a and b else 0


def gcd(a: int, b: int) -> int:
    """Greatest common divisor."""
    raise NotImplementedError()


def unused(x):
    ...


if __name__ == "__main__":
    print(lcm_all([4, 6]))
```

The helper `gcd` is left for later.'''


def test_parse_divide_reply_lists_functions_stubs_and_edges() -> None:
    tree = parse_code(DIVIDE_REPLY, "python")
    assert list(tree.functions) == ["lcm_all", "lcm", "gcd", "unused"]
    assert tree.stubs() == ["gcd", "unused"]
    assert tree.functions["lcm_all"].calls == ["lcm"]  # passed to reduce, not called: still an edge
    assert tree.functions["lcm"].calls == ["gcd"]
    assert tree.functions["gcd"].calls == []
    lcm = tree.functions["lcm"]
    assert lcm.signature == "def lcm(a: int, b: int) -> int:"
    assert lcm.docstring == "Least common multiple of a and b."
    assert lcm.body == "return abs(a * b) // gcd(a, b) if a and b else 0\n"
    assert lcm.returns == "int"
    assert [(p.name, p.kind, p.annotation) for p in lcm.params] == [
        ("a", "positional", "int"),
        ("b", "positional", "int"),
    ]
    assert [s.source.strip() for s in tree.imports] == [
        "import math",
        "from functools import reduce",
    ]
    assert [(s.kind, s.names) for s in tree.others] == [("constant", ["LIMIT"]), ("script", [])]


@pytest.mark.parametrize(
    ("body", "implemented"),
    [
        ("    ...", False),
        ("    pass", False),
        ("    raise NotImplementedError", False),
        ("    raise NotImplementedError('later')", False),
        ('    """Only a docstring."""', False),
        ("    x = 1\n    pass", False),  # FunCoder looks at the last statement only
        ("    return None", True),
        ("    raise ValueError('bad input')", True),
        ("    if x:\n        return 1\n    raise NotImplementedError", False),
    ],
)
def test_stub_rule(body: str, implemented: bool) -> None:
    tree = parse_python(f"def f(x):\n{body}\n", extract=False)
    assert tree.functions["f"].implemented is implemented


def test_reply_without_fences_with_prose_around() -> None:
    reply = (
        "Sure, here is my solution:\n"
        "def add(a, b):\n"
        "    return a + b\n"
        "\n"
        "This adds the two numbers. Hope it helps!"
    )
    tree = parse_code(reply, "python")
    assert list(tree.functions) == ["add"]
    assert tree.functions["add"].implemented


def test_fences_pick_python_blocks_and_join_them() -> None:
    reply = (
        "```bash\npip install nothing\n```\n"
        "First the helper:\n```py\ndef h():\n    return 1\n```\n"
        "Then:\n```python\ndef f():\n    return h()\n```\n"
    )
    code = extract_code(reply, "python")
    assert code == "def h():\n    return 1\n\n\ndef f():\n    return h()\n"
    assert parse_code(reply, "python").functions["f"].calls == ["h"]


def test_unterminated_fence_runs_to_the_end() -> None:
    tree = parse_code("```python\ndef f():\n    return 2\n", "python")
    assert list(tree.functions) == ["f"]


def test_malformed_reply_raises_model_feedback() -> None:
    with pytest.raises(CodeParseError, match=r"line 1: invalid syntax in 'def f\(:'") as err:
        parse_code("```python\ndef f(:\n    return\n```", "python")
    assert isinstance(err.value, ModelAnswerError)
    assert "def f(:" in err.value.raw


def test_reply_without_code_raises() -> None:
    with pytest.raises(CodeParseError, match="no Python code"):
        parse_code("I cannot solve this problem, sorry!", "python")


def test_duplicate_definition_last_wins_but_stub_never_hides_an_implementation() -> None:
    tree = parse_python(
        "def f():\n    return 1\n\ndef f():\n    return 2\n\ndef f():\n    ...\n", extract=False
    )
    assert tree.functions["f"].body == "return 2\n"


def test_dependency_order_and_assembly_children_first() -> None:
    tree = parse_code(DIVIDE_REPLY, "python")
    assert dependency_order(tree, "lcm_all") == ["gcd", "lcm", "lcm_all"]
    assert dependency_order(tree) == ["gcd", "lcm", "lcm_all", "unused"]
    tree = set_body(tree, "gcd", "while b:\n    a, b = b, a % b\nreturn abs(a)")
    module = assemble(tree, "lcm_all", only_reachable=True)
    assert module.index("def gcd") < module.index("def lcm(") < module.index("def lcm_all")
    assert "def unused" not in module
    assert module.index("LIMIT = ") < module.index("def gcd")
    assert module.index('if __name__ == "__main__"') > module.index("def lcm_all")
    namespace: dict = {"__name__": "solution"}
    exec(compile(module, "<assembled>", "exec"), namespace)  # our own code, from the test
    assert namespace["lcm_all"]([4, 6, 10]) == 60


def test_assembly_reparses_to_the_same_tree() -> None:
    tree = parse_code(DIVIDE_REPLY, "python")
    again = parse_python(assemble(tree), extract=False)
    assert list(again.functions) == ["gcd", "lcm", "lcm_all", "unused"]
    for name, fn in tree.functions.items():
        assert again.functions[name].source == fn.source
        assert again.functions[name].calls == fn.calls


def test_set_body_keeps_decorators_header_and_docstring() -> None:
    tree = parse_python(
        "import functools\n\n@functools.cache\ndef fib(n: int) -> int:\n"
        '    """n-th Fibonacci number.\n\n    fib(10) == 55\n    """\n    ...\n',
        extract=False,
    )
    new = set_body(
        tree, "fib", "    if n < 2:\n        return n\n    return fib(n - 1) + fib(n - 2)"
    )
    fib = new.functions["fib"]
    assert fib.implemented and fib.calls == []  # recursion is not an edge
    assert fib.source.startswith("@functools.cache\ndef fib(n: int) -> int:\n")
    assert "    fib(10) == 55\n" in fib.source
    assert fib.body == "if n < 2:\n    return n\nreturn fib(n - 1) + fib(n - 2)\n"
    assert not tree.functions["fib"].implemented  # the input tree is unchanged
    ns: dict = {}
    exec(assemble(new), ns)
    assert ns["fib"](20) == 6765


def test_set_body_on_a_one_line_def() -> None:
    tree = parse_python("def f(x): return x\n", extract=False)
    new = set_body(tree, "f", "return 2 * x")
    assert new.functions["f"].source == "def f(x):\n    return 2 * x\n"


def test_replace_function_brings_imports_and_relinks() -> None:
    tree = parse_code(DIVIDE_REPLY, "python")
    new = replace_function(tree, "import operator\n\ndef unused(x):\n    return lcm(x, x)\n")
    assert new.functions["unused"].calls == ["lcm"]
    assert [s.source.strip() for s in new.imports][-1] == "import operator"
    with pytest.raises(KeyError):
        replace_function(tree, "X = 1\n")


def test_merge_adds_children_and_keeps_finished_functions() -> None:
    base = parse_python(
        "def solve(x):\n    ...\n\ndef helper(y):\n    return y + 1\n", extract=False
    )
    divide = parse_python(
        "import math\n\ndef solve(x):\n    return helper(x) * twice(x)\n\n"
        "def helper(y):\n    ...\n\ndef twice(z):\n    raise NotImplementedError\n",
        extract=False,
    )
    merged = merge(base, divide)
    assert merged.functions["solve"].calls == ["helper", "twice"]
    assert merged.functions["helper"].implemented  # the stub did not undo it
    assert merged.stubs() == ["twice"]
    assert [s.source.strip() for s in merged.imports] == ["import math"]
    with pytest.raises(ValueError, match="cannot merge"):
        merge(base, parse_code("int f() { return 1; }", "cpp"))


@pytest.mark.parametrize(
    ("required", "problems"),
    [
        ("def f(a: int, b: list[int] = None) -> int", []),
        ("def f(a, b)", []),
        ("def g(a, b)", ["function is named 'f', expected 'g'"]),
        ("def f(a, c)", ["parameter 2 of 'f' is named 'b', expected 'c'"]),
        ("def f(a)", ["'f' takes 2 parameters, expected 1 (a)"]),
        ("def f(a: str, b) -> int", ["parameter 1 of 'f' is annotated 'int', expected 'str'"]),
        ("def f(a, b) -> str", ["'f' returns 'int', expected 'str'"]),
        ("def f(a, *, b)", ["parameter 2 of 'f' is positional, expected kwonly"]),
    ],
)
def test_check_signature(required: str, problems: list[str]) -> None:
    fn = parse_python(
        "def f(a: int, b: list[int] = None) -> int:\n    return a\n", extract=False
    ).functions["f"]
    assert check_signature(fn, required, "python") == problems


def test_check_signature_strict_needs_stated_annotations() -> None:
    fn = parse_python("def f(a):\n    return a\n", extract=False).functions["f"]
    assert check_signature(fn, "def f(a: int) -> int", "python") == []
    assert check_signature(fn, "def f(a: int) -> int", "python", strict=True) == [
        "parameter 1 of 'f' is annotated None, expected 'int'",
        "'f' returns None, expected 'int'",
    ]


def test_async_and_kinds() -> None:
    fn = parse_python(
        "async def g(a, /, b=2, *args, c, d=4, **kw):\n    return await a\n", extract=False
    ).functions["g"]
    assert fn.signature == "async def g(a, /, b=2, *args, c, d=4, **kw):"
    assert [(p.name, p.kind, p.default) for p in fn.params] == [
        ("a", "posonly", None),
        ("b", "positional", "2"),
        ("args", "vararg", None),
        ("c", "kwonly", None),
        ("d", "kwonly", "4"),
        ("kw", "kwarg", None),
    ]


def test_unknown_language() -> None:
    with pytest.raises(ValueError, match="unsupported language 'rust'"):
        parse_code("fn main() {}", "rust")


def test_parameters_and_locals_shadow_module_functions() -> None:
    tree = parse_python(
        "def helper(x):\n    return x\n\n"
        "def apply(helper, x):\n    return helper(x)\n\n"
        "def local(x):\n    helper = abs\n    return helper(x)\n\n"
        "def uses_global(x):\n    global helper\n    helper = helper\n    return helper(x)\n\n"
        "def real(x):\n    return [helper(v) for v in x]\n",
        extract=False,
    )
    assert tree.functions["apply"].calls == []
    assert tree.functions["local"].calls == []
    assert tree.functions["uses_global"].calls == ["helper"]
    assert tree.functions["real"].calls == ["helper"]


def test_scripts_can_be_dropped_from_the_assembled_module() -> None:
    reply = (
        '```python\n"""Module doc."""\nimport sys\n\ndef f(x):\n    return x + 1\n```\n'
        "Example usage:\n```python\nprint(f(3))\nassert f(1) == 2\n```\n"
    )
    tree = parse_code(reply, "python")
    assert [s.kind for s in tree.others] == ["other", "script", "script"]
    with_scripts = assemble(tree)
    assert with_scripts.rstrip().endswith("assert f(1) == 2")
    bare = assemble(tree, "f", scripts=False)
    assert "print(" not in bare and "assert" not in bare
    assert bare.startswith('import sys\n\n\n"""Module doc."""')


def test_tree_to_dict_is_json() -> None:
    import json

    tree = parse_code(DIVIDE_REPLY, "python")
    data = json.loads(json.dumps(tree.to_dict()))
    assert data["language"] == "python"
    assert data["functions"]["lcm"]["calls"] == ["gcd"]
    assert data["functions"]["gcd"]["implemented"] is False
