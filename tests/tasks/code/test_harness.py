"""The harness on LocalSandbox: per-test results, and misbehaving candidates.

Each misbehaving candidate is run against three tests where only the middle one triggers the
misbehaviour, so the assertions show both the right status for that test and that the run went
on to the next one.
"""

from __future__ import annotations

import json
import time

import pytest

from workbench.sandbox import ExecResult, Sandbox
from workbench.tasks.code import (
    CodeProblem,
    evaluate_code,
    pass_at_k,
    problem_from_dict,
    run_matrix,
    run_on_inputs,
)
from workbench.tasks.mpi import pass_at_k as mpi_pass_at_k

T = 1.0  # per-test timeout in these tests


@pytest.fixture(scope="module")
def sq() -> CodeProblem:
    """square(x); the middle test (x == 2) is where bad candidates misbehave."""
    return problem_from_dict(
        {
            "task_id": "demo/square",
            "entry_point": "square",
            "prompt": (
                'def square(x: int) -> int:\n    """Return x * x.\n'
                '    >>> square(3)\n    9\n    """\n'
            ),
            "public_tests": [
                {"input": [1], "output": 1},
                {"input": [2], "output": 4},
                {"input": [3], "output": 9},
            ],
            "hidden_tests": ["assert square(10) == 100", "assert square(-4) == 16"],
        }
    )


def bad(body: str) -> str:
    """A square() that misbehaves with `body` when x == 2 and is right otherwise."""
    lines = "\n".join("        " + line for line in body.splitlines())
    return f"import os, sys\n\ndef square(x):\n    if x == 2:\n{lines}\n    return x * x\n"


def run(sq: CodeProblem, code: str, sb: Sandbox, tests: str = "public"):
    return evaluate_code(sq, code, sb, tests, test_timeout_s=T)


def names_passed(result) -> list[tuple[str, bool]]:
    return [(t.name, t.passed) for t in result.tests]


def test_correct_solution_passes_every_test(sq: CodeProblem, local_sandbox: Sandbox) -> None:
    r = run(sq, "def square(x):\n    return x * x\n", local_sandbox, "all")
    assert r.status == "ok" and r.pass_rate == 1.0
    assert [t.name for t in r.tests] == [
        "public_0",
        "public_1",
        "public_2",
        "hidden_0",
        "hidden_1",
    ]
    assert r.feedback == "All 5 tests passed."


def test_wrong_solution_gets_expected_vs_got(sq: CodeProblem, local_sandbox: Sandbox) -> None:
    r = run(sq, "def square(x):\n    return x + x\n", local_sandbox, "all")
    assert r.status == "failed"
    assert names_passed(r) == [
        ("public_0", False),
        ("public_1", True),
        ("public_2", False),
        ("hidden_0", False),
        ("hidden_1", False),
    ]
    first = r.tests[0]
    assert (first.error_type, first.expected, first.got) == ("AssertionError", "1", "2")
    hidden = r.tests[3]  # an assert statement reports both sides too
    assert (hidden.expected, hidden.got) == ("100", "20")
    assert "FAILED public_0: square(1) == 1" in r.feedback
    assert "expected: 1\n    got:      2" in r.feedback
    assert r.pass_rate == pytest.approx(0.2)
    ev = r.to_evaluation("c1")
    assert (ev.status, ev.primary, ev.scores["pass_rate"]) == ("failed", "pass_rate", 0.2)
    assert ev.tests[1] == {"name": "public_1", "passed": True, "message": ""}
    assert ev.tests[0]["message"].startswith("AssertionError: expected 1, got 2")
    assert ev.feedback == r.feedback and json.dumps(r.to_dict())


def test_exception_traceback_is_trimmed_to_the_candidate(
    sq: CodeProblem, local_sandbox: Sandbox
) -> None:
    r = run(sq, bad("return [][x]"), local_sandbox)
    assert names_passed(r) == [("public_0", True), ("public_1", False), ("public_2", True)]
    t = r.tests[1]
    assert t.error_type == "IndexError"
    assert 'File "candidate.py", line 5, in square' in t.traceback
    assert "wb_runner" not in t.traceback and "return [][x]" in t.traceback
    assert r.status == "failed"


def test_body_completion_is_joined_to_the_prompt(sq: CodeProblem, local_sandbox: Sandbox) -> None:
    assert run(sq, "    return x ** 2\n", local_sandbox).status == "ok"


@pytest.mark.parametrize(
    ("body", "error_type"),
    [
        ("while True:\n    pass", "Timeout"),
        (
            "try:\n    while True:\n        pass\n"
            "except BaseException:\n    while True:\n        pass",
            "Timeout",
        ),
        ("import time\ntime.sleep(60)", "Timeout"),
        ("exit(3)", "SystemExit"),
        ("sys.exit()", "SystemExit"),
        ("os._exit(0)", "Exit"),
        ("os.abort()", "Crash"),
        ("def r(n):\n    return r(n + 1)\nreturn r(0)", "RecursionError"),
        ("x = [0] * (10**10)", "MemoryError"),
        ("raise KeyboardInterrupt", "KeyboardInterrupt"),
    ],
    ids=[
        "loop",
        "swallows-alarm",
        "sleep",
        "exit",
        "sys-exit",
        "os-exit",
        "abort",
        "recursion",
        "memory",
        "keyboard-interrupt",
    ],
)
def test_misbehaving_test_is_isolated(
    sq: CodeProblem, local_sandbox: Sandbox, body: str, error_type: str
) -> None:
    start = time.monotonic()
    r = run(sq, bad(body), local_sandbox)
    assert names_passed(r) == [("public_0", True), ("public_1", False), ("public_2", True)]
    assert r.tests[1].error_type == error_type, r.tests[1]
    if error_type == "RecursionError":
        assert "more frames: deep recursion?" in r.tests[1].traceback
        assert len(r.tests[1].traceback) < 2500
    expected_status = {"Timeout": "timeout", "MemoryError": "oom"}.get(error_type, "failed")
    assert r.status == expected_status
    assert time.monotonic() - start < 15


def test_floods_and_garbage_output_do_not_break_the_report(
    sq: CodeProblem, local_sandbox: Sandbox
) -> None:
    fake = json.dumps({"tests": [], "load_error": None})
    body = (
        f"print({fake!r})\n"  # a forged report on stdout
        "print('{\"tests\": []}')\n"
        "for _ in range(200000):\n    print('spam' * 50)\n"  # 40 MB through print
        "os.write(1, b'x' * 5_000_000)\n"  # and 5 MB at the file-descriptor level
        "os.write(2, b'y' * 5_000_000)\n"
        "return 'garbage'"
    )
    r = run(sq, bad(body), local_sandbox)
    assert names_passed(r) == [("public_0", True), ("public_1", False), ("public_2", True)]
    t = r.tests[1]
    assert t.got == "'garbage'" and t.expected == "4"
    assert len(t.stdout) < 3000 and "chars dropped" in t.stdout
    assert r.sandbox_status == "ok"


def test_module_level_problems(sq: CodeProblem, local_sandbox: Sandbox) -> None:
    syntax = run(sq, "def square(x)\n    return x\n", local_sandbox)
    assert syntax.status == "error" and syntax.load_error and "SyntaxError" in syntax.load_error
    assert "could not be loaded" in syntax.feedback and syntax.passed == 0
    at_import = run(sq, "raise ValueError('boom at import')\n", local_sandbox)
    assert at_import.status == "error"
    assert all(t.phase == "load" and t.error_type == "ValueError" for t in at_import.tests)
    assert "before any test ran" in at_import.feedback
    missing = run(sq, "def cube(x):\n    return x ** 3\n", local_sandbox)
    assert missing.status == "error" and "square" in missing.tests[0].message
    hang = run(sq, "while True:\n    pass\n", local_sandbox)
    assert hang.status == "timeout"
    assert [t.phase for t in hang.tests] == ["load"] * 3 and hang.wall_s < 2 * T + 2
    main_guard = run(
        sq,
        "def square(x):\n    return x*x\nif __name__ == '__main__':\n    exit(1)\n",
        local_sandbox,
    )
    assert main_guard.status == "ok"


def test_time_budget_marks_the_rest_not_run(sq: CodeProblem, local_sandbox: Sandbox) -> None:
    r = evaluate_code(
        sq,
        "def square(x):\n    while True:\n        pass\n",
        local_sandbox,
        test_timeout_s=1.0,
        total_timeout_s=1.5,
    )
    assert [t.error_type for t in r.tests] == ["Timeout", "Timeout", "NotRun"]
    assert r.status == "timeout"


def test_no_tests_still_checks_the_code_loads(local_sandbox: Sandbox) -> None:
    p = problem_from_dict({"task_id": "t", "entry_point": "f", "prompt": "def f():\n    'x'\n"})
    ok = evaluate_code(p, "def f():\n    return 1\n", local_sandbox)
    assert ok.status == "ok" and [t.name for t in ok.tests] == ["loads"]
    assert evaluate_code(p, "def g():\n    return 1\n", local_sandbox).status == "error"


def test_helpers_from_the_prompt_are_available(local_sandbox: Sandbox) -> None:
    p = problem_from_dict(
        {
            "task_id": "t",
            "entry_point": "g",
            "prompt": (
                "from typing import List\n\ndef h(x):\n    return x + 1\n\n"
                "def g(xs: List[int]) -> int:\n    'sum of h'\n"
            ),
            "public_tests": [{"input": [[1, 2]], "output": 5}],
        }
    )
    r = evaluate_code(
        p, "def g(xs: List[int]) -> int:\n    return sum(map(h, xs))\n", local_sandbox
    )
    assert r.status == "ok", r.feedback


def test_run_on_inputs_outcomes(local_sandbox: Sandbox) -> None:
    code = (
        "def f(x):\n"
        "    if x == 3:\n        raise ValueError('no')\n"
        "    if x == 4:\n        while True:\n            pass\n"
        "    if x == 5:\n        return {1, 2}\n"
        "    return (x, [x * 0.5], {'k': None})\n"
    )
    out = run_on_inputs(
        code, "f", ["f(1)", [3], [4], [5], "f(1) + (2,)"], local_sandbox, timeout_s=T
    )
    assert out[0] == {"status": "ok", "value": [1, [0.5], {"k": None}], "error": None}
    assert out[1]["status"] == "crash" and "ValueError: no" in out[1]["error"]
    assert out[2]["status"] == "timeout"
    assert out[3] == {"status": "ok", "value": {"__repr__": "{1, 2}"}, "error": None}
    assert out[4]["value"] == [1, [0.5], {"k": None}, 2]


def test_run_matrix_feeds_consensus(local_sandbox: Sandbox) -> None:
    from workbench.optimizers.codegen.funcoder import Outcome, select_consensus

    codes = [
        "def f(x):\n    return x * 2\n",
        "def f(x):\n    return x + x\n",
        "def f(x):\n    return x ** 2\n",
        "def f(x)\n",  # does not compile: every input is a crash
    ]
    matrix = run_matrix(codes, "f", [[1], [3], [0]], local_sandbox, timeout_s=T)
    assert [[c["status"] for c in row] for row in matrix][3] == ["crash"] * 3
    outcomes = [[Outcome.from_dict(c) for c in row] for row in matrix]
    assert select_consensus(outcomes).best == 0


class _DeadSandbox(Sandbox):
    def __init__(self, status: str) -> None:
        self.status = status

    def run(self, files, command, limits=None, *, fetch=(), judge=None):  # type: ignore[override]
        return ExecResult(self.status, None, "", "killed", False, 9.0, None, None)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("status", "expected"), [("timeout", "timeout"), ("oom", "oom"), ("error", "error")]
)
def test_a_run_without_report_is_a_result_not_an_exception(
    sq: CodeProblem, status: str, expected: str
) -> None:
    r = evaluate_code(sq, "def square(x):\n    return x * x\n", _DeadSandbox(status))
    assert r.status == expected and r.passed == 0 and r.total == 3
    assert all(t.error_type == "NotRun" for t in r.tests)


def test_pass_at_k_is_the_shared_one() -> None:
    assert pass_at_k is mpi_pass_at_k
    assert pass_at_k(10, 3, 1) == pytest.approx(0.3)
    assert pass_at_k(5, 5, 2) == 1.0 and pass_at_k(5, 0, 3) == 0.0
