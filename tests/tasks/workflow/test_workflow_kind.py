"""The `workflow` task kind: loading, evaluation with feedback functions and sandboxed tests."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from workbench.contracts import Candidate
from workbench.errors import ConfigError, SandboxFailure
from workbench.llm import ScriptedLLM
from workbench.sandbox import LocalSandbox
from workbench.tasks import RunContext, load_task, load_task_file
from workbench.tasks.workflow import WorkflowTask, parse_test_output
from workbench.trace import ExceptionNode

ROOT = Path(__file__).resolve().parents[3]
EXAMPLES = ROOT / "tasks" / "workflow"
GOOD_SORT = (
    'def sort_words(text):\n    """Sort."""\n'
    '    return " ".join(sorted(text.split(), key=str.lower))\n'
)


@pytest.fixture(scope="module")
def box() -> Iterator[LocalSandbox]:
    sandbox = LocalSandbox()
    yield sandbox
    sandbox.close()


@pytest.fixture
def ctx(box: LocalSandbox) -> RunContext:
    return RunContext(open_sandbox=lambda: box)


def write(tmp_path: Path, section: dict[str, Any], module: str, **top: Any) -> Path:
    (tmp_path / "wf.py").write_text(module)
    data = {"name": "t", "kind": "workflow", "budget": {"iterations": 2}, **top}
    data["workflow"] = {"module": "wf.py", **section}
    path = tmp_path / "task.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


MODULE = """
from workbench.trace import node, bundle
a = node(1.0, trainable=True, name="a")
b = node("hi", trainable=True, name="b")

@bundle(trainable=True)
def f(v):
    return v + 1

def run():
    return f(a) * 2.0

def judge(out):
    return out, f"got {out}"
"""


def test_the_examples_load_and_name_their_parameters() -> None:
    names = {}
    for name in ("numeric", "words", "sentiment"):
        _, task = load_task(EXAMPLES / f"{name}.yaml")
        names[name] = sorted(task.trace_parameters())
    assert names == {
        "numeric": ["x"],
        "words": ["sort_words.__code"],
        "sentiment": ["prompt"],
    }


def test_parameters_are_selected_by_name_or_function(tmp_path: Path) -> None:
    path = write(tmp_path, {"entry": "run", "feedback": "judge", "parameters": ["a", "f"]}, MODULE)
    _, task = load_task(path)
    assert sorted(task.trace_parameters()) == ["a", "f.__code"]
    everything = write(tmp_path, {"entry": "run", "feedback": "judge"}, MODULE)
    assert sorted(load_task(everything)[1].trace_parameters()) == ["a", "b", "f.__code"]


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ({"module": "nope.py", "entry": "run", "feedback": "judge"}, "module file 'nope.py'"),
        ({"entry": "run"}, "exactly one of"),
        ({"entry": "run", "feedback": "judge", "command": "true"}, "exactly one of"),
        ({"feedback": "judge"}, "name the entry function"),
        (
            {"entry": "run", "feedback": "judge", "run_in": "process", "sandboxed": ["g"]},
            "needs run_in: sandbox",
        ),
    ],
)
def test_bad_sections_are_config_errors(
    tmp_path: Path, section: dict[str, Any], message: str
) -> None:
    path = write(tmp_path, section, MODULE)
    with pytest.raises(ConfigError, match=message):
        load_task_file(path)


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ({"entry": "run", "feedback": "judge", "parameters": ["zz"]}, "'zz' is not a trainable"),
        ({"entry": "nothing", "feedback": "judge"}, "no function 'nothing'"),
        ({"entry": "run", "feedback": "missing_mod:fn"}, "missing_mod"),
        ({"entry": "run", "feedback": "judge", "sandboxed": ["run"]}, "'run' is not a @bundle"),
    ],
)
def test_bad_names_fail_when_the_task_is_built(
    tmp_path: Path, section: dict[str, Any], message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        load_task(write(tmp_path, section, MODULE))


def test_two_tasks_from_one_file_do_not_share_values(tmp_path: Path) -> None:
    path = write(tmp_path, {"entry": "run", "feedback": "judge", "parameters": ["a"]}, MODULE)
    _, one = load_task(path)
    _, two = load_task(path)
    one.set_values({"a": 5.0})
    assert two.trace_parameters()["a"].data == 1.0


def test_numeric_feedback_says_which_way_to_go(ctx: RunContext) -> None:
    _, task = load_task(EXAMPLES / "numeric.yaml")
    low = task.evaluate(Candidate("a", {"params": {"x": 0.0}}), ctx)
    high = task.evaluate(Candidate("b", {"params": {"x": 10.0}}), ctx)
    exact = task.evaluate(Candidate("c", {"params": {"x": 6.0}}), ctx)
    assert (low.status, low.scores) == ("ok", {"abs_error": 18.0})
    assert "too small" in low.feedback and "too large" in high.feedback
    assert exact.score == 0.0 and "Success" in exact.feedback
    out = task.trace_output("a", {})
    assert out.data == 2.0 and out.op == "add"  # the graph of candidate a, kept
    bad = task.evaluate(Candidate("d", {"params": {"y": 1.0}}), ctx)
    assert bad.status == "error" and "unknown parameters ['y']" in bad.feedback


def test_an_error_in_trainable_code_becomes_feedback(tmp_path: Path, ctx: RunContext) -> None:
    path = write(tmp_path, {"entry": "run", "feedback": "judge"}, MODULE)
    _, task = load_task(path)
    code = "def f(v):\n    return v / 0\n"
    ev = task.evaluate(Candidate("z", {"params": {"f.__code": code}}), ctx)
    assert ev.status == "error"
    assert "ZeroDivisionError" in ev.feedback and "return v / 0  <---" in ev.feedback
    assert isinstance(task.trace_output("z", {}), ExceptionNode)


def test_unit_tests_run_in_the_sandbox_and_score_the_pass_rate(ctx: RunContext) -> None:
    _, task = load_task(EXAMPLES / "words.yaml")
    assert task.needs_sandbox
    first = task.evaluate(Candidate("a", {"params": {}}), ctx)
    assert first.scores["pass_rate"] == 0.25  # only test_empty passes `return text`
    assert "FAIL: test_sorted" in first.feedback
    assert {t["name"]: t["passed"] for t in first.tests}["test_empty"] is True
    good = task.evaluate(Candidate("b", {"params": {"sort_words.__code": GOOD_SORT}}), ctx)
    assert good.scores["pass_rate"] == 1.0 and good.feedback == "4 of 4 tests passed."
    broken = "def sort_words(text):\n    return (\n"
    bad = task.evaluate(Candidate("c", {"params": {"sort_words.__code": broken}}), ctx)
    assert bad.score == 0.0
    assert bad.feedback.startswith("Running the workflow failed with (SyntaxError)")


def test_trainable_functions_can_run_in_the_sandbox(tmp_path: Path, ctx: RunContext) -> None:
    module = MODULE + "\nimport os\n"
    path = write(tmp_path, {"entry": "run", "feedback": "judge", "run_in": "sandbox"}, module)
    _, task = load_task(path)
    assert task.needs_sandbox
    here = os.getpid()  # the code adds 10 only when it runs in another process
    code = f"def f(v):\n    import os\n    return v + (10 if os.getpid() != {here} else -99)\n"
    ok = task.evaluate(Candidate("a", {"params": {"f.__code": code}}), ctx)
    assert ok.score == 22.0  # (1 + 10) * 2, computed by the sandboxed process
    crash = "def f(v):\n    x = 1\n    return v / 0\n"
    ev = task.evaluate(Candidate("b", {"params": {"f.__code": crash}}), ctx)
    assert ev.status == "error"
    assert "return v / 0  <--- (ZeroDivisionError) float division by zero" in ev.feedback


def test_trainable_functions_run_in_the_sandbox_unless_process_is_named(
    tmp_path: Path, box: LocalSandbox
) -> None:
    here = os.getpid()  # the code adds 10 only when it runs in another process
    code = f"def f(v):\n    import os\n    return v + (10 if os.getpid() != {here} else -99)\n"
    candidate = Candidate("a", {"params": {"f.__code": code}})
    calls: list[str] = []

    def opened() -> LocalSandbox:
        calls.append("sandbox")
        return box

    tf, task = load_task(write(tmp_path, {"entry": "run", "feedback": "judge"}, MODULE))
    assert tf.section.run_in == "sandbox" and task.needs_sandbox  # the default
    assert task.evaluate(candidate, RunContext(open_sandbox=opened)).score == 22.0
    assert calls  # the call went through the run's sandbox
    named = write(tmp_path, {"entry": "run", "feedback": "judge", "run_in": "process"}, MODULE)
    _, in_process = load_task(named)
    assert not in_process.needs_sandbox
    assert in_process.evaluate(candidate, RunContext()).score == -196.0  # (1 - 99) * 2


SCORER = """
from workbench.trace import node, bundle
a = node(1.0, trainable=True, name="a")

@bundle()
def score(v):
    import os
    return {"value": v * 2, "pid": os.getpid()}

def run():
    return score(a)

def judge(out):
    return out["value"], str(out["pid"])
"""


def test_sandboxed_functions_run_in_the_sandbox_each_call_its_own_run(
    tmp_path: Path, box: LocalSandbox
) -> None:
    runs: list[str] = []

    def opened() -> LocalSandbox:
        runs.append("run")
        return box

    path = write(tmp_path, {"entry": "run", "feedback": "judge", "sandboxed": ["score"]}, SCORER)
    _, task = load_task(path)
    assert task.needs_sandbox  # a value alone would need none; the scorer does
    ev = task.evaluate(Candidate("a", {"params": {"a": 4.0}}), RunContext(open_sandbox=opened))
    assert ev.score == 8.0 and runs == ["run"]
    assert int(ev.feedback) != os.getpid()  # computed in another process
    unboxed = write(tmp_path, {"entry": "run", "feedback": "judge"}, SCORER)
    _, plain = load_task(unboxed)
    assert not plain.needs_sandbox
    assert plain.evaluate(Candidate("a", {"params": {}}), RunContext()).feedback == str(os.getpid())


def test_examples_without_trainable_functions_need_no_sandbox() -> None:
    needs = {n: load_task(EXAMPLES / f"{n}.yaml")[1].needs_sandbox for n in ("numeric", "words")}
    assert needs == {"numeric": False, "words": True}  # values move nowhere; code runs boxed


def test_a_prompt_parameter_is_scored_against_labelled_examples(ctx: RunContext) -> None:
    tf, _ = load_task(EXAMPLES / "sentiment.yaml")

    def model(request: Any) -> str:
        system, review = (m["content"] for m in request.messages)
        if "positive or negative" not in system:
            return "I think this is a review."
        return (
            "negative" if any(w in review for w in ("boring", "worst", "dreadful")) else "positive"
        )

    task = WorkflowTask(tf.name, tf.section, tf.base_dir, llm=ScriptedLLM(model))  # type: ignore[arg-type]
    vague = task.evaluate(Candidate("a", {"params": {}}), ctx)
    assert vague.score == 0.0 and "6 of 6 reviews were labelled wrongly" in vague.feedback
    prompt = "Answer positive or negative."
    sharp = task.evaluate(Candidate("b", {"params": {"prompt": prompt}}), ctx)
    assert sharp.score == 1.0
    out = task.trace_output("b", {})
    assert out.op == "collect" and len(out.data) == 6


@pytest.mark.parametrize(
    ("text", "code", "expected"),
    [
        ("..\n2 passed in 0.01s\n", 0, (2, 2)),
        ("F.\n1 failed, 1 passed in 0.02s\n", 1, (1, 2)),
        ("1 failed, 2 passed, 1 error in 0.1s", 1, (2, 4)),
        ("t.py::test_a PASSED\nt.py::test_b FAILED\n", 1, (1, 2)),
        (
            "test_a (m.T.test_a) ... ok\n\nRan 3 tests in 0.001s\n\nFAILED (failures=1, errors=1)",
            1,
            (1, 3),
        ),
        ("Ran 2 tests in 0.001s\n\nOK\n", 0, (2, 2)),
        ("no summary at all", 0, (1, 1)),
        ("no summary at all", 2, (0, 1)),
    ],
)
def test_parse_test_output(text: str, code: int, expected: tuple[int, int]) -> None:
    passed, total, _ = parse_test_output(text, code)
    assert (passed, total) == expected


def test_config_changes_with_the_module_source(tmp_path: Path) -> None:
    path = write(tmp_path, {"entry": "run", "feedback": "judge"}, MODULE)
    before = load_task(path)[1].fingerprint()
    (tmp_path / "wf.py").write_text(MODULE + "\n# edited\n")
    assert load_task(path)[1].fingerprint() != before
    assert json.dumps(load_task(path)[1].config())


@pytest.mark.docker
def test_unit_test_example_in_docker(docker_sandbox: Any) -> None:
    ctx = RunContext(open_sandbox=lambda: docker_sandbox)
    _, task = load_task(EXAMPLES / "words.yaml")
    first = task.evaluate(Candidate("a", {"params": {}}), ctx)
    assert first.scores["pass_rate"] == 0.25
    good = task.evaluate(Candidate("b", {"params": {"sort_words.__code": GOOD_SORT}}), ctx)
    assert good.scores["pass_rate"] == 1.0
    assert task.trace_output("b", {}).data == "Apple banana cherry"  # run in the container


def test_a_failed_sandbox_is_the_runs_problem_not_the_candidates(tmp_path: Path) -> None:
    """An infrastructure failure inside a sandboxed call is raised, never an error verdict
    (which the loop would record and cache as the candidate's result)."""

    class Broken:
        def run(self, *args: Any, **kwargs: Any) -> Any:
            raise SandboxFailure("the container's supervisor failed: no answer")

    path = write(tmp_path, {"entry": "run", "feedback": "judge", "sandboxed": ["score"]}, SCORER)
    _, task = load_task(path)
    with pytest.raises(SandboxFailure, match="supervisor failed"):
        task.evaluate(Candidate("a", {"params": {}}), RunContext(open_sandbox=Broken))
