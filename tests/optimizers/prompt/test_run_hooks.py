"""Prompt runs through the generic loop: the plan printed before the run, the task model on
the run's budget and event log, the test split scored by `PromptTask.finalize`, and the
optimizer name ``exemplars``. Scripted models only."""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

import workbench.llm
from tests.optimizers.prompt.test_prompt_opt import OptModel
from tests.tasks.prompt.test_kind import solver, write_task
from workbench.cli import app
from workbench.llm import ScriptedLLM
from workbench.optimizers.prompt import project_task
from workbench.runs import start_run


def _calls(run: Path, role: str) -> int:
    lines = (run / "events.jsonl").read_text().splitlines()
    return sum(1 for e in map(json.loads, lines) if e["type"] == "llm_call" and e["role"] == role)


def _task_llm(budget: Any = None, on_call: Any = None) -> ScriptedLLM:
    return solver(budget=budget, on_call=on_call)


@pytest.mark.parametrize(
    ("optimizer", "settings"),
    [
        ("ape", "{demos: 2}"),
        ("protegi", "{beam: 1, gradients: 1, edits_per_gradient: 2, minibatch: 3}"),
        ("exemplars", "{selector: random_search, k: 2}"),
        ("joint", "{instruction: opro, selector: nearest, selector_settings: {k: 2}}"),
    ],
)
def test_projected_calls_equal_the_logged_calls(
    tmp_path: Path, optimizer: str, settings: str
) -> None:
    res = start_run(
        write_task(tmp_path, optimizer, settings, evals=6),
        tmp_path / "runs",
        use_cache=False,
        make_llm=OptModel().make,
        make_task_llm=_task_llm,
    )
    plan = res.summary["plan"]
    proj = plan.get("projection_with_pool") or plan
    assert _calls(res.run.path, "task") == res.summary["task_llm"]["calls"] == proj["task_calls"]
    assert _calls(res.run.path, "optimizer") == proj["optimizer_calls"]
    assert res.summary["evaluations"] == proj["val_evaluations"] + proj["report_evaluations"]
    final = res.summary["final"]
    assert final["test_size"] == 10 and 0.0 <= final["test_accuracy"] <= 1.0
    assert final["gap"] == pytest.approx(final["val_accuracy"] - final["test_accuracy"])
    assert final["val_accuracy"] == final["score"]


def test_heuristic_selector_reports_its_own_prompt(tmp_path: Path) -> None:
    # the report candidate (the selector's prompt) is tested, not merely the top score
    res = start_run(
        write_task(tmp_path, "exemplars", "{selector: random, k: 2}", evals=6),
        tmp_path / "runs",
        make_llm=OptModel().make,
        make_task_llm=_task_llm,
    )
    final = res.summary["final"]
    assert len(final["payload"]["exemplars"]) == 2
    assert final["id"] == "p0001"  # seed p0000, then the report prompt


def test_task_model_budget_stops_the_run_cleanly(tmp_path: Path) -> None:
    path = write_task(tmp_path, "ape", "{demos: 2}", evals=6)
    text = path.read_text().replace(
        "budget: {evaluations: 6}", "budget: {evaluations: 6, llm_calls: 10}"
    )
    path.write_text(
        text.replace(
            "  max_tokens: 32", "  max_tokens: 32\n  task_llm: {model: local, concurrency: 1}"
        )
    )
    res = start_run(path, tmp_path / "runs", make_llm=OptModel().make, make_task_llm=_task_llm)
    s = res.summary
    assert s["stop_reason"] == "budget:llm_calls" and s["evaluations"] == 1
    # seed: 6 task calls, one APE proposal, then 3 task calls of the next prompt hit the limit
    assert _calls(res.run.path, "task") == 9 and _calls(res.run.path, "optimizer") == 1
    assert s["final"]["skipped"] == "budget:llm_calls" and s["final"]["id"] == "p0000"
    assert (res.run.path / "summary.json").is_file()


@contextlib.contextmanager
def _fake_open_llm(
    config: Any, *, budget: Any = None, on_call: Any = None, **_: Any
) -> Iterator[Any]:
    opt, task = OptModel(), solver()

    def answer(request: Any) -> str:
        last = request.messages[-1]["content"]
        if "+" in last and len(last) < 8:  # a task-model prompt ends with the input "a+b"
            return task.chat(request.messages).text
        return opt(request)

    yield ScriptedLLM(answer, budget=budget, on_call=on_call)


def test_cli_prints_the_projection_and_the_test_accuracy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(workbench.llm, "open_llm", _fake_open_llm)
    path = write_task(tmp_path, "opro", "{candidates_per_step: 2}", evals=5)
    expected = project_task(path)
    line = f"projected calls: {expected.task_calls} task-model, {expected.optimizer_calls}"
    runner = CliRunner()
    res = runner.invoke(app, ["validate", str(path)])
    assert res.exit_code == 0, res.output
    assert line in res.output
    res = runner.invoke(app, ["optimize", str(path), "--runs-dir", str(tmp_path / "runs")])
    assert res.exit_code == 0, res.output
    assert line in res.output
    assert res.output.index("plan: opro") < res.output.index("run folder")
    assert "final test_accuracy" in res.output
    (run,) = (tmp_path / "runs").iterdir()
    summary = json.loads((run / "summary.json").read_text())
    assert _calls(run, "task") == summary["task_llm"]["calls"] == expected.task_calls


def test_exemplars_resolves_by_name_in_a_fresh_process(tmp_path: Path) -> None:
    code = (
        "from workbench.optimizers import make_optimizer, RunContext\n"
        "from workbench.tasks import build_task, load_task_file\n"
        "import sys\n"
        "for name in ('exemplars', 'exemplars_opt'):\n"
        "    task = build_task(load_task_file(sys.argv[1]))\n"
        "    opt = make_optimizer(name, {'selector': 'random'}, RunContext(task=task))\n"
        "    print(name, type(opt).__name__, opt.method)\n"
    )
    path = write_task(tmp_path, "exemplars")
    out = subprocess.run(
        [sys.executable, "-c", code, str(path)], capture_output=True, text=True, check=True
    ).stdout
    assert out.split("\n")[:2] == [
        "exemplars PromptOptimizer exemplars",
        "exemplars_opt PromptOptimizer exemplars",
    ]
