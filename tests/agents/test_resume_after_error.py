"""A run ended by an exception (an `on_event` callback that raises) resumes to its budget."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.agents.helpers import events, hpo_task, run_dirs, write_task
from workbench.agents import Loop, LoopSettings, RunStore, open_checkpointer, run_graph
from workbench.optimizers import FunctionOptimizer
from workbench.runs import resume_run, start_run
from workbench.tasks import RunContext, load_task

# Every *completed* execution of the objective appends a line: nothing may run twice.
OBJECTIVE = """
import json
from pathlib import Path

HERE = Path(__file__).parent

def objective(params):
    with (HERE / "executions.jsonl").open("a") as f:
        f.write(json.dumps(params, sort_keys=True) + "\\n")
    return -(params["x"] - 0.3) ** 2
"""

BUDGET = 8


class Boom(RuntimeError):
    """What the callback raises."""


def _raise_on(kind: str, nth: int) -> Any:
    seen = [0]

    def on_event(event: dict[str, Any]) -> None:
        if event.get("type") == kind:
            seen[0] += 1
            if seen[0] == nth:
                raise Boom(f"{kind} #{nth}")

    return on_event


@pytest.mark.parametrize(
    ("parallel", "kind", "nth"),
    [(1, "evaluation", 3), (2, "evaluation", 3), (1, "best", 1), (1, "stop", 1)],
)
def test_on_event_error_then_resume_reaches_the_budget(
    tmp_path: Path, parallel: int, kind: str, nth: int
) -> None:
    (tmp_path / "obj.py").write_text(OBJECTIVE)
    data = hpo_task("boom", parallel=parallel, budget={"evaluations": BUDGET})
    data["optimizer"]["settings"] = {"sampler": "tpe", "n_startup_trials": 3}
    task = write_task(tmp_path, data)
    with pytest.raises(Boom):
        start_run(task, tmp_path / "runs", on_event=_raise_on(kind, nth))
    (run,) = run_dirs(tmp_path / "runs")
    assert not (run / "summary.json").exists()  # not marked finished
    log = tmp_path / "executions.jsonl"
    before = len(log.read_text().splitlines())
    assert 1 <= before <= BUDGET

    result = resume_run(run)
    assert result.summary["finished"] and result.summary["stop_reason"] == "budget:evaluations"
    assert result.summary["evaluations"] == BUDGET
    executed = [json.loads(line) for line in log.read_text().splitlines()]
    assert len(executed) == BUDGET  # each evaluation executed exactly once over both sessions
    fresh = [e["id"] for e in events(run) if e["type"] == "evaluation" and not e["cached"]]
    assert len(fresh) == len(set(fresh))
    assert json.loads((run / "summary.json").read_text())["evaluations"] == BUDGET


@pytest.mark.parametrize("parallel", [1, 2])
def test_stream_callback_error_then_run_graph_resumes(tmp_path: Path, parallel: int) -> None:
    """Events through langgraph's stream (no sink): the step's tasks had all written when the
    callback raised, so the checkpoint has no `next`; it is still not a finished run."""
    (tmp_path / "obj.py").write_text(OBJECTIVE)
    _, task = load_task(write_task(tmp_path, hpo_task("stream")))

    def make_loop() -> Loop:
        opt = FunctionOptimizer(
            lambda n, seen: [
                {"params": {"x": 0.1 * len(seen) + 0.01 * i, "k": "a"}} for i in range(n)
            ]
        )
        settings = LoopSettings(parallel=parallel, max_evaluations=BUDGET)
        return Loop(task, opt, RunStore(tmp_path / "store.sqlite"), settings, RunContext())

    loop = make_loop()
    with open_checkpointer(tmp_path / "checkpoints.sqlite") as saver, pytest.raises(Boom):
        run_graph(loop.build(saver), loop, "t", _raise_on("evaluation", 3))
    loop.store.close()
    loop = make_loop()
    seen: list[dict[str, Any]] = []
    with open_checkpointer(tmp_path / "checkpoints.sqlite") as saver:
        graph = loop.build(saver)
        state = run_graph(graph, loop, "t", seen.append)
        assert state["n_evals"] == BUDGET and state["stop_reason"] == "budget:evaluations"
        assert [e["type"] for e in seen][-1] == "stop"
        again: list[dict[str, Any]] = []
        assert run_graph(graph, loop, "t", again.append) == state  # finished: returns at once
        assert again == []
    loop.store.close()
    executed = (tmp_path / "executions.jsonl").read_text().splitlines()
    assert len(executed) == BUDGET


def test_a_run_stopped_in_the_former_feedback_node_resumes(tmp_path: Path) -> None:
    """`feedback` was a node between `evaluate` and `update`; a run whose last checkpoint
    waits for it (stopped there by an older version) resumes to its budget, not to a silent
    stop after the step."""
    from langgraph.graph import END, START, StateGraph

    from workbench.agents import LoopState

    (tmp_path / "obj.py").write_text(OBJECTIVE)
    _, task = load_task(write_task(tmp_path, hpo_task("former")))

    def make_loop(sink: Any = None) -> Loop:
        opt = FunctionOptimizer(lambda n, seen: [{"params": {"x": 0.1 * len(seen), "k": "a"}}])
        settings = LoopSettings(parallel=1, max_evaluations=BUDGET)
        store = RunStore(tmp_path / "store.sqlite")
        return Loop(task, opt, store, settings, RunContext(), sink=sink)

    def former_graph(loop: Loop, saver: Any) -> Any:
        g = StateGraph(LoopState)
        for name in ("propose", "evaluate", "feedback", "update", "finish"):
            g.add_node(name, getattr(loop, name))
        g.add_edge(START, "propose")
        g.add_conditional_edges("propose", loop.fan_out, ["evaluate", "finish"])
        g.add_edge("evaluate", "feedback")
        g.add_edge("feedback", "update")
        g.add_conditional_edges("update", loop.route, ["propose", "finish"])
        g.add_edge("finish", END)
        return g.compile(checkpointer=saver)

    # the third `feedback` event is the second step's node (`update` writes one too now)
    loop = make_loop(sink=_raise_on("feedback", 3))
    with open_checkpointer(tmp_path / "checkpoints.sqlite") as saver, pytest.raises(Boom):
        run_graph(former_graph(loop, saver), loop, "t")
    loop.store.close()
    loop = make_loop()
    with open_checkpointer(tmp_path / "checkpoints.sqlite") as saver:
        graph = loop.build(saver)
        assert graph.get_state({"configurable": {"thread_id": "t"}}).next == ("feedback",)
        state = run_graph(graph, loop, "t")
    loop.store.close()
    assert state["n_evals"] == BUDGET and state["stop_reason"] == "budget:evaluations"
    assert len((tmp_path / "executions.jsonl").read_text().splitlines()) == BUDGET
