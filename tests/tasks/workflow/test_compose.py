"""`workbench.compose`: the agents of a traced module composed from Python, as a task file does."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml

import workbench as wb
from tests.optimizers.test_team import CODER, TUNER, _evaluated, coder_model, write_team_task
from workbench.llm import ScriptedLLM
from workbench.runs import start_run
from workbench.tasks import load_task_file
from workbench.tasks.workflow import load_module


def make_llm(budget: Any = None, on_call: Any = None) -> ScriptedLLM:
    return ScriptedLLM(coder_model, budget=budget, on_call=on_call)


def evaluated(run: Path) -> list[tuple[str, Any]]:
    return [(agent, params) for agent, params, _ in _evaluated(run)]


@pytest.fixture
def pipe(tmp_path: Path) -> tuple[Path, ModuleType]:
    coder = {**CODER, "parameters": ["offset"]}
    path = write_team_task(tmp_path / "yaml", [coder, {**TUNER, "parameters": ["x"]}])
    return path, load_module(path.parent / "pipe.py")


def composed(module: ModuleType, **over: Any) -> Any:
    space = {"type": "float", "low": -2.0, "high": 2.0}
    fields: dict[str, Any] = {
        "entry": module.run,
        "feedback": module.feedback,
        "agents": [
            wb.Agent("coder", "optoprime", owns=[module.offset], settings={"temperatures": [0.0]}),
            wb.Agent("tuner", "optuna", owns={module.x: space}, settings={"sampler": "random"}),
        ],
        "budget": {"evaluations": 12},
        "space": {"y": {"type": "float", "low": -1.0, "high": 1.0}},
        "name": "team",
        "description": "Make the output 10.",
        "metric": "abs_error",
        "direction": "minimize",
        "run_in": "process",
        "seed": 0,
    }
    return wb.compose(module, **{**fields, **over})


def test_objects_name_the_parameters_as_the_task_file_does(
    pipe: tuple[Path, ModuleType],
) -> None:
    path, module = pipe
    task = composed(module)
    from_file = load_task_file(path)
    assert [a.parameters for a in task.agents] == [["offset"], ["x"]]
    assert task.proposer() == from_file.proposer()
    assert task.workflow.space == from_file.workflow.space
    assert task.workflow.entry == "run" and task.workflow.feedback == "feedback"
    # every top-level key of a task file is one of compose's: workdir too
    assert composed(module, workdir=".").workdir == str(path.parent.resolve())
    # written out, it is a task file that loads to the same task
    out = path.parent / "composed.yaml"
    out.write_text(yaml.safe_dump(task.to_yaml_dict(), sort_keys=False))
    again = load_task_file(out)
    assert again.proposer() == task.proposer() and again.workflow == task.workflow


def test_the_composed_run_evaluates_what_the_task_file_run_does(
    tmp_path: Path, pipe: tuple[Path, ModuleType]
) -> None:
    path, module = pipe
    summary = wb.optimize(composed(module), tmp_path / "runs_api", make_llm=make_llm)
    by_file = start_run(path, tmp_path / "runs_file", make_llm=make_llm)
    assert summary["optimizer"] == "coder=optoprime, tuner=optuna"
    assert summary["evaluations"] == by_file.summary["evaluations"] == 12
    api_run = next((tmp_path / "runs_api").iterdir())
    assert evaluated(api_run) == evaluated(by_file.run.path)
    assert summary["best"]["score"] == by_file.summary["best"]["score"] < 1.0
    assert (api_run / "report.html").is_file()
    assert module.offset.parameter.data.endswith("return v + 0.0\n")  # the caller's untouched


@pytest.mark.parametrize(
    ("over", "message"),
    [
        (
            {"agents": [wb.Agent("a", "optuna", owns=["x"]), wb.Agent("a", "optoprime")]},
            "agents: names must differ",
        ),
        ({"budget": {}}, "budget: set at least one limit"),
        ({"metric": ""}, "workflow.metric"),
        ({"space": {"y": {"type": "float", "low": 1, "high": 0}}}, "workflow.space.y"),
        ({"routing": [{"when": "error", "agent": "nobody"}]}, "'nobody' is not in agents"),
    ],
)
def test_bad_compositions_name_the_field(
    pipe: tuple[Path, ModuleType], over: dict[str, Any], message: str
) -> None:
    with pytest.raises(wb.ConfigError, match=message) as err:
        composed(pipe[1], **over)
    assert "invalid task compose(pipe.py)" in str(err.value)
    assert "workbench validate" not in str(err.value)  # there is no file to validate


def test_objects_must_be_parameters_of_the_module(pipe: tuple[Path, ModuleType]) -> None:
    path, module = pipe
    stranger = wb.node(1.0, trainable=True, name="stranger")
    bad = [wb.Agent("a", "optuna", owns={stranger: {"type": "float", "low": 0, "high": 1}})]
    with pytest.raises(wb.ConfigError, match=r"agents\.0\.owns: .* not a trainable parameter"):
        composed(module, agents=bad)
    by_path = [wb.Agent("coder", "optoprime", owns=[module.offset])]
    with pytest.raises(wb.ConfigError, match="pass the module object"):
        wb.compose(path.parent / "pipe.py", agents=by_path, budget={"evaluations": 1})
    names = [wb.Agent("coder", "optoprime", owns=["offset"])]
    task = wb.compose(
        path.parent / "pipe.py", agents=names, budget={"evaluations": 1}, feedback="feedback"
    )
    assert task.agents is not None and task.agents[0].parameters == ["offset"]
    with pytest.raises(wb.ConfigError, match="plain data"):
        composed(module, args={"f": object()})
