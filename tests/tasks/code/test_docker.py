"""The harness in the Docker sandbox: HumanEval's canonical solutions, and bad candidates."""

from __future__ import annotations

import pytest

from tests.fixtures.needs import missing
from workbench.errors import NotSetUp
from workbench.sandbox import Sandbox
from workbench.tasks.code import CodeProblem, evaluate_code, evaluate_many, run_on_inputs

# Docstring examples that contradict HumanEval's own canonical solution (checked by hand):
# 47 median([-10, 4, 6, 1000, 10, 20]) is 8.0, not 15.0; 116 sort_array's examples ignore the
# ones-count ordering the text asks for; 148 writes the tuple ("Venus",) as ("Venus").
BAD_DOCSTRING_EXAMPLES = {"HumanEval/47", "HumanEval/116", "HumanEval/148"}


@pytest.fixture(scope="module")
def humaneval() -> list[CodeProblem]:
    from workbench.tasks.code import load_humaneval

    try:
        return load_humaneval()
    except NotSetUp as exc:
        missing(str(exc))
        raise


@pytest.mark.docker
@pytest.mark.slow
def test_humaneval_canonical_solutions_pass_hidden_tests(
    humaneval: list[CodeProblem], docker_sandbox: Sandbox
) -> None:
    results = evaluate_many(
        [(p, p.canonical_solution or "") for p in humaneval], docker_sandbox, "hidden"
    )
    failing = {
        p.task_id: r.feedback for p, r in zip(humaneval, results, strict=True) if r.status != "ok"
    }
    assert failing == {}
    assert sum(r.total for r in results) == sum(len(p.hidden_tests) for p in humaneval)
    assert all(r.pass_rate == 1.0 for r in results)


@pytest.mark.docker
@pytest.mark.slow
def test_humaneval_canonical_solutions_pass_docstring_examples(
    humaneval: list[CodeProblem], docker_sandbox: Sandbox
) -> None:
    with_examples = [p for p in humaneval if p.public_tests]
    results = evaluate_many(
        [(p, p.canonical_solution or "") for p in with_examples], docker_sandbox, "public"
    )
    failing = {p.task_id for p, r in zip(with_examples, results, strict=True) if r.status != "ok"}
    assert failing == BAD_DOCSTRING_EXAMPLES


@pytest.mark.docker
def test_bad_candidates_in_docker(humaneval: list[CodeProblem], docker_sandbox: Sandbox) -> None:
    add = humaneval[53]  # add(x, y); public tests add(2, 3) == 5, add(5, 7) == 12
    hang_then_ok = "def add(x, y):\n    while x == 2:\n        pass\n    return x + y\n"
    r = evaluate_code(add, hang_then_ok, docker_sandbox, test_timeout_s=1.0)
    assert [(t.passed, t.error_type) for t in r.tests] == [(False, "Timeout"), (True, None)]
    assert r.status == "timeout"
    flood = (
        "import os\ndef add(x, y):\n"
        "    os.write(1, b'z' * 10_000_000)\n    print('q' * 10**7)\n    exit(x)\n"
    )
    r = evaluate_code(add, flood, docker_sandbox, test_timeout_s=2.0)
    assert [t.error_type for t in r.tests] == ["SystemExit", "SystemExit"]
    assert r.status == "failed" and r.sandbox_status == "ok"
    out = run_on_inputs("def f(x):\n    return 1 / x\n", "f", [[2], [0]], docker_sandbox)
    assert out[0]["value"] == 0.5 and out[1]["status"] == "crash"


@pytest.mark.docker
def test_fork_bomb_and_lingering_children_in_docker(
    humaneval: list[CodeProblem], docker_sandbox: Sandbox
) -> None:
    add = humaneval[53]
    bomb = (
        "import os, time\n"
        "def add(x, y):\n"
        "    if x == 2:\n"
        "        while True:\n"
        "            os.fork()\n"
        "    if os.fork() == 0:\n"  # a child that outlives the test, holding the result pipe
        "        time.sleep(60)\n"
        "    return x + y\n"
    )
    r = evaluate_code(add, bomb, docker_sandbox, test_timeout_s=3.0)
    assert [t.passed for t in r.tests] == [False, True], r.feedback
    assert r.tests[0].error_type in ("BlockingIOError", "Timeout", "Crash")
    assert r.wall_s < 20
