"""OptoPrime with the real (tiny) model: plumbing and schema-constrained answers, not quality."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from workbench.cli import main
from workbench.contracts import Candidate
from workbench.llm import Budget, LLMClient
from workbench.optimizers.optoprime import OptoPrime
from workbench.tasks import RunContext, load_task
from workbench.trace import backward

pytestmark = pytest.mark.llm

ROOT = Path(__file__).resolve().parents[3]
NUMERIC = ROOT / "tasks" / "workflow" / "numeric.yaml"


def test_one_step_on_the_numeric_example_changes_x_and_logs_it(
    make_llm_client: Callable[..., LLMClient],
) -> None:
    records: list[Any] = []
    llm = make_llm_client(budget=Budget(calls=4), on_call=records.append, cache=False)
    _, task = load_task(NUMERIC)
    ev = task.evaluate(Candidate("base", {"params": {}}), RunContext())
    x = task.trace_parameters()["x"]
    opt = OptoPrime([x], llm=llm, max_tokens=160, temperatures=[0.0], seed=0)
    backward(task.trace_output("base", {}), ev.feedback)
    before = x.data
    result = opt.step()
    call = opt.log[0]
    assert call["type"] == "optoprime_call" and call["rejections"] == 0, call["raw"]
    assert isinstance(x.data, float) and x.data != before, call["raw"]
    assert result == {"updated": {x.name: x.data}}
    update = next(e for e in opt.log if e["type"] == "optoprime_update")
    assert update["changes"] == {x.name: {"old": before, "new": x.data}}
    assert len(records) == 1 and records[0].kind == "structured"
    assert not records[0].parse_failed


def test_optimize_command_runs_the_numeric_example(
    tmp_path: Path, llm_base_url: str, llm_model: str
) -> None:
    data = yaml.safe_load(NUMERIC.read_text())
    data["llm"] = {"model": f"endpoint:{llm_model}", "base_url": llm_base_url, "cache": False}
    data["budget"] = {"iterations": 2, "llm_calls": 4}
    data["parallel"] = 1  # one call per step: the plumbing, not the search
    data["optimizer"]["settings"].update(max_tokens=160)
    data["workflow"]["module"] = str(NUMERIC.parent / "numeric.py")
    task = tmp_path / "numeric.yaml"
    task.write_text(yaml.safe_dump(data))
    runs = tmp_path / "runs"
    try:
        main(["optimize", str(task), "--runs-dir", str(runs)])
    except SystemExit as exc:
        assert exc.code in (0, None)
    (run,) = [p for p in runs.iterdir() if p.is_dir()]
    summary = json.loads((run / "summary.json").read_text())
    assert summary["finished"] and summary["evaluations"] >= 2
    assert summary["llm"]["calls"] >= 1
    log = [json.loads(line) for line in (run / "events.jsonl").read_text().splitlines()]
    assert any(e["type"] == "optoprime_call" for e in log)
    assert (run / "report.html").is_file()
