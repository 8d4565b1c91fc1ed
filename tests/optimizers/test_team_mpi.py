"""Agents on an MPI kernel (issue 17): a code agent writes the kernel and declares its knobs, a
tuner sets them against the judge's times; a build failure goes back to the code agent. End to
end through `start_run` with a scripted model and the host's MPICH (the local sandbox)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.fixtures.mpi_checks import KNOB_KERNEL
from tests.fixtures.needs import missing
from tests.optimizers.codegen.scripted_mpi import tiny_problem
from workbench.contracts import Evaluation
from workbench.llm import ChatRequest, ScriptedLLM
from workbench.optimizers import make_optimizer
from workbench.runs import start_run
from workbench.tasks import RunContext, build_task, load_task_file, parse_task_data
from workbench.tasks.mpi import parse_knobs

KNOBBED = f"```cpp\n{KNOB_KERNEL}```"
BROKEN = KNOBBED.replace("local += part;", "local += parts;")  # parses; does not build

AGENTS = [
    {"name": "coder", "optimizer": {"name": "sample"}},
    {"name": "tuner", "optimizer": {"name": "optuna", "settings": {"sampler": "random"}}},
]


def task_data(root: Path, **over: Any) -> dict[str, Any]:
    tiny_problem(root)
    return {
        "name": "tiny-dot-team",
        "kind": "mpi",
        "seed": 0,
        "sandbox": {"backend": "local"},
        "agents": AGENTS,
        "routing": {"rules": [{"when": "build", "agent": "coder"}]},
        "budget": {"evaluations": 6, "llm_calls": 6},
        "mpi": {"problem": "./tiny_dot", "objective": "speed"},
        **over,
    }


def test_a_code_agent_and_a_knob_tuner_share_an_mpi_run(tmp_path: Path) -> None:
    if shutil.which("mpicxx") is None or shutil.which("mpirun") is None:
        missing("host MPICH is not installed (apt-get install mpich libmpich-dev)")
    asked: list[ChatRequest] = []

    def model(request: ChatRequest) -> str:
        asked.append(request)
        return BROKEN if len(asked) == 1 else KNOBBED

    path = tmp_path / "task.yaml"
    path.write_text(yaml.safe_dump(task_data(tmp_path), sort_keys=False))

    def make_llm(budget: Any = None, on_call: Any = None) -> ScriptedLLM:
        return ScriptedLLM(model, budget=budget, on_call=on_call)

    result = start_run(path, tmp_path / "runs", make_llm=make_llm)
    lines = (result.run.path / "events.jsonl").read_text().splitlines()
    log = [json.loads(line) for line in lines]
    proposals = {e["id"]: e for e in log if e["type"] == "proposal"}
    evaluated = [(proposals[e["id"]], e) for e in log if e["type"] == "evaluation"]
    agents = [p["meta"]["agent"] for p, _ in evaluated]
    # nothing to tune before any code; the build failure goes back to the coder (the rule)
    assert agents[:2] == ["coder", "coder"]
    assert evaluated[0][1]["stage"] == "build" and evaluated[0][1]["status"] == "error"
    assert "tuner" in agents[2:]
    knobs = {k.name: k for k in parse_knobs(KNOBBED)[0]}
    written = evaluated[1][0]["payload"]["code"]  # the coder's program that built and passed
    assert evaluated[1][1]["scores"]["speed_score"] > 1.0
    for proposal, ev in evaluated:
        payload = proposal["payload"]
        assert payload["language"] == "cpp" and isinstance(payload["knobs"], dict)
        if proposal["meta"]["agent"] == "tuner":
            # the incumbent's code, with knob values inside their declared ranges
            assert payload["code"] == written and payload["knobs"]
            assert all(knobs[k].check(v) is None for k, v in payload["knobs"].items())
            # a correct program scores 1 + the speedup of its slowest timed trial at np=2
            assert ev["status"] == "ok" and ev["scores"]["speed_score"] > 1.0, ev["feedback"]
    assert result.summary["best"]["score"] > 1.0
    # the coder was told it may declare knobs, since another agent tunes them
    assert "// @knob CHUNK int 64 65536 log" in json.dumps(asked[0].messages)
    summary_agents = result.summary["agents"]
    assert summary_agents["tuner"]["evaluations"] >= 1
    assert sum(a["evaluations"] for a in summary_agents.values()) == 6


def test_the_tuner_starts_over_when_the_code_declares_other_knobs(tmp_path: Path) -> None:
    task_file = parse_task_data(task_data(tmp_path), tmp_path)
    task = build_task(task_file)
    team: Any = make_optimizer(*task_file.proposer(), RunContext(task=task, seed=0))
    assert team.next_agent() == "coder"  # the tuner has nothing to tune yet
    assert team.agents["tuner"].optimizer is None

    def passed(cand_id: str, score: float) -> Evaluation:
        return Evaluation(cand_id, "ok", {"speed_score": score}, "speed_score", "maximize")

    code = KNOBBED.split("```cpp\n", 1)[1].rsplit("```", 1)[0]
    team.incumbent = {"code": code, "knobs": {}}
    first = team.propose_as("tuner", 1)
    assert first and set(first[0].payload["knobs"]) <= {"CHUNK", "USE_ALLREDUCE"}
    tuner = team.agents["tuner"].optimizer
    team.observe([passed(first[0].id, 2.0)])
    assert team.incumbent["knobs"] == first[0].payload["knobs"]
    # the state, restored in a new team, rebuilds the tuner for the same knobs
    again: Any = make_optimizer(*task_file.proposer(), RunContext(task=task, seed=0))
    again.load_state(json.loads(json.dumps(team.state())))
    assert again.agents["tuner"].space == team.agents["tuner"].space is not None
    # new code with one knob of the old ones: the tuner is rebuilt, the kept value stays
    other = code.replace("// @knob USE_ALLREDUCE choice 0 1\n", "").replace(
        "#if USE_ALLREDUCE", "#if 1"
    )
    merged = team.parts.merge(team.incumbent, {"code": other})
    assert set(merged["knobs"]) <= {"CHUNK"}
    team.incumbent = merged
    (second,) = team.propose_as("tuner", 1)
    assert team.agents["tuner"].optimizer is not tuner
    assert set(second.payload["knobs"]) == {"CHUNK"}


@pytest.mark.parametrize(
    ("agents", "message"),
    [
        ([{"name": "t", "optimizer": {"name": "optuna"}}], "needs a code agent"),
        (
            [{"name": "c", "optimizer": {"name": "sample"}, "parameters": ["knobs"]}],
            "sample is a code agent: it owns 'code'",
        ),
        (
            [
                {"name": "c", "optimizer": {"name": "sample"}},
                {"name": "d", "optimizer": {"name": "sample"}},
            ],
            "'code' is owned by agent 'c' already",
        ),
        (
            [{"name": "c", "optimizer": {"name": "sample"}, "parameters": ["kernel"]}],
            "'kernel' is not a part of an mpi task (code, knobs)",
        ),
    ],
)
def test_bad_mpi_agents_are_clear_errors(
    tmp_path: Path, agents: list[dict[str, Any]], message: str
) -> None:
    from workbench.optimizers.base import SettingsError

    task_file = parse_task_data(task_data(tmp_path, agents=agents, routing=None), tmp_path)
    with pytest.raises(SettingsError, match=message.replace("(", r"\(").replace(")", r"\)")):
        make_optimizer(*task_file.proposer(), RunContext(task=build_task(task_file), seed=0))


def test_the_coder_hears_of_knobs_only_when_a_tuner_owns_them(tmp_path: Path) -> None:
    lone = parse_task_data(task_data(tmp_path, agents=AGENTS[:1], routing=None), tmp_path)
    team: Any = make_optimizer(*lone.proposer(), RunContext(task=build_task(lone), seed=0))
    assert "@knob" not in team.parts.view("coder", ["code"], dict).problem.prompt
    both = parse_task_data(task_data(tmp_path / "b"), tmp_path / "b")
    team = make_optimizer(*both.proposer(), RunContext(task=build_task(both), seed=0))
    seen = team.parts.view("coder", ["code"], dict)
    assert "// @knob CHUNK" in seen.problem.prompt and seen.drivers is team.task.drivers


def test_the_task_file_loads(tmp_path: Path) -> None:
    path = tmp_path / "task.yaml"
    path.write_text(yaml.safe_dump(task_data(tmp_path)))
    assert [a.name for a in load_task_file(path).agents or []] == ["coder", "tuner"]


def test_the_ready_mpi_composition_builds() -> None:
    graph = Path(__file__).resolve().parents[2] / "tasks" / "graph"
    task_file = load_task_file(graph / "mpi_histogram_pixels.yaml")
    task = build_task(task_file)
    assert task.primary == "speed_score"
    team: Any = make_optimizer(*task_file.proposer(), RunContext(task=task, seed=0))
    assert team.owned == {"coder": ["code"], "tuner": ["knobs"]}
    assert team.next_agent() == "coder" and team.agents["tuner"].optimizer is None
    team.last_statuses, team.last_stages, team.streak = ["ok"], ["speed"], 1
    team.incumbent = {"code": "// @knob CHUNK int 1 8\nint f();", "knobs": {}}
    assert team.next_agent() == "tuner"
