"""A run ended by an exception (an `on_event` callback that raises) resumes to its budget."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.loop.helpers import events, hpo_task, run_dirs, write_task
from workbench.agents import Loop, LoopSettings, RunStore, open_checkpointer, run_graph
from workbench.optimizers import FunctionOptimizer
from workbench.runs import resume_run, start_run
from workbench.tasks import EvalContext, load_task

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
        return Loop(task, opt, RunStore(tmp_path / "store.sqlite"), settings, EvalContext())

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
