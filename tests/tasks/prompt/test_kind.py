"""The `prompt` task kind: schema, evaluation rows, exemplar ids, nearest rule, test split."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from workbench.contracts import Candidate
from workbench.errors import ConfigError
from workbench.llm import ScriptedLLM
from workbench.optimizers.prompt import project_task
from workbench.runs import check_task
from workbench.tasks import RunContext, build_task, load_task_file
from workbench.tasks.prompt.kind import PromptTask


def _content(request: object) -> str:
    return "\n".join(m["content"] for m in request.messages)  # type: ignore[attr-defined]


def write_task(tmp: Path, optimizer: str = "ape", settings: str = "{}", evals: int = 6) -> Path:
    """A JSONL dataset of sums (a+b) and a task file around it."""
    rows = [f'{{"input": "{a}+{b}", "target": "{a + b}"}}' for a in range(6) for b in range(6)]
    (tmp / "sums.jsonl").write_text("\n".join(rows), encoding="utf-8")
    path = tmp / "task.yaml"
    path.write_text(
        f"""
name: sums
kind: prompt
optimizer: {{name: {optimizer}, settings: {settings}}}
budget: {{evaluations: {evals}}}
prompt:
  dataset: sums.jsonl
  scorer: numeric
  split: {{train: 8, val: 6, test: 10, seed: 0}}
  instruction: Add the numbers.
  k: 2
  max_tokens: 32
""",
        encoding="utf-8",
    )
    return path


def solver(good_word: str = "CAREFUL", budget: Any = None, on_call: Any = None) -> ScriptedLLM:
    """A task model: right when the system prompt holds `good_word` or exemplars are shown,
    else right only on inputs starting with an even digit (on `budget`, reporting to
    `on_call`, as `RunContext.make_llm` is called)."""

    def answer(request: object) -> str:
        msgs = request.messages  # type: ignore[attr-defined]
        q = msgs[-1]["content"]
        a, b = (int(x) for x in q.split("+"))
        good = good_word in _content(request) or len(msgs) > 2 or a % 2 == 0
        return f"So the answer is {a + b if good else a + b + 1}."

    return ScriptedLLM(answer, model="task", budget=budget, on_call=on_call)


def test_evaluate_returns_accuracy_and_per_example_rows(tmp_path: Path) -> None:
    task = build_task(load_task_file(write_task(tmp_path)))
    assert isinstance(task, PromptTask)
    task.use_client(solver())
    ev = task.evaluate(Candidate("c", {"instruction": "x", "exemplars": []}), RunContext())
    rows = ev.tests
    assert len(rows) == 6 and {"input", "output", "target", "passed"} <= rows[0].keys()
    expected = sum(int(r["input"].split("+")[0]) % 2 == 0 for r in rows) / 6
    assert ev.score == pytest.approx(expected)
    assert all(r["passed"] == (int(r["input"][0]) % 2 == 0) for r in rows)
    good = task.evaluate(Candidate("d", {"instruction": "CAREFUL", "exemplars": []}), RunContext())
    assert good.score == 1.0
    assert task.usage.calls == 12


def test_exemplar_ids_and_dicts_render_as_turns(tmp_path: Path) -> None:
    task = build_task(load_task_file(write_task(tmp_path)))
    seen: list[int] = []

    def answer(request: object) -> str:
        seen.append(len(request.messages))  # type: ignore[attr-defined]
        return "0"

    task.use_client(ScriptedLLM(answer))
    payload = {"instruction": "i", "exemplars": ["train:0", {"input": "1+1", "output": "2"}]}
    task.evaluate(Candidate("c", payload), RunContext())
    assert set(seen) == {1 + 2 * 2 + 1}
    bad = task.evaluate(
        Candidate("c", {"instruction": "i", "exemplars": ["train:99"]}), RunContext()
    )
    assert bad.status == "error" and "train:99" in bad.feedback


def test_nearest_rule_picks_k_per_input(tmp_path: Path) -> None:
    task = build_task(load_task_file(write_task(tmp_path)))
    firsts: list[str] = []

    def answer(request: object) -> str:
        msgs = request.messages  # type: ignore[attr-defined]
        firsts.append(msgs[-1]["content"] + "|" + ",".join(m["content"] for m in msgs[1:-1:2]))
        return "0"

    task.use_client(ScriptedLLM(answer))
    pool = [{"input": f"{a}+{a}", "output": str(2 * a)} for a in range(6)]
    payload = {"instruction": "i", "exemplars": pool, "selection": "nearest", "k": 1}
    task.evaluate(Candidate("c", payload), RunContext())
    assert all(len(f.split("|")[1].split(",")) == 1 for f in firsts)


def test_test_split_is_separate(tmp_path: Path) -> None:
    task = build_task(load_task_file(write_task(tmp_path)))
    task.use_client(solver())
    out = task.evaluate_test({"instruction": "CAREFUL", "exemplars": []})
    assert out == {"accuracy": 1.0, "n": 10}
    val_inputs = {e.input for e in task.splits.val}
    assert not val_inputs & {e.input for e in task.splits.test}


def test_bad_dataset_is_a_config_error(tmp_path: Path) -> None:
    path = write_task(tmp_path)
    path.write_text(path.read_text().replace("sums.jsonl", "no_such_task"), encoding="utf-8")
    with pytest.raises(ConfigError, match="no_such_task"):
        build_task(load_task_file(path))


SHIPPED = sorted((Path(__file__).parents[3] / "tasks" / "prompt").glob("*.yaml"))


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_shipped_task_files_validate_and_project(path: Path) -> None:
    tf = load_task_file(path)
    check_task(tf)
    proj = project_task(tf)
    task = build_task(tf)
    assert isinstance(task, PromptTask)
    assert proj.val_evaluations + proj.report_evaluations <= (tf.budget.evaluations or 0)
    assert proj.task_calls >= len(task.splits.val) + len(task.splits.test)


def test_shipped_task_files_exist() -> None:
    names = {p.stem for p in SHIPPED}
    assert {"navigate_opro", "navigate_joint_tpe", "sports_understanding_mutation"} <= names
