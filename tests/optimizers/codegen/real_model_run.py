"""Shared set-up of the code generators' end-to-end runs on the CI model (``make_llm_client``).

Not a test module: the ``*_llm.py`` tests of the generators import it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from tests.agents.helpers import cli, events, run_dirs
from workbench.runs import start_run


def run_on_real_model(
    tmp_path: Path, task_yaml: str, make_llm_client: Callable[..., Any], *, max_calls: int
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Run ``task_yaml`` with uncached clients on the test model; check the run's files and budget.

    Args:
        tmp_path: The test's folder (the task file and ``runs/`` go there).
        task_yaml: The task file's text.
        make_llm_client: The fixture of ``tests/fixtures/llm.py``.
        max_calls: The task's ``budget.llm_calls``: the run must make 1 to this many calls, each
            logged as one ``llm_call`` event.

    Returns:
        The run's ``summary.json`` and its events.
    """
    (tmp_path / "t.yaml").write_text(task_yaml)
    result = start_run(
        tmp_path / "t.yaml",
        tmp_path / "runs",
        make_llm=lambda budget=None, on_call=None: make_llm_client(
            budget=budget, on_call=on_call, cache=False
        ),
    )
    run = result.run.path
    for name in ("task.yaml", "events.jsonl", "summary.json", "store.sqlite"):
        assert (run / name).is_file(), f"the run wrote no {name}"
    summary = json.loads((run / "summary.json").read_text())
    calls = summary["llm"]["calls"]
    assert 1 <= calls <= max_calls, f"{calls} LLM calls, budget {max_calls}"
    events = [json.loads(x) for x in (run / "events.jsonl").read_text().splitlines()]
    logged = sum(e["type"] == "llm_call" for e in events)
    assert logged == calls, f"{logged} llm_call events for {calls} calls"
    return summary, events


def optimize_on_real_model(
    tmp_path: Path, task: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, list[dict[str, Any]]]]:
    """Write ``task`` (a task file as a dict, its ``llm:`` the test endpoint) and run it through
    ``workbench optimize``; check the exit status and the run's files.

    Returns:
        The run's ``summary.json``, and its events by type (``llm_call``, ``proposal``, ...).
    """
    path = tmp_path / "task.yaml"
    path.write_text(yaml.safe_dump(task, sort_keys=False), encoding="utf-8")
    assert cli(["optimize", str(path), "--runs-dir", str(tmp_path / "runs")]) == 0
    (run,) = run_dirs(tmp_path / "runs")
    for name in ("events.jsonl", "summary.json", "store.sqlite"):
        assert (run / name).is_file(), f"the run wrote no {name}"
    by_type: dict[str, list[dict[str, Any]]] = {}
    for event in events(run):
        by_type.setdefault(event["type"], []).append(event)
    summary = json.loads((run / "summary.json").read_text())
    assert summary["llm"]["calls"] == len(by_type.get("llm_call", []))
    return summary, by_type
