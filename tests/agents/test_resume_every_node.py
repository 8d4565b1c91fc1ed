"""A kill -9 inside every kind of node of the loop loses nothing, and the resume is exact.

The loop's nodes are `propose`, `evaluate` (one task per candidate), `update` (the step's
feedback, the optimizer's `observe`, the best) and `finish`. Each emits events at known points,
so a process that SIGKILLs itself from the event callback dies there: after the node did its
work (stored candidates, asked trials, recorded an evaluation, told the study) and before the
checkpoint that would record it. The resumed run must end with its budget of evaluations, each
logged once and executed once, and with the same candidates as a run that was never killed.
"""

from __future__ import annotations

import json
import sqlite3
from collections import Counter
from pathlib import Path

import pytest

from tests.agents.helpers import (
    RECORDING_OBJECTIVE,
    cli,
    events,
    hpo_task,
    kill_at,
    write_task,
)

BUDGET = 8

# (event, nth): where in which node the kill lands
KILLS = {
    "propose (candidates stored, trials asked)": ("proposal", 3),
    "evaluate (before the objective runs)": ("evaluation_start", 3),
    "evaluate (evaluation recorded)": ("evaluation", 3),
    "update (before observe)": ("feedback", 2),
    "update (study told, best found)": ("best", 1),
    "update (optimizer state saved)": ("step", 2),
    "finish": ("stop", 1),
}


def _task(folder: Path, parallel: int) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "obj.py").write_text(RECORDING_OBJECTIVE)
    data = hpo_task("kill", parallel=parallel, budget={"evaluations": BUDGET})
    data["optimizer"]["settings"] = {"sampler": "tpe", "n_startup_trials": 3}
    return write_task(folder, data)


def _executions(folder: Path) -> list[str]:
    return (folder / "executions.jsonl").read_text().splitlines()


@pytest.fixture(scope="module")
def unbroken(tmp_path_factory: pytest.TempPathFactory) -> dict[int, list[str]]:
    """The executions of runs never killed, by parallelism."""
    out = {}
    for parallel in (1, 2):
        folder = tmp_path_factory.mktemp(f"unbroken{parallel}")
        task = _task(folder, parallel)
        assert cli(["optimize", str(task), "--runs-dir", str(folder / "runs")]) == 0
        out[parallel] = _executions(folder)
    return out


@pytest.mark.slow
@pytest.mark.parametrize("parallel", [1, 2])
@pytest.mark.parametrize("where", list(KILLS))
def test_sigkill_in_every_node_then_resume(
    tmp_path: Path, where: str, parallel: int, unbroken: dict[int, list[str]]
) -> None:
    kind, nth = KILLS[where]
    run = kill_at(_task(tmp_path, parallel), tmp_path / "runs", kind, nth)
    before = _executions(tmp_path) if (tmp_path / "executions.jsonl").exists() else []

    assert cli(["resume", str(run)]) == 0

    summary = json.loads((run / "summary.json").read_text())
    assert summary["evaluations"] == BUDGET
    assert summary["stop_reason"] == "budget:evaluations"
    ids = [e["id"] for e in events(run) if e["type"] == "evaluation"]
    assert len(ids) == len(set(ids)) == BUDGET, ids  # one event per evaluation
    after = _executions(tmp_path)
    assert after[: len(before)] == before
    # nothing ran twice, except that with two in flight the kill may cut the other one off
    # between its result and its record (it then runs again: at most one)
    repeats = sum(n - 1 for n in Counter(after).values())
    assert repeats <= (0 if parallel == 1 else 1), after
    # the resume is exact: the candidates are those of the run that was never killed
    assert set(after) == set(unbroken[parallel])
    # the optimizer states no checkpoint names any more were dropped, across the kill too
    with sqlite3.connect(run / "store.sqlite") as con:
        assert con.execute("SELECT count(*) FROM blobs").fetchone()[0] <= 2
