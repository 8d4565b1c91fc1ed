"""A run killed by SIGKILL in the middle of an evaluation resumes: nothing lost or repeated."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.agents.helpers import cli, hpo_task, run_dirs, write_task

# Executions are counted by the objective itself: a line is appended when one *completes*.
# Evaluation number `slow_at` first writes a marker and sleeps, so the test can kill mid-evaluate.
OBJECTIVE = """
import json, os, time
from pathlib import Path

HERE = Path(__file__).parent

def objective(params, slow_at=-1):
    log = HERE / "executions.jsonl"
    done = len(log.read_text().splitlines()) if log.exists() else 0
    marker = HERE / "mid_evaluation"
    if done == slow_at and not marker.exists():
        marker.write_text(str(os.getpid()))
        time.sleep(120)
    with log.open("a") as f:
        f.write(json.dumps(params, sort_keys=True) + "\\n")
    return -(params["x"] - 0.3) ** 2
"""

BUDGET = 8


def _setup(folder: Path, parallel: int, slow_at: int) -> Path:
    folder.mkdir()
    (folder / "obj.py").write_text(OBJECTIVE)
    data = hpo_task("resume", parallel=parallel, budget={"evaluations": BUDGET})
    data["optimizer"]["settings"] = {"sampler": "tpe", "n_startup_trials": 3}
    data["hpo"]["args"] = {"slow_at": slow_at}
    return write_task(folder, data)


def _executions(folder: Path) -> list[str]:
    return (folder / "executions.jsonl").read_text().splitlines()


@pytest.mark.slow
@pytest.mark.parametrize("parallel", [1, 2])
def test_sigkill_mid_evaluate_then_resume(tmp_path: Path, parallel: int) -> None:
    killed, clean = tmp_path / "killed", tmp_path / "clean"
    task = _setup(killed, parallel, slow_at=4)
    code = "import sys; from workbench.cli import main; main(sys.argv[1:])"
    proc = subprocess.Popen(
        [sys.executable, "-c", code, "optimize", str(task), "--runs-dir", str(killed / "runs")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        cwd=killed,
    )
    deadline = time.monotonic() + 120
    while not (killed / "mid_evaluation").exists():
        assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
        assert time.monotonic() < deadline, "the objective never reached the slow evaluation"
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    (run,) = run_dirs(killed / "runs")
    assert not (run / "summary.json").exists()
    before = _executions(killed)
    # the slow one is the 5th; with parallel 2 its step-mate may have finished beside it
    assert 4 <= len(before) <= 4 + parallel - 1

    assert cli(["resume", str(run)]) == 0

    # the unkilled twin: same seed, same budget
    assert (
        cli(
            [
                "optimize",
                str(_setup(clean, parallel, slow_at=-1)),
                "--runs-dir",
                str(clean / "runs"),
            ]
        )
        == 0
    )
    after, reference = _executions(killed), _executions(clean)
    assert len(after) == len(reference) == BUDGET
    assert len(set(after)) == len(after), "an evaluation was executed twice"
    assert after[: len(before)] == before
    # resume is exact: the same trials were proposed as in the unbroken run
    assert sorted(after) == sorted(reference)
    summary = json.loads((run / "summary.json").read_text())
    (clean_run,) = run_dirs(clean / "runs")
    clean_summary = json.loads((clean_run / "summary.json").read_text())
    assert summary["evaluations"] == clean_summary["evaluations"] == BUDGET
    assert summary["best"]["score"] == clean_summary["best"]["score"]
    # the resumed run re-evaluated only what was cut off: the slow candidate and, with
    # parallel 2, its step-mate if that one had started but not finished (not executed twice:
    # the executions log above proves it)
    starts = [
        e
        for e in map(json.loads, (run / "events.jsonl").read_text().splitlines())
        if e["type"] == "evaluation_start"
    ]
    assert len({e["id"] for e in starts}) == BUDGET
    assert BUDGET + 1 <= len(starts) <= BUDGET + parallel


CHAOS = """
import json, time
from pathlib import Path

def objective(params):
    time.sleep(0.15)
    with (Path(__file__).parent / "executions.jsonl").open("a") as f:
        f.write(json.dumps(params, sort_keys=True) + "\\n")
    return -(params["x"] - 0.3) ** 2
"""


@pytest.mark.slow
@pytest.mark.parametrize("delays", [(0.3, 0.7, 0.05), (0.5, 0.15)])
def test_repeated_sigkill_at_arbitrary_points(tmp_path: Path, delays: tuple[float, ...]) -> None:
    """Killed wherever a timer hits after the loop makes progress, resumed each time: the run
    ends with exactly its budget of evaluations, each candidate evaluated once. An execution can
    repeat only if the kill cut it off before its result was stored (at most one per kill)."""
    (tmp_path / "obj.py").write_text(CHAOS)
    data = hpo_task("chaos", parallel=2, budget={"evaluations": 24})
    data["optimizer"]["settings"] = {"sampler": "tpe", "n_startup_trials": 4}
    task = write_task(tmp_path, data)
    code = "import sys; from workbench.cli import main; main(sys.argv[1:])"
    runs = tmp_path / "runs"
    args = ["optimize", str(task), "--runs-dir", str(runs)]
    seen = 0
    for delay in delays:
        proc = subprocess.Popen(
            [sys.executable, "-c", code, *args],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 120
        while _evaluations_logged(runs) <= seen:  # wait for progress of this process
            assert proc.poll() is None and time.monotonic() < deadline
            time.sleep(0.02)
        time.sleep(delay)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        seen = _evaluations_logged(runs)
        assert seen < 24, "the run finished before it could be killed"
        (run,) = run_dirs(runs)
        args = ["resume", str(run)]
    assert cli(args) == 0
    (run,) = run_dirs(runs)
    summary = json.loads((run / "summary.json").read_text())
    assert summary["evaluations"] == 24
    assert summary["stop_reason"] == "budget:evaluations"
    ended = [
        e
        for e in map(json.loads, (run / "events.jsonl").read_text().splitlines())
        if e["type"] == "evaluation"
    ]
    assert len({e["id"] for e in ended}) == 24
    executions = (tmp_path / "executions.jsonl").read_text().splitlines()
    assert 24 <= len(executions) <= 24 + len(delays)


def _evaluations_logged(runs: Path) -> int:
    if not runs.is_dir() or not run_dirs(runs):
        return 0
    log = run_dirs(runs)[0] / "events.jsonl"  # the folder is made a moment before its log
    return log.read_text().count('"type": "evaluation"') if log.is_file() else 0
