"""Helpers for the loop tests: task files written from dicts, CLI calls in process."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from workbench.cli import main

REPO = Path(__file__).resolve().parents[2]

# An objective module that appends each call's params to executions.jsonl beside it, so a test
# can count what really ran (across a kill and a resume).
RECORDING_OBJECTIVE = """
import json
from pathlib import Path

def objective(params):
    with (Path(__file__).parent / "executions.jsonl").open("a") as f:
        f.write(json.dumps(params, sort_keys=True) + "\\n")
    return -(params["x"] - 0.3) ** 2
"""


def write_task(folder: Path, data: dict[str, Any], name: str = "task.yaml") -> Path:
    """Write `data` as a YAML task file into `folder`."""
    path = folder / name
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def hpo_task(name: str = "t", objective: str = "obj:objective", **over: Any) -> dict[str, Any]:
    """A small valid hpo task over x in [0, 1] and a categorical."""
    data: dict[str, Any] = {
        "name": name,
        "kind": "hpo",
        "optimizer": {"name": "optuna", "settings": {"sampler": "random"}},
        "budget": {"evaluations": 6},
        "parallel": 1,
        "seed": 0,
        "hpo": {
            "objective": objective,
            "metric": "score",
            "space": {
                "x": {"type": "float", "low": 0.0, "high": 1.0},
                "k": {"type": "categorical", "choices": ["a", "b"]},
            },
        },
    }
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(data.get(key), dict):
            data[key] = {**data[key], **value}
        else:
            data[key] = value
    return data


def cli(args: list[str]) -> int:
    """Run `workbench <args>` in this process; returns the exit code."""
    try:
        main(args)
    except SystemExit as exc:
        return int(exc.code or 0) if not isinstance(exc.code, str) else 1
    return 0


def run_dirs(runs: Path) -> list[Path]:
    """Run folders under `runs`, oldest first."""
    return sorted(p for p in runs.iterdir() if (p / "task.yaml").is_file())


def events(run: Path) -> list[dict[str, Any]]:
    """The run's events.jsonl."""
    return [json.loads(line) for line in (run / "events.jsonl").read_text().splitlines()]


@pytest.fixture
def quiet_optuna() -> None:
    """Nothing: Optuna's output is routed to logging by the optimizer itself."""


# SIGKILLs itself from the event callback at the `nth` event of type `kind` (the run writes an
# event to events.jsonl before the callback sees it).
KILL_AT_EVENT = """
import os, signal, sys
from pathlib import Path
from workbench.runs import start_run

task, runs, kind, nth = sys.argv[1], Path(sys.argv[2]), sys.argv[3], int(sys.argv[4])
seen = [0]

def on_event(event):
    if event.get("type") == kind:
        seen[0] += 1
        if seen[0] == nth:
            os.kill(os.getpid(), signal.SIGKILL)

start_run(task, runs, on_event=on_event)
"""


def kill_at(task: Path, runs: Path, kind: str, nth: int) -> Path:
    """Run `task` in a child process that SIGKILLs itself at the `nth` event of type `kind`
    (`KILL_AT_EVENT`); returns the run folder it left, which has no summary."""
    proc = subprocess.run(
        [sys.executable, "-c", KILL_AT_EVENT, str(task), str(runs), kind, str(nth)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    (run,) = run_dirs(runs)
    assert not (run / "summary.json").exists()
    return run
