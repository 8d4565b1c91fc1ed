"""`workflow.space`: ask/tell optimizers (optuna, llambo) tune a workflow's numeric parameters."""

from __future__ import annotations

import json
import random
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from workbench.errors import ConfigError
from workbench.llm import ChatRequest, ScriptedLLM
from workbench.optimizers import make_optimizer
from workbench.runs import start_run
from workbench.tasks import RunContext, build_task, load_task_file

ROOT = Path(__file__).resolve().parents[3]
SPACE = {"x": {"type": "float", "low": -10.0, "high": 10.0}}


def write_task(folder: Path, optimizer: dict[str, Any], **workflow: Any) -> Path:
    shutil.copy(ROOT / "tasks" / "workflow" / "numeric.py", folder / "numeric.py")
    (folder / "prompts.py").write_text(
        "from workbench.trace import node\n"
        "style = node('terse', trainable=True, name='style')\n"
        "x = node(1.0, trainable=True, name='x')\n"
        "def run():\n    return x * 2.0\n"
        "def feedback(output):\n    return float(output), 'ok'\n"
    )
    task = {
        "name": "numeric-space",
        "kind": "workflow",
        "description": "Choose x so that 3x + 2 equals 20.",
        "optimizer": optimizer,
        "budget": {"evaluations": 20},
        "seed": 0,
        "workflow": {
            "module": "numeric.py",
            "entry": "run",
            "feedback": "feedback",
            "metric": "abs_error",
            "direction": "minimize",
            "run_in": "process",
            "space": SPACE,
            **workflow,
        },
    }
    path = folder / "task.yaml"
    path.write_text(yaml.safe_dump(task, sort_keys=False))
    return path


def test_tpe_tunes_the_workflows_number(tmp_path: Path) -> None:
    path = write_task(tmp_path, {"name": "optuna", "settings": {"n_startup_trials": 5}})
    result = start_run(path, tmp_path / "runs")
    summary = result.summary
    assert summary["evaluations"] == 20 and summary["statuses"] == {"ok": 20}
    best = summary["best"]
    assert set(best["payload"]["params"]) == {"x"}
    # 3x + 2 = 20 at x = 6: the error is 3 |x - 6|
    assert best["score"] == pytest.approx(3 * abs(best["payload"]["params"]["x"] - 6.0))
    assert best["score"] < 1.0  # random points in [-10, 10] average an error of 18 or more


def test_the_shipped_tpe_example_runs(tmp_path: Path) -> None:
    result = start_run(ROOT / "tasks" / "workflow" / "numeric_tpe.yaml", tmp_path)
    assert result.summary["statuses"] == {"ok": 25} and result.summary["best"]["score"] < 1.0


def _llambo_model(request: ChatRequest) -> str:
    """Rows in the space (LLAMBO's proposals), predictions for its candidates."""
    rng = random.Random(request.key())
    text = request.messages[-1]["content"]
    if "predictions" in text:
        k = int(text.split("each of these ")[1].split()[0])
        return json.dumps({"predictions": [rng.uniform(0, 30) for _ in range(k)]})
    k = int(m.group(1)) if (m := re.search(r"Propose (\d+)", text)) else 4
    return json.dumps({"configs": [[rng.uniform(-10, 10)] for _ in range(k)]})


def test_llambo_proposes_the_workflows_number(tmp_path: Path) -> None:
    path = write_task(tmp_path, {"name": "llambo", "settings": {}})
    prompts: list[str] = []

    def model(request: ChatRequest) -> str:
        prompts.append(str(request.messages[-1]["content"]))
        return _llambo_model(request)

    llm = ScriptedLLM(model)
    result = start_run(path, tmp_path / "runs", make_llm=lambda **kw: llm)
    assert result.summary["statuses"] == {"ok": 20}
    assert prompts and any("x" in p and "abs_error" in p for p in prompts)
    params = [
        json.loads(line)["payload"]["params"]
        for line in (result.run.path / "events.jsonl").read_text().splitlines()
        if json.loads(line)["type"] == "proposal"
    ]
    assert params and all(set(p) == {"x"} and -10 <= p["x"] <= 10 for p in params)


@pytest.mark.parametrize(
    ("module", "space", "message"),
    [
        ("numeric.py", {"y": SPACE["x"]}, r"workflow\.space\.y: not a trained parameter.*x"),
        (
            "prompts.py",
            {"style": {"type": "float", "low": 0, "high": 1}},
            r"workflow\.space\.style: type float for a parameter whose value is str",
        ),
    ],
)
def test_a_space_that_does_not_fit_the_parameters_is_refused(
    tmp_path: Path, module: str, space: dict[str, Any], message: str
) -> None:
    path = write_task(tmp_path, {"name": "optuna"}, module=module, space=space)
    with pytest.raises(ConfigError, match=message):
        build_task(load_task_file(path))


def test_an_ask_tell_optimizer_needs_a_space(tmp_path: Path) -> None:
    path = write_task(tmp_path, {"name": "optuna"}, space={})
    task = build_task(load_task_file(path))
    with pytest.raises(ConfigError, match=r"cannot optimize.*needs `workflow\.space`"):
        make_optimizer("optuna", {}, RunContext(task=task, seed=0))
