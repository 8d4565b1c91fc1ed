"""The composed ML pipeline of ``tasks/graph/`` (feature code + SVC settings, scored by
cross-validation in the sandbox): what each part buys, that the generated code cannot reach
the labels, the held-out split, and a run of the task file on the CI model."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.agents.helpers import cli
from tests.optimizers.codegen.real_model_run import run_on_real_model
from workbench.contracts import Candidate, Evaluation
from workbench.sandbox import DockerSandbox
from workbench.tasks import RunContext, build_task, parse_task_data

ROOT = Path(__file__).resolve().parents[3]
GRAPH = ROOT / "tasks" / "graph"

STANDARDIZE = """def features(rows):
    n = len(rows[0])
    means = [sum(r[j] for r in rows) / len(rows) for j in range(n)]
    sds = [(sum((r[j] - means[j]) ** 2 for r in rows) / len(rows)) ** 0.5 or 1.0 for j in range(n)]
    return [[(r[j] - means[j]) / sds[j] for j in range(n)] for r in rows]
"""

# What generated code under selection pressure would try: find the labels in its caller's
# frames or on the heap, and hand them back as the only feature (perfect accuracy if found)
LEAK = """def features(rows):
    import gc, sys
    n = len(rows)

    def labels_like(v):
        return (isinstance(v, list) and len(v) == n and v is not rows
                and all(isinstance(t, int) for t in v))

    found = None
    frame = sys._getframe(1)
    while frame is not None and found is None:
        found = next((v for v in frame.f_locals.values() if labels_like(v)), None)
        frame = frame.f_back
    if found is None:
        found = next((v for v in gc.get_objects() if labels_like(v)), None)
    return [[float(t)] for t in found] if found is not None else [[0.0] for _ in rows]
"""


@pytest.mark.parametrize("path", sorted(GRAPH.glob("*.yaml")), ids=lambda p: p.name)
def test_every_composed_task_validates(path: Path) -> None:
    assert cli(["validate", str(path)]) == 0


def task_of(dataset: str = "wine", split: str = "train", **over: Any) -> Any:
    data = yaml.safe_load((GRAPH / "pipeline_wine.yaml").read_text())
    data["workflow"]["args"] = {"dataset": dataset, "split_name": split}
    data["workflow"].update(over)
    return build_task(parse_task_data(data, GRAPH))


def score(task: Any, ctx: RunContext, **params: Any) -> Evaluation:
    return task.evaluate(Candidate("c", {"params": params}), ctx)


@pytest.fixture
def ctx(docker_sandbox: DockerSandbox) -> RunContext:
    return RunContext(open_sandbox=lambda: docker_sandbox)


@pytest.mark.docker
def test_both_parts_pay_and_only_together(ctx: RunContext) -> None:
    task = task_of()
    start = score(task, ctx).score
    tuned = score(task, ctx, C=10.0, gamma=1e-4).score
    scaled = score(task, ctx, **{"features.__code": STANDARDIZE}).score
    both = score(task, ctx, **{"features.__code": STANDARDIZE, "C": 3.0, "gamma": 0.03}).score
    assert start is not None and tuned is not None and scaled is not None and both is not None
    # raw wine features on gamma 1: chance; either part alone helps, together they are far better
    assert start < 0.45 and tuned > start + 0.25 and scaled > start
    assert both > 0.9 and both > max(tuned, scaled) + 0.1


@pytest.mark.docker
def test_a_bad_table_is_an_error_fed_back(ctx: RunContext) -> None:
    task = task_of()
    short = score(task, ctx, **{"features.__code": "def features(rows):\n    return rows[:3]\n"})
    assert short.status == "error" and "one row per sample" in short.feedback
    nan = "def features(rows):\n    return [[float('nan')] for r in rows]\n"
    assert "NaN or infinite" in score(task, ctx, **{"features.__code": nan}).feedback
    crash = "def features(rows):\n    return [[1 / 0] for r in rows]\n"
    ev = score(task, ctx, **{"features.__code": crash})
    assert ev.status == "error" and "ZeroDivisionError" in ev.feedback


NUMPY = """def features(rows):
    import numpy as np
    x = np.asarray(rows)
    return (x - x.mean(axis=0)) / x.std(axis=0)
"""


@pytest.mark.docker
def test_numpy_results_come_back_as_lists(ctx: RunContext) -> None:
    task = task_of()
    arrays = score(task, ctx, **{"features.__code": NUMPY, "C": 3.0, "gamma": 0.03})
    lists = score(task, ctx, **{"features.__code": STANDARDIZE, "C": 3.0, "gamma": 0.03})
    assert arrays.status == "ok" and arrays.score == pytest.approx(lists.score)


@pytest.mark.docker
def test_the_generated_code_cannot_reach_the_labels(ctx: RunContext) -> None:
    boxed = score(task_of(), ctx, **{"features.__code": LEAK})
    assert boxed.status == "ok" and boxed.score is not None
    assert boxed.score < 0.5  # one constant column: chance, the labels were out of reach
    # the same code run in Workbench's own process finds them: the sandbox is what stops it
    in_process = task_of(run_in="process", sandboxed=[])
    leaked = score(in_process, RunContext(), **{"features.__code": LEAK})
    assert leaked.score == 1.0


@pytest.mark.docker
def test_the_held_out_split_is_fitted_on_train_and_scored_on_test(ctx: RunContext) -> None:
    params = {"features.__code": STANDARDIZE, "C": 3.0, "gamma": 0.03}
    train = score(task_of(split="train"), ctx, **params)
    test = score(task_of(split="test"), ctx, **params)
    assert "folds" in train.feedback and "folds" not in test.feedback
    assert test.score is not None and test.score > 0.9
    assert test.score * 54 == pytest.approx(round(test.score * 54))  # 54 test rows of 178


@pytest.mark.docker
@pytest.mark.llm
@pytest.mark.slow
def test_the_task_file_runs_both_agents_on_a_real_model(
    tmp_path: Path, make_llm_client: Callable[..., Any], docker_sandbox: DockerSandbox
) -> None:
    data = yaml.safe_load((GRAPH / "pipeline_wine.yaml").read_text())
    data["workflow"]["module"] = str(GRAPH / "pipeline.py")
    data["budget"] = {"evaluations": 6, "llm_calls": 8}
    data["agents"][0]["optimizer"]["settings"]["max_tokens"] = 200
    summary, events = run_on_real_model(
        tmp_path, yaml.safe_dump(data, sort_keys=False), make_llm_client, max_calls=8
    )
    assert summary["optimizer"] == "coder=optoprime, tuner=llambo"
    assert summary["stop_reason"] in ("budget:evaluations", "budget:llm_calls")
    assert 2 <= summary["evaluations"] <= 6
    agents = summary["agents"]
    assert set(agents) == {"coder", "tuner"}
    assert all(a["evaluations"] >= 1 for a in agents.values())
    assert summary["best"]["score"] is not None and summary["best"]["score"] > 0.0
    evaluated = [e for e in events if e["type"] == "evaluation"]
    assert {e["status"] for e in evaluated} <= {"ok", "error", "failed", "timeout"}
    json.dumps(summary)


def test_the_python_composition_is_the_task_files() -> None:
    from workbench.tasks import load_task_file
    from workbench.tasks.workflow import load_module

    script = load_module(GRAPH / "compose_pipeline.py")
    built, from_file = script.task("wine"), load_task_file(GRAPH / "pipeline_wine.yaml")
    built_data, file_data = built.to_yaml_dict(), from_file.to_yaml_dict()
    assert built_data == file_data
