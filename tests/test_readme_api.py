"""The README's "Python API" example runs as written, and `workbench.optimize` runs a task file.

The example opens the default model (no ``llm=``). Here the default model is a script: the
test patches `workbench.llm.open_llm`, the one resolver every default model goes through (the
way the CLI tests substitute models too), so the README code runs unmodified and no real model
or server is reached.
"""

from __future__ import annotations

import contextlib
import json
import re
import runpy
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

import workbench as wb
import workbench.llm
from workbench.llm import LLMConfig, ScriptedLLM
from workbench.trace import Graph

README = Path(__file__).resolve().parents[1] / "README.md"

NEW_X = 60.0
NEW_CODE = "def scale(v):\n    return v * 30\n"


def python_api_block() -> str:
    """The first ```python block of the README's "## Python API" section."""
    text = README.read_text(encoding="utf-8")
    section = text.split("\n## Python API\n", 1)[1].split("\n## ", 1)[0]
    match = re.search(r"```python\n(.*?)```", section, re.DOTALL)
    assert match is not None, "the Python API section has no ```python block"
    return match.group(1)


def _answer(request: Any) -> str:
    """OptoPrime's answer: x -> NEW_X, the function's code -> NEW_CODE, named as the schema asks."""
    schema = request.response_format["json_schema"]["schema"]
    names = schema["$defs"]["Suggestion"]["properties"]
    suggestion = {n: NEW_CODE if n.startswith("__code") else NEW_X for n in names}
    return json.dumps({"reasoning": "larger", "suggestion": suggestion})


class ScriptedDefault:
    """Stands in for `workbench.llm.open_llm`: yields a `ScriptedLLM`, records open and close."""

    def __init__(self) -> None:
        self.opened: list[Any] = []
        self.closed: list[Any] = []

    @contextlib.contextmanager
    def __call__(self, config: Any, *, budget: Any = None, on_call: Any = None) -> Iterator[Any]:
        self.opened.append(config)
        try:
            yield ScriptedLLM(_answer, budget=budget, on_call=on_call)
        finally:
            self.closed.append(config)


def test_the_example_is_short_and_needs_one_import() -> None:
    code = python_api_block()
    assert len(code.splitlines()) <= 10
    imports = [line for line in code.splitlines() if re.match(r"(import|from) ", line)]
    assert imports == ["import workbench as wb"]
    assert "open_llm" not in code and "wb.OptoPrime([" in code  # no hand-opened model


def test_the_example_runs_and_applies_the_model_answer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    default = ScriptedDefault()
    monkeypatch.setattr(workbench.llm, "open_llm", default)
    # a real file, so that @bundle can read the function's source
    script = tmp_path / "readme_example.py"
    script.write_text(python_api_block(), encoding="utf-8")
    with Graph("readme").activate():
        names = runpy.run_path(str(script), run_name="readme_example")
    x, scale = names["x"], names["scale"]
    assert x.data == NEW_X
    assert scale.parameter.data == NEW_CODE
    assert scale(2).data == 60  # the rewritten function runs
    assert default.opened == [LLMConfig()]  # the default model...
    assert default.closed == default.opened  # ...closed by the `with` block
    printed = capsys.readouterr().out
    assert f"'{x.name}': {NEW_X}" in printed


OBJECTIVE = """
def objective(params):
    return -abs(params["x"] - 0.5)
"""


def test_optimize_runs_a_task_file_and_returns_its_summary(tmp_path: Path) -> None:
    (tmp_path / "readme_api_objective.py").write_text(OBJECTIVE, encoding="utf-8")
    task = {
        "name": "api",
        "kind": "hpo",
        "optimizer": {"name": "optuna", "settings": {"sampler": "random"}},
        "budget": {"evaluations": 3},
        "parallel": 1,
        "seed": 0,
        "hpo": {
            "objective": "readme_api_objective:objective",
            "metric": "score",
            "space": {"x": {"type": "float", "low": 0.0, "high": 1.0}},
        },
    }
    path = tmp_path / "task.yaml"
    path.write_text(yaml.safe_dump(task, sort_keys=False), encoding="utf-8")
    summary = wb.optimize(str(path), runs_dir=tmp_path / "runs")
    assert summary["task"] == "api" and summary["evaluations"] == 3
    assert summary["best"]["score"] <= 0
    (run,) = (tmp_path / "runs").iterdir()
    assert json.loads((run / "summary.json").read_text())["run"] == summary["run"]
    assert (run / "report.html").is_file()  # as `workbench optimize` leaves it
