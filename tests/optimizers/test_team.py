"""Several agents in one run (`workbench.optimizers.team`): ownership, turns, composition,
the contract suite, and a kill -9 in every node of a two-agent run."""

from __future__ import annotations

import json
import re
import sqlite3
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.agents.helpers import cli, events, kill_at
from workbench.contracts import Candidate, Evaluation
from workbench.llm import ChatRequest, ScriptedLLM
from workbench.optimizers import Optimizer, make_optimizer
from workbench.runs import start_run, write_report
from workbench.tasks import RunContext, build_task, load_task_file
from workbench.tasks.schema import TEAM
from workbench.testing import OptimizerCase
from workbench.testing.pytest_optimizers import OptimizerTestCase

# x and y are numbers (ask/tell agents), offset's code is rewritten (optoprime); every
# evaluation is appended to executions.jsonl next to the module
PIPE = '''
import json
from pathlib import Path
from workbench.trace import bundle, node

x = node(0.0, trainable=True, name="x")
y = node(0.0, trainable=True, name="y")


@bundle(trainable=True)
def offset(v):
    """Adds a constant to v."""
    return v + 0.0


def run():
    return offset(x) + y * 0.1


def feedback(output):
    with (Path(__file__).parent / "executions.jsonl").open("a") as f:
        f.write(json.dumps([x.data, y.data, offset.parameter.data.splitlines()[-1]]) + "\\n")
    side = "too large" if output > 10 else "too small"
    return abs(output - 10.0), f"The output {output} is {side}; the target is 10."
'''

SPACE = {
    "x": {"type": "float", "low": -2.0, "high": 2.0},
    "y": {"type": "float", "low": -1.0, "high": 1.0},
}


def _workflow() -> dict[str, Any]:
    return {
        "module": "pipe.py",
        "entry": "run",
        "feedback": "feedback",
        "metric": "abs_error",
        "direction": "minimize",
        "run_in": "process",
        "space": SPACE,
    }


def write_team_task(folder: Path, agents: list[dict[str, Any]], **over: Any) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "pipe.py").write_text(PIPE)
    data: dict[str, Any] = {
        "name": "team",
        "kind": "workflow",
        "description": "Make the output 10.",
        "agents": agents,
        "budget": {"evaluations": 12},
        "seed": 0,
        "workflow": _workflow(),
        **over,
    }
    path = folder / "task.yaml"
    data = json.loads(json.dumps(data))  # no shared objects: YAML anchors are refused
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def coder_model(request: ChatRequest) -> str:
    """Raises offset's constant by 3 each time it is asked."""
    user = str(request.messages[-1]["content"])
    found = re.search(r"return v \+ (-?[\d.]+)", user)
    k = float(found.group(1)) + 3.0 if found else 1.0
    code = f'def offset(v):\n    """Adds a constant to v."""\n    return v + {k}\n'
    return json.dumps({"reasoning": "larger", "suggestion": {"__code_offset0": code}})


CODER = {"name": "coder", "optimizer": {"name": "optoprime", "settings": {"temperatures": [0.0]}}}
TUNER = {"name": "tuner", "optimizer": {"name": "optuna", "settings": {"sampler": "random"}}}


def _evaluated(run: Path) -> list[tuple[str, dict[str, Any], float]]:
    proposals = {e["id"]: e for e in events(run) if e["type"] == "proposal"}
    return [
        (proposals[e["id"]]["meta"]["agent"], proposals[e["id"]]["payload"]["params"], e["score"])
        for e in events(run)
        if e["type"] == "evaluation"
    ]


def test_a_coder_and_a_tuner_compose_in_one_run(tmp_path: Path) -> None:
    path = write_team_task(tmp_path, [CODER, {**TUNER, "parameters": ["x"]}])

    def make_llm(budget: Any = None, on_call: Any = None) -> ScriptedLLM:
        return ScriptedLLM(coder_model, budget=budget, on_call=on_call)

    result = start_run(path, tmp_path / "runs", make_llm=make_llm)
    summary = result.summary
    assert summary["optimizer"] == "coder=optoprime, tuner=optuna"
    assert summary["evaluations"] == 12 and summary["statuses"] == {"ok": 12}
    rows = _evaluated(result.run.path)
    assert [a for a, _, _ in rows] == ["coder", "tuner"] * 6  # equal shares: turns
    # the coder owns offset by default (the one parameter without a range), the tuner x; y has
    # a range but no owner. An agent's candidate changes its own parameters only: the others
    # are those of the best candidate evaluated before it (the incumbent)
    owns = {"coder": "offset.__code", "tuner": "x"}
    incumbent: dict[str, Any] = rows[0][1]
    best = rows[0][2]
    for agent, params, score in rows[1:]:
        theirs = {k: v for k, v in params.items() if k != owns[agent]}
        assert theirs == {k: v for k, v in incumbent.items() if k != owns[agent]}, agent
        if score < best:
            incumbent, best = params, score
    assert all(p["y"] == 0.0 for _, p, _ in rows)
    best_row = summary["best"]
    # neither could get there alone: offset + 0 with x <= 2, or x = 0 with offset's constant
    assert best_row["score"] < 1.0
    assert best_row["payload"]["params"]["x"] != 0.0
    assert "return v + 0.0" not in best_row["payload"]["params"]["offset.__code"]
    # each agent is a node of the graph, and the router sent the steps to them in turn
    with sqlite3.connect(result.run.path / "checkpoints.sqlite") as con:
        paths = con.execute(
            "SELECT task_path FROM writes WHERE channel = 'pending' ORDER BY rowid"
        ).fetchall()
    nodes = [p.rsplit(", ", 1)[1] for (p,) in paths if "agent_" in p]
    assert nodes == ["agent_coder", "agent_tuner"] * 6
    per_agent = summary["agents"]  # one account: each agent's evaluations and best
    assert {k: v["evaluations"] for k, v in per_agent.items()} == {"coder": 6, "tuner": 6}
    assert best_row["id"] in {per_agent["coder"]["best"]["id"], per_agent["tuner"]["best"]["id"]}
    for name, mine in per_agent.items():
        scores = [score for agent, _, score in rows if agent == name]
        assert mine["best"]["score"] == min(scores) and mine["statuses"] == {"ok": 6}
    report = write_report(result.run).read_text()
    assert "<h2>Agents</h2>" in report and "Where each improvement came from" in report
    graph = report.split("<svg", 1)[1].split("</svg>", 1)[0]  # the graph, drawn
    gains = {
        a: sum(e["id"].startswith(f"{a}.") for e in events(result.run.path) if e["type"] == "best")
        for a in ("coder", "tuner")
    }
    for agent in ("coder", "tuner"):
        assert f">agent_{agent}</text>" in graph
        assert f">6 steps, {gains[agent]} gains</text>" in graph
    assert ">evaluate (sandbox)</text>" in graph and ">12</text>" in graph
    gains = [e for e in events(result.run.path) if e["type"] == "best"]
    for e in gains:  # each improvement, with the agent that proposed it
        agent = e["id"].split(".")[0]
        assert f"<td>{e['id']}</td><td>{agent}</td>" in report
    # one account: the coder's model calls are its own, and the run's
    calls = [e for e in events(result.run.path) if e["type"] == "llm_call"]
    assert calls and {e["agent"] for e in calls} == {"coder"}
    assert per_agent["coder"]["llm"]["calls"] == len(calls) == summary["llm"]["calls"]
    assert per_agent["coder"]["llm"]["prompt_tokens"] == summary["llm"]["prompt_tokens"] > 0
    assert per_agent["tuner"]["llm"] == {}
    agents = {e.get("agent") for e in events(result.run.path) if e["type"] == "optoprime_call"}
    assert agents == {"coder"}  # an agent's own events carry its name
    assert (result.run.path / "agents" / "tuner" / "optuna.sqlite").is_file()


def test_shares_and_rules_pick_the_agent(tmp_path: Path) -> None:
    a = {"name": "a", "optimizer": {"name": "optuna"}, "parameters": ["x"], "share": 2}
    b = {"name": "b", "optimizer": {"name": "optuna"}, "parameters": ["y"]}
    rules = [{"when": "error", "agent": "b"}, {"when": "plateau", "agent": "b", "steps": 2}]
    path = write_team_task(tmp_path, [a, b], routing={"rules": rules})
    task_file = load_task_file(path)
    team: Any = make_optimizer(
        *task_file.proposer(), RunContext(task=build_task(task_file), seed=0)
    )
    order = []
    for _ in range(6):
        name = team.next_agent()
        order.append(name)
        team.turns[name] += 1
    assert order == ["a", "a", "b", "a", "a", "b"]  # shares 2 : 1
    team.last_statuses, team.streak = ["error", "error"], 1
    assert team.next_agent() == "b"
    team.streak = 4  # four failed repairs in a row: the rule gives way to the turns
    assert team.next_agent() == "a"
    team.streak = 1
    team.last_statuses, team.best_score, team.since_improve = ["ok"], 1.0, 2
    assert team.next_agent() == "b"  # a plateau
    team.since_improve = 1
    assert team.next_agent() == "a"


def test_rules_on_the_stage_a_staged_judge_stopped_at(tmp_path: Path) -> None:
    """A build failure goes to the code agent, correct but slow to the tuner (issue 17): the
    rules read `Evaluation.stage` (set by the mpi kind), not only the status."""
    coder = {"name": "coder", "optimizer": {"name": "optuna"}, "parameters": ["x"]}
    tuner = {"name": "tuner", "optimizer": {"name": "optuna"}, "parameters": ["y"]}
    rules = [{"when": "build", "agent": "coder"}, {"when": "speed", "agent": "tuner"}]
    path = write_team_task(tmp_path, [coder, tuner], routing={"rules": rules})
    task_file = load_task_file(path)
    team: Any = make_optimizer(
        *task_file.proposer(), RunContext(task=build_task(task_file), seed=0)
    )

    def step(stage: str | None) -> str:
        (cand,) = team.propose(1)
        ev = Evaluation(cand.id, "ok", {"abs_error": 5.0}, "abs_error", "minimize", stage=stage)
        team.observe([ev])
        return team.next_agent()

    assert team.next_agent() == "coder"
    assert step("speed") == "tuner"  # the tuner's turn would come anyway: now twice in a row
    assert step("speed") == "tuner"
    assert step("build") == "coder"
    assert step("build") == "coder"
    assert step(None) == "tuner"  # a pass: back to the turns
    assert (team.last_statuses, team.last_stages) == (["ok"], [None])
    # a stage is remembered across a resume
    step("build")
    again: Any = make_optimizer(
        *task_file.proposer(), RunContext(task=build_task(task_file), seed=0)
    )
    again.load_state(json.loads(json.dumps(team.state())))
    assert again.last_stages == ["build"] and again.next_agent() == "coder"
    data = Evaluation("c", "ok", stage="smoke").to_dict()
    assert Evaluation.from_dict(json.loads(json.dumps(data))).stage == "smoke"


def _route(team: Any, gain_of: dict[str, bool], steps: int) -> list[str]:
    """`steps` steps of `team`: each one's candidate scores 1 lower than the best so far
    (minimized: a gain) when `gain_of` its agent, else 100."""
    order, best = [], 50.0 if team.best_score is None else team.best_score
    for _ in range(steps):
        (cand,) = team.propose(1)
        agent = team.pending[cand.id]["agent"]
        order.append(agent)
        score = best - 1.0 if gain_of[agent] else 100.0
        best = min(best, score)
        team.observe([Evaluation(cand.id, "ok", {"abs_error": score}, "abs_error", "minimize")])
    return order


def _gains_team(folder: Path, **routing: Any) -> Any:
    a = {"name": "a", "optimizer": {"name": "optuna"}, "parameters": ["x"]}
    b = {"name": "b", "optimizer": {"name": "optuna"}, "parameters": ["y"]}
    path = write_team_task(folder, [a, b], routing={"policy": "gains", **routing})
    task_file = load_task_file(path)
    return make_optimizer(*task_file.proposer(), RunContext(task=build_task(task_file), seed=0))


def test_gains_routing_gives_the_turns_to_the_agent_that_gains(tmp_path: Path) -> None:
    # explore 0: each agent once, then always the best recent gain rate
    greedy = _gains_team(tmp_path / "greedy", explore=0.0)
    assert "".join(_route(greedy, {"a": True, "b": False}, 10)) == "ab" + "a" * 8
    assert greedy.gains == {"a": 8, "b": 0}  # a's first score is a baseline, not a gain
    # the default: b is retried now and then, a keeps most turns while it gains
    team = _gains_team(tmp_path / "default")
    first = _route(team, {"a": True, "b": False}, 10)
    assert first[:2] == ["a", "b"] and first.count("a") >= 8
    # the routing state survives a resume: the next pick is the same
    again = _gains_team(tmp_path / "default")
    again.load_state(json.loads(json.dumps(team.state())))
    assert again.next_agent() == team.next_agent()
    # once a stops gaining and b gains, the turns move to b (shares would give 6 of 12 and
    # keep alternating); a's early record fades with each turn it fails
    second = _route(team, {"a": False, "b": True}, 12)
    assert second.count("b") >= 8 and second[-6:] == ["b"] * 6
    assert team.gains["b"] == second.count("b")
    shares = _gains_team(tmp_path / "shares", explore=0.0)
    shares.settings.routing.policy = "shares"
    assert "".join(_route(shares, {"a": True, "b": False}, 10)) == "ab" * 5


def test_an_llm_tuner_is_told_the_task_and_its_share(tmp_path: Path) -> None:
    llambo = {"name": "tuner", "optimizer": {"name": "llambo"}, "parameters": ["x"]}
    path = write_team_task(tmp_path, [CODER, llambo])
    task_file = load_task_file(path)
    team: Any = make_optimizer(*task_file.proposer(), RunContext(task=build_task(task_file)))
    context = team.agents["tuner"].optimizer.engine.head[0]
    assert context.startswith("minimize 'abs_error' of the workflow 'team'")
    assert "You change x; the other parameters keep the values of the best" in context


class Flaky(Optimizer):
    """An agent that raises on the turns in ``fail``, proposes a parameter it does not own on
    those in ``stray``, and otherwise raises offset's constant by one."""

    def __init__(self, ctx: RunContext, settings: dict[str, Any]) -> None:
        self.fail, self.stray = set(settings.get("fail", [])), set(settings.get("stray", []))
        self.turn, self.seen, self.told = 0, [], []

    def propose(self, n: int) -> list[Candidate]:
        self.turn += 1
        if self.turn in self.fail:
            raise RuntimeError(f"bug on turn {self.turn}")
        if self.turn in self.stray:
            return [Candidate(f"s{self.turn}", {"params": {"x": 1.5}})]
        code = f"def offset(v):\n    return v + {self.turn}.0\n"
        return [Candidate(f"f{self.turn}", {"params": {"offset.__code": code}})]

    def observe(self, evaluations: list[Evaluation]) -> None:
        self.seen += [e.candidate_id for e in evaluations if e.candidate_id not in self.seen]

    def rejected(self, candidate_id: str, reason: str) -> None:
        self.told.append((candidate_id, reason))

    def state(self) -> dict[str, Any]:
        return {"turn": self.turn, "seen": self.seen}

    def load_state(self, state: dict[str, Any]) -> None:
        self.turn, self.seen = state["turn"], state["seen"]


FLAKY = "tests.optimizers.test_team:Flaky"


def _failures(run: Path) -> list[dict[str, Any]]:
    return [e for e in events(run) if e["type"] == "agent_failure"]


def test_a_failing_agent_rests_and_the_others_go_on(tmp_path: Path) -> None:
    broken = {"name": "broken", "optimizer": {"name": FLAKY, "settings": {"fail": [1, 2, 3]}}}
    path = write_team_task(tmp_path, [broken, {**TUNER, "parameters": ["x"]}])
    result = start_run(path, tmp_path / "runs")
    summary = result.summary
    assert summary["evaluations"] == 12 and summary["statuses"] == {"ok": 12}
    assert set(summary["agents"]) == {"tuner"}
    failures = _failures(result.run.path)
    assert [(f["agent"], f["in_a_row"], f["resting"]) for f in failures] == [
        ("broken", 1, False),
        ("broken", 2, False),
        ("broken", 3, True),
    ]
    assert failures[0]["error"] == "propose raised RuntimeError: bug on turn 1"
    report = write_report(result.run).read_text()  # drawn, though none of its turns counted
    assert ">agent_broken</text>" in report and ">3 failed turns</text>" in report


def test_a_bad_turn_is_counted_and_the_agent_goes_on(tmp_path: Path) -> None:
    flaky = {"name": "flaky", "optimizer": {"name": FLAKY, "settings": {"fail": [2], "stray": [3]}}}
    path = write_team_task(tmp_path, [flaky, {**TUNER, "parameters": ["x"]}])
    result = start_run(path, tmp_path / "runs")
    assert result.summary["statuses"] == {"ok": 12}
    failures = _failures(result.run.path)
    assert [f["error"] for f in failures] == [
        "propose raised RuntimeError: bug on turn 2",
        "candidate s3 dropped: parameters it does not own: ['x']",
    ]
    assert [f["in_a_row"] for f in failures] == [1, 2] and not failures[-1]["resting"]
    task_file = load_task_file(path)  # the dropped candidate is told back to its agent
    team: Any = make_optimizer(*task_file.proposer(), RunContext(task=build_task(task_file)))
    for _ in range(6):
        team.observe(
            [
                Evaluation(c.id, "ok", {"abs_error": 1.0}, "abs_error", "minimize")
                for c in team.propose(1)
            ]
        )
    told = team.agents["flaky"].optimizer.told
    assert told == [("s3", "it changes parameters it does not own: ['x']; change only yours")]
    flaky_rows = [p for a, p, _ in _evaluated(result.run.path) if a == "flaky"]
    # turns 1, 4, 5, ...: its good proposals after the bad turns were evaluated
    assert [p["offset.__code"].split("+ ")[1].strip() for p in flaky_rows][:3] == [
        "1.0",
        "4.0",
        "5.0",
    ]
    assert result.summary["agents"]["flaky"]["evaluations"] == len(flaky_rows) >= 4


def test_known_points_are_told_back_not_evaluated_again(tmp_path: Path) -> None:
    """A tuner over two choices soon proposes points already evaluated: each is told its known
    result at once, no evaluation is spent on it, and the tuner is asked again."""
    choice = {"type": "categorical", "choices": [0.0, 1.0]}
    tuner = {**TUNER, "parameters": ["y"]}
    workflow = {**_workflow(), "space": {**SPACE, "y": choice}}
    path = write_team_task(tmp_path, [CODER, tuner], workflow=workflow, budget={"evaluations": 10})

    def make_llm(budget: Any = None, on_call: Any = None) -> ScriptedLLM:
        return ScriptedLLM(coder_model, budget=budget, on_call=on_call)

    result = start_run(path, tmp_path / "runs", make_llm=make_llm)
    rows = _evaluated(result.run.path)
    assert result.summary["evaluations"] == len(rows) == 10
    seen: set[str] = set()
    for agent, params, _ in rows:
        key = json.dumps(params, sort_keys=True)
        assert agent != "tuner" or key not in seen  # the tuner's points are all new
        seen.add(key)
    # alone on two values of y, the tuner runs out of new points: told back, then it rests
    solo = write_team_task(tmp_path / "solo", [tuner], workflow=workflow)
    task_file = load_task_file(solo)
    team: Any = make_optimizer(*task_file.proposer(), RunContext(task=build_task(task_file)))
    evaluated = []
    for _ in range(3):
        batch = team.propose(1)
        evaluated += [c.payload["params"]["y"] for c in batch]
        team.observe(
            [Evaluation(c.id, "ok", {"abs_error": 1.0}, "abs_error", "minimize") for c in batch]
        )
    assert sorted(evaluated) == [0.0, 1.0] and team.repeats >= 3


def test_an_agent_at_its_own_budget_stops_and_the_others_go_on(tmp_path: Path) -> None:
    coder = {**CODER, "budget": {"llm_calls": 2}}
    tuner = {**TUNER, "parameters": ["x"], "budget": {"evaluations": 3}}
    path = write_team_task(tmp_path, [coder, tuner, {**TUNER, "name": "y_tuner"}])

    def make_llm(budget: Any = None, on_call: Any = None) -> ScriptedLLM:
        return ScriptedLLM(coder_model, budget=budget, on_call=on_call)

    result = start_run(path, tmp_path / "runs", make_llm=make_llm)
    summary = result.summary
    assert summary["evaluations"] == 12 and summary["stop_reason"] == "budget:evaluations"
    agents = summary["agents"]
    assert agents["coder"]["llm"]["calls"] == 2  # its own limit, within the run's
    assert agents["tuner"]["evaluations"] == 3
    assert agents["coder"]["evaluations"] == 3  # the start, then one per model call
    assert agents["y_tuner"]["evaluations"] == 12 - 3 - 3  # the one left took the rest
    spent = [
        (e["agent"], e["limit"]) for e in events(result.run.path) if e["type"] == "agent_budget"
    ]
    assert sorted(spent) == [("coder", "llm_calls"), ("tuner", "evaluations")]


def test_an_agents_own_spend_survives_a_resume(tmp_path: Path) -> None:
    coder = {**CODER, "budget": {"llm_calls": 3, "evaluations": 5}}
    path = write_team_task(tmp_path, [coder, {**TUNER, "parameters": ["x"]}])
    task_file = load_task_file(path)
    calls = []

    def ctx() -> RunContext:
        def make(budget: Any = None, on_call: Any = None) -> ScriptedLLM:
            return ScriptedLLM(coder_model, budget=budget, on_call=on_call)

        return RunContext(task=build_task(task_file), seed=0, make_llm=make)

    team: Any = make_optimizer(*task_file.proposer(), ctx())
    for _ in range(4):
        batch = team.propose(1)
        team.observe(
            [Evaluation(c.id, "ok", {"abs_error": 5.0}, "abs_error", "minimize") for c in batch]
        )
        calls.append(team.budgets["coder"].spent.calls)
    state = json.loads(json.dumps(team.state()))
    again: Any = make_optimizer(*task_file.proposer(), ctx())
    again.load_state(state)
    assert again.proposed == team.proposed == {"coder": 2, "tuner": 2}
    assert again.budgets["coder"].spent.calls == calls[-1] == 1
    with pytest.raises(Exception, match="coder: budget 'llm_calls' exhausted: used 3 of 3"):
        again.budgets["coder"].spent.calls = 3
        again.budgets["coder"].check()


@pytest.mark.parametrize(
    ("agents", "over", "message"),
    [
        (
            [{**TUNER, "parameters": ["x"]}, {**TUNER, "name": "t2", "parameters": ["x"]}],
            {},
            r"agents\.1\.parameters: 'x' is owned by agent 'tuner' already",
        ),
        ([{**TUNER, "parameters": ["z"]}], {}, r"agents\.0\.parameters: 'z' is not a trained"),
        (
            [{**TUNER, "parameters": ["offset"]}],
            {},
            r"agents\.0\.parameters: optuna searches ranges: give 'offset' one",
        ),
        (
            [TUNER, {**TUNER, "name": "t2"}],
            {},
            r"agents\.1\.parameters: owns no parameter",
        ),
        (
            [{**TUNER, "optimizer": {"name": "optuna", "settings": {"sampler": "nope"}}}],
            {},
            r"agents\.0\.optimizer\.settings\.sampler",
        ),
        ([TUNER], {"optimizer": {"name": "optuna"}}, "either optimizer: .* or agents:"),
        ([{**TUNER, "budget": {"calls": 3}}], {}, r"agents\.0\.budget\.calls: unknown key"),
        ([{**TUNER, "budget": {"evaluations": 0}}], {}, r"agents\.0\.budget\.evaluations"),
        ([TUNER], {"routing": {"rules": [{"when": "error", "agent": "x"}]}}, "agent 'x' is not"),
    ],
)
def test_bad_agents_are_one_clear_message(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    agents: list[dict[str, Any]],
    over: dict[str, Any],
    message: str,
) -> None:
    path = write_team_task(tmp_path, agents, **over)
    assert cli(["validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert re.search(message, err), err
    assert "Traceback" not in err


def _two_tuners(folder: Path) -> Any:
    path = write_team_task(
        folder,
        [
            {"name": "a", "optimizer": {"name": "optuna"}, "parameters": ["x"]},
            {
                "name": "b",
                "optimizer": {"name": "optuna", "settings": {"sampler": "random"}},
                "parameters": ["y"],
            },
        ],
    )
    return build_task(load_task_file(path))


class TestTeamContract(OptimizerTestCase):
    """The optimizer contract suite on a team of two ask/tell agents."""

    @pytest.fixture
    def optimizer_case(self) -> OptimizerCase:
        def build(ctx: RunContext) -> Any:
            task_file = load_task_file(ctx.task.workdir / "task.yaml")  # type: ignore[union-attr]
            name, settings = task_file.proposer()
            assert name == TEAM
            return make_optimizer(name, settings, ctx)

        return OptimizerCase("team", _two_tuners, None, build=build)


# -- kill -9 at every node of a two-agent run -------------------------------------------------
BUDGET = 8
KILLS = {
    "propose (candidates stored)": ("proposal", 3),
    "evaluate (before it runs)": ("evaluation_start", 3),
    "evaluate (recorded)": ("evaluation", 3),
    "update (before observe)": ("feedback", 2),
    "update (best found)": ("best", 2),
    "update (states saved)": ("step", 3),
    "finish": ("stop", 1),
}


def _kill_task(folder: Path) -> Path:
    agents = [
        {"name": "a", "optimizer": {"name": "optuna", "settings": {"n_startup_trials": 2}}},
        {"name": "b", "optimizer": {"name": "optuna", "settings": {"sampler": "random"}}},
    ]
    path = write_team_task(folder, agents, budget={"evaluations": BUDGET}, parallel=2)
    data = yaml.safe_load(path.read_text())
    data["agents"][0]["parameters"], data["agents"][1]["parameters"] = ["x"], ["y"]
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def _executions(folder: Path) -> list[str]:
    file = folder / "executions.jsonl"
    return file.read_text().splitlines() if file.exists() else []


@pytest.fixture(scope="module")
def unbroken(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    folder = tmp_path_factory.mktemp("unbroken")
    assert cli(["optimize", str(_kill_task(folder)), "--runs-dir", str(folder / "runs")]) == 0
    return _executions(folder)


@pytest.mark.slow
@pytest.mark.parametrize("where", list(KILLS))
def test_sigkill_in_every_node_of_a_two_agent_run(
    tmp_path: Path, where: str, unbroken: list[str]
) -> None:
    kind, nth = KILLS[where]
    run = kill_at(_kill_task(tmp_path), tmp_path / "runs", kind, nth)
    before = _executions(tmp_path)

    assert cli(["resume", str(run)]) == 0

    summary = json.loads((run / "summary.json").read_text())
    assert summary["evaluations"] == BUDGET and summary["stop_reason"] == "budget:evaluations"
    ids = [e["id"] for e in events(run) if e["type"] == "evaluation"]
    assert len(ids) == len(set(ids)) == BUDGET, ids
    after = _executions(tmp_path)
    assert after[: len(before)] == before
    assert sum(n - 1 for n in Counter(after).values()) <= 1, after  # two in flight: at most one
    assert set(after) == set(unbroken)  # the same evaluations as the run never killed
    agents = Counter(i.split(".")[0] for i in ids)
    assert agents == {"a": BUDGET // 2, "b": BUDGET // 2}
