"""A run killed right after an evaluation was logged resumes with each evaluation logged once.

The kill lands in the window the issue measured (42 `evaluation` events for 40 evaluations,
``cached: 2`` with no real cache hit): the evaluation is stored and its event written, but the
step's checkpoint is not, so the resumed loop meets the evaluation again.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.agents.helpers import RECORDING_OBJECTIVE, cli, events, hpo_task, run_dirs, write_task

# Runs the task and SIGKILLs itself from the event callback, just after the run wrote the
# `nth` evaluation event to events.jsonl (the log is written before the callback is called).
KILL_AFTER_EVENT = """
import os, signal, sys
from pathlib import Path
from workbench.runs import start_run

task, runs, nth = sys.argv[1], Path(sys.argv[2]), int(sys.argv[3])
seen = [0]

def on_event(event):
    if event.get("type") == "evaluation":
        seen[0] += 1
        if seen[0] == nth:
            os.kill(os.getpid(), signal.SIGKILL)

start_run(task, runs, on_event=on_event)
"""

BUDGET = 6


def _killed_after_three(tmp_path: Path, parallel: int) -> Path:
    """A run SIGKILLed just after its third evaluation event; its run folder."""
    (tmp_path / "obj.py").write_text(RECORDING_OBJECTIVE)
    data = hpo_task("once", parallel=parallel, budget={"evaluations": BUDGET})
    data["optimizer"]["settings"] = {"sampler": "tpe", "n_startup_trials": 3}
    task = write_task(tmp_path, data)
    runs = tmp_path / "runs"
    proc = subprocess.run(
        [sys.executable, "-c", KILL_AFTER_EVENT, str(task), str(runs), "3"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    (run,) = run_dirs(runs)
    return run


# parallel=1: "nothing cached" holds for one evaluation at a time; with two in flight see
# the next test.
@pytest.mark.parametrize("parallel", [1])
def test_evaluation_logged_before_kill_is_not_logged_again(tmp_path: Path, parallel: int) -> None:
    run = _killed_after_three(tmp_path, parallel)
    logged = [e["id"] for e in events(run) if e["type"] == "evaluation"]
    assert len(logged) == 3

    assert cli(["resume", str(run)]) == 0

    evaluations = [e for e in events(run) if e["type"] == "evaluation"]
    ids = [e["id"] for e in evaluations]
    assert len(ids) == BUDGET, ids  # one event per evaluation, over both sessions
    assert len(set(ids)) == BUDGET
    assert ids[:3] == logged
    # nothing was served from the cache, and nothing says it was
    assert not any(e["cached"] for e in evaluations)
    summary = json.loads((run / "summary.json").read_text())
    assert summary["evaluations"] == BUDGET
    assert summary["cached"] == 0
    executed = (tmp_path / "executions.jsonl").read_text().splitlines()
    assert len(executed) == BUDGET  # and nothing ran twice


def test_with_two_in_flight_each_evaluation_is_logged_once_and_cached_only_if_it_ran(
    tmp_path: Path,
) -> None:
    """parallel=2: the kill can land after the second evaluation in flight was computed and
    cached but before it was recorded. The resume then meets it again and serves it from the
    cache, marked cached: still one event per evaluation, and a cached one ran exactly once."""
    run = _killed_after_three(tmp_path, 2)
    before = (tmp_path / "executions.jsonl").read_text().splitlines()
    logged = [e["id"] for e in events(run) if e["type"] == "evaluation"]
    assert len(logged) == 3

    assert cli(["resume", str(run)]) == 0

    evaluations = [e for e in events(run) if e["type"] == "evaluation"]
    ids = [e["id"] for e in evaluations]
    assert len(ids) == BUDGET and len(set(ids)) == BUDGET, ids
    assert ids[:3] == logged
    executed = (tmp_path / "executions.jsonl").read_text().splitlines()
    cached = [e for e in evaluations if e["cached"]]
    # a cache hit is an evaluation that ran before the kill and was never recorded: at most
    # the one other evaluation in flight, and it did not run again
    assert len(cached) <= 1
    assert len(before) >= 3 + len(cached)
    assert len(executed) == BUDGET + (len(before) - 3 - len(cached))
    summary = json.loads((run / "summary.json").read_text())
    assert summary["evaluations"] == BUDGET
    assert summary["cached"] == len(cached)
