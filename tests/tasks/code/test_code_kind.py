"""The `code` task kind: section loading, public/hidden scoring, feedback, shipped task files."""

from __future__ import annotations

from pathlib import Path

import pytest

from workbench.contracts import Candidate
from workbench.errors import ConfigError
from workbench.sandbox import Sandbox
from workbench.tasks import RunContext, build_task, load_task_file, parse_task_text
from workbench.tasks.code import CodeTask

REPO = Path(__file__).resolve().parents[3]

INLINE = """
name: t
kind: code
budget: {iterations: 1}
code:
  problem:
    entry_point: add
    prompt: |
      def add(a: int, b: int) -> int:
          \"\"\"Return a + b.\"\"\"
    public_tests:
      - {input: [1, 2], output: 3}
      - {input: [2, 2], output: 4}
    hidden_tests:
      - "assert add(-1, 1) == 0"
      - {call: "add(10, 5)", expected: "15"}
      - {input: [0, 0], output: 0}
"""


def _task(text: str = INLINE, base: Path = REPO) -> CodeTask:
    task = build_task(parse_task_text(text, base, source="inline.yaml"))
    assert isinstance(task, CodeTask)
    return task


def _eval(task: CodeTask, code: str, sandbox: Sandbox, language: str = "python"):
    ctx = RunContext(open_sandbox=lambda: sandbox)
    return task.evaluate(Candidate("c1", {"code": code, "language": language}), ctx)


def test_correct_code_scores_public_and_hidden(local_sandbox: Sandbox) -> None:
    task = _task()
    assert task.needs_sandbox and task.primary == "public_pass_rate"
    ev = _eval(task, "def add(a, b):\n    return a + b\n", local_sandbox)
    assert ev.status == "ok" and ev.score == 1.0
    assert ev.scores["hidden_pass_rate"] == 1.0 and ev.scores["hidden_total"] == 3.0
    assert [t["passed"] for t in ev.tests] == [True, True]


def test_partly_wrong_code_gets_pass_rate_and_public_feedback_only(local_sandbox: Sandbox) -> None:
    task = _task()
    # right on the public tests' first case only; wrong on every hidden one but 0+0
    ev = _eval(task, "def add(a, b):\n    return 3 if a == 1 else a - b\n", local_sandbox)
    assert ev.status == "ok" and ev.score == 0.5
    assert ev.scores["hidden_pass_rate"] == pytest.approx(1 / 3)
    assert "add(2, 2) == 4" in ev.feedback and "got" in ev.feedback
    # hidden tests never reach the generator: not in feedback, not in the per-test list
    assert "add(10, 5)" not in ev.feedback and "-1, 1" not in ev.feedback
    assert all(t["name"].startswith("public") for t in ev.tests)


def test_crash_traceback_is_feedback(local_sandbox: Sandbox) -> None:
    ev = _eval(_task(), "def add(a, b):\n    return a / 0\n", local_sandbox)
    assert ev.score == 0.0 and "ZeroDivisionError" in ev.feedback


@pytest.mark.parametrize(
    ("code", "language", "why"),
    [
        ("def add(a, b) return a\n", "python", "not"),
        ("", "python", "non-empty"),
        ("int add(int a, int b) { return a + b; }", "cpp", "Python only"),
    ],
)
def test_unusable_candidates_are_errors_with_a_reason(
    local_sandbox: Sandbox, code: str, language: str, why: str
) -> None:
    ev = _eval(_task(), code, local_sandbox, language)
    assert ev.status == "error" and ev.score is None
    assert ev.scores["public_pass_rate"] == 0.0 and why in ev.feedback


def test_hanging_candidate_times_out_and_run_goes_on(local_sandbox: Sandbox) -> None:
    text = INLINE.replace("code:\n  problem:", "code:\n  test_timeout_s: 0.5\n  problem:")
    ev = _eval(_task(text), "def add(a, b):\n    while True:\n        pass\n", local_sandbox)
    assert ev.status == "timeout" and ev.score is None
    ev2 = _eval(_task(text), "def add(a, b):\n    return a + b\n", local_sandbox)
    assert ev2.score == 1.0


def test_humaneval_section_uses_docstring_examples_as_public_tests(local_sandbox: Sandbox) -> None:
    text = "name: he\nkind: code\nbudget: {iterations: 1}\ncode: {humaneval: HumanEval/0}\n"
    task = _task(text)
    assert task.problem.entry_point == "has_close_elements"
    assert len(task.problem.public_tests) == 2 and len(task.problem.hidden_tests) >= 5
    public = task.public_problem()
    assert public.hidden_tests == [] and public.canonical_solution is None
    assert task.problem.canonical_solution is not None
    ev = _eval(task, task.problem.canonical_solution, local_sandbox)
    assert ev.score == 1.0 and ev.scores["hidden_pass_rate"] == 1.0


def test_problem_file_section_picks_task_id(tmp_path: Path, local_sandbox: Sandbox) -> None:
    task = _task(
        "name: f\nkind: code\nbudget: {iterations: 1}\n"
        "code: {file: tasks/code/problems.yaml, task_id: demo/second_largest}\n"
    )
    assert task.problem.entry_point == "second_largest"
    code = "def second_largest(values):\n    return sorted(set(values))[-2]\n"
    ev = _eval(task, code, local_sandbox)
    assert ev.score == 1.0 and ev.scores["hidden_pass_rate"] == 1.0


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ("{humaneval: HumanEval/0, file: tasks/code/problems.yaml}", "exactly one"),
        ("{}", "exactly one"),
        ("{file: nope.yaml}", "not found"),
        ("{humaneval: HumanEval/999}", "HumanEval/999"),
        ("{file: tasks/code/problems.yaml, task_id: demo/nope}", "demo/nope"),
        ("{humaneval: HumanEval/1, task_id: x}", "needs `file:`"),
        ("{humaneval: HumanEval/1, colour: red}", "colour"),
    ],
)
def test_bad_sections_fail_with_the_value(section: str, message: str) -> None:
    text = f"name: bad\nkind: code\nbudget: {{iterations: 1}}\ncode: {section}\n"
    with pytest.raises(ConfigError) as info:
        parse_task_text(text, REPO, source="bad.yaml")
    assert message in str(info.value)


TASK_FILES = sorted(
    p for p in (REPO / "tasks" / "code").glob("*.yaml") if p.name != "problems.yaml"
)


@pytest.mark.parametrize("path", TASK_FILES, ids=lambda p: p.name)
def test_shipped_task_files_load(path: Path) -> None:
    import workbench.optimizers.codegen.funcoder
    import workbench.optimizers.codegen.sample  # noqa: F401
    from workbench.runs import check_task

    task_file = load_task_file(path)
    assert task_file.kind == "code"
    check_task(task_file, path)


@pytest.mark.docker
def test_code_kind_in_docker(docker_sandbox: Sandbox) -> None:
    task = _task()
    good = _eval(task, "def add(a, b):\n    return a + b\n", docker_sandbox)
    bad = _eval(task, "def add(a, b):\n    raise KeyError(a)\n", docker_sandbox)
    assert good.score == 1.0 and good.scores["hidden_pass_rate"] == 1.0
    assert bad.score == 0.0 and "KeyError" in bad.feedback
