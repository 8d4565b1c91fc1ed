"""The loop graph: cache, budgets from an LLM, stop rules, small JSON checkpoints, command tasks."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from tests.agents.helpers import cli, hpo_task, run_dirs, write_task
from workbench.contracts import Candidate, Evaluation
from workbench.llm import ScriptedLLM
from workbench.optimizers import FunctionOptimizer, RunContext
from workbench.runs import resume_run, start_run, write_report
from workbench.tasks import load_task_file

COUNTING = """
from pathlib import Path

def objective(params):
    with (Path(__file__).parent / "runs.log").open("a") as f:
        f.write(repr(params) + "\\n")
    return -abs(params["x"] - 0.5)
"""


def _task(tmp_path: Path, **over: Any) -> Path:
    (tmp_path / "obj.py").write_text(COUNTING)
    return write_task(tmp_path, hpo_task("g", **over))


def _executions(tmp_path: Path) -> int:
    log = tmp_path / "runs.log"
    return len(log.read_text().splitlines()) if log.exists() else 0


def _repeat(values: list[float]) -> FunctionOptimizer:
    """Proposes `values` in a cycle (equal payloads recur)."""
    return FunctionOptimizer(
        lambda n, seen: [
            {"params": {"x": values[(len(seen) + i) % len(values)], "k": "a"}} for i in range(n)
        ]
    )


@pytest.mark.parametrize(("use_cache", "executed"), [(True, 2), (False, 6)])
def test_equal_candidates_hit_the_cache(tmp_path: Path, use_cache: bool, executed: int) -> None:
    result = start_run(
        _task(tmp_path), tmp_path / "runs", use_cache=use_cache, optimizer=_repeat([0.1, 0.9])
    )
    assert result.summary["evaluations"] == 6
    assert _executions(tmp_path) == executed
    assert result.summary["cached"] == 6 - executed


def test_llm_budget_ends_the_run_cleanly(tmp_path: Path) -> None:
    """An optimizer whose LLM runs out of calls: the run stops with best and summary written."""

    def make(ctx: RunContext) -> FunctionOptimizer:
        def fn(n: int, seen: list[Evaluation]) -> list[dict[str, Any]]:
            answer = ctx.llm().chat([{"role": "user", "content": "x?"}]).texts[0]
            return [{"params": {"x": float(answer), "k": "b"}} for _ in range(n)]

        return FunctionOptimizer(fn)

    answers = iter(["0.2", "0.4", "0.45", "0.9", "0.1"])
    make_llm = lambda budget, on_call: ScriptedLLM(  # noqa: E731
        lambda request: next(answers), budget=budget, on_call=on_call
    )
    task = _task(tmp_path, budget={"evaluations": 50, "llm_calls": 3})
    events: list[dict[str, Any]] = []
    result = start_run(
        task, tmp_path / "runs", optimizer=make, make_llm=make_llm, on_event=events.append
    )
    assert result.summary["stop_reason"] == "budget:llm_calls"
    assert result.summary["evaluations"] == 3
    assert result.summary["best"]["score"] == pytest.approx(-0.05)
    assert result.summary["llm"]["calls"] == 3
    assert json.loads((result.run.path / "best.json").read_text())["payload"]["params"]["x"] == 0.45
    assert sum(e["type"] == "llm_call" for e in events) == 3
    logged = [json.loads(x) for x in (result.run.path / "events.jsonl").read_text().splitlines()]
    assert [e["texts"] for e in logged if e["type"] == "llm_call"] == [["0.2"], ["0.4"], ["0.45"]]
    html = write_report(result.run).read_text()
    assert html.count("<svg") == 2  # scores and LLM spend


def test_target_and_patience_stop_early(tmp_path: Path) -> None:
    hit = start_run(
        _task(tmp_path, budget={"evaluations": 50}, stop={"target": -0.1}),
        tmp_path / "runs",
        optimizer=_repeat([0.1, 0.3, 0.45, 0.0]),
    )
    assert hit.summary["stop_reason"] == "target"
    assert hit.summary["evaluations"] == 3
    stall = start_run(
        _task(tmp_path, budget={"evaluations": 50}, stop={"patience": 2}),
        tmp_path / "runs",
        optimizer=_repeat([0.5, 0.1, 0.2]),
    )
    assert stall.summary["stop_reason"] == "patience"
    assert stall.summary["evaluations"] == 3


def test_checkpoints_hold_ids_not_candidates(tmp_path: Path) -> None:
    marker = "PAYLOAD-" + "z" * 5000
    opt = FunctionOptimizer(
        lambda n, seen: [
            {"params": {"x": 0.1 * (len(seen) + i), "k": "a"}, "blob": marker} for i in range(n)
        ]
    )
    result = start_run(
        _task(tmp_path, parallel=2, budget={"evaluations": 8}),
        tmp_path / "runs",
        optimizer=opt,
        use_cache=False,
    )
    raw = (result.run.path / "checkpoints.sqlite").read_bytes()
    assert marker.encode() not in raw
    con = sqlite3.connect(result.run.path / "store.sqlite")
    (n,) = con.execute(
        "SELECT count(*) FROM candidates WHERE data LIKE ?", (f"%{marker}%",)
    ).fetchone()
    assert n == 8
    assert set(result.state) <= {
        "step",
        "pending",
        "results",
        "opt_ref",
        "n_evals",
        "best",
        "since_improve",
        "elapsed_s",
        "feedback",
        "stop_reason",
    }
    json.dumps(result.state)  # plain JSON


def test_resume_of_a_finished_run_evaluates_nothing(tmp_path: Path) -> None:
    first = start_run(_task(tmp_path), tmp_path / "runs")
    before = _executions(tmp_path)
    again = resume_run(first.run.path)
    assert _executions(tmp_path) == before == 6
    assert again.summary["evaluations"] == 6


def test_command_objective_runs_in_the_sandbox(tmp_path: Path) -> None:
    (tmp_path / "score.py").write_text(
        "import json, sys\np = json.load(open('params.json'))\n"
        "print('training...')\nprint(-(p['x'] - float(sys.argv[1])) ** 2)\n"
    )
    data = hpo_task("cmd", budget={"evaluations": 4}, sandbox={"backend": "local"})
    data["hpo"].pop("objective")
    data["hpo"].update(command=["python3", "score.py", "{x}"], files=["score.py"])
    task = write_task(tmp_path, data)
    assert load_task_file(task).hpo.files == [str(tmp_path / "score.py")]
    result = start_run(task, tmp_path / "runs")
    assert result.summary["statuses"] == {"ok": 4}
    assert result.summary["best"]["score"] == 0.0  # -(x - x)^2


def test_bad_parameters_become_an_error_evaluation(tmp_path: Path) -> None:
    opt = FunctionOptimizer(lambda n, seen: [{"params": {"x": 7.0, "k": "zz"}} for _ in range(n)])
    result = start_run(_task(tmp_path, budget={"evaluations": 2}), tmp_path / "runs", optimizer=opt)
    assert result.summary["statuses"] == {"error": 2}
    assert result.summary["best"] is None
    assert _executions(tmp_path) == 0


def test_candidate_and_evaluation_round_trip() -> None:
    c = Candidate(id="c", payload={"files": {"a.py": "x"}}, parent_ids=["p"], meta={"t": 1})
    assert Candidate.from_dict(json.loads(json.dumps(c.to_dict()))) == c
    e = Evaluation(
        candidate_id="c",
        status="ok",
        scores={"s": 1.0},
        primary="s",
        direction="minimize",
        output="o" * 20_000,
    )
    back = Evaluation.from_dict(json.loads(json.dumps(e.to_dict())))
    assert back == e and len(back.output) < 9_000 and back.score == 1.0
    with pytest.raises(ValueError, match="status"):
        Evaluation(candidate_id="c", status="great")  # type: ignore[arg-type]
    assert Evaluation(candidate_id="c", status="failed", scores={"score": 1.0}).score is None


INTERRUPTING = """
from pathlib import Path

HERE = Path(__file__).parent

def objective(params):
    log = HERE / "runs.log"
    if log.exists() and len(log.read_text().splitlines()) == 2 and not (HERE / "once").exists():
        (HERE / "once").write_text("")
        raise KeyboardInterrupt  # the user pressed Ctrl-C during the third evaluation
    with log.open("a") as f:
        f.write(repr(params) + "\\n")
    return params["x"]
"""


def test_optimize_resume_latest_continues_an_interrupted_run(tmp_path: Path) -> None:
    task = _task(tmp_path)
    (tmp_path / "obj.py").write_text(INTERRUPTING)
    with pytest.raises(KeyboardInterrupt):
        start_run(task, tmp_path / "runs")
    assert _executions(tmp_path) == 2
    runs = str(tmp_path / "runs")
    assert cli(["optimize", str(task), "--runs-dir", runs, "--resume-latest"]) == 0
    (run,) = run_dirs(tmp_path / "runs")
    assert json.loads((run / "summary.json").read_text())["evaluations"] == 6
    assert _executions(tmp_path) == 6
    # a finished latest run is not resumed: a new run starts
    assert cli(["optimize", str(task), "--runs-dir", runs, "--resume-latest"]) == 0
    assert len(run_dirs(tmp_path / "runs")) == 2


@pytest.mark.parametrize("use_cache", [True, False])
def test_no_cache_also_turns_off_the_llm_response_cache(tmp_path: Path, use_cache: bool) -> None:
    """`--no-cache` (use_cache=False) reaches the optimizer's LLM config as `cache: false`."""
    seen: list[Any] = []

    def make(ctx: RunContext) -> FunctionOptimizer:
        seen.append(ctx.llm_config)
        return _repeat([0.1])

    start_run(
        _task(tmp_path, budget={"evaluations": 1}),
        tmp_path / "runs",
        use_cache=use_cache,
        optimizer=make,
    )
    (config,) = seen
    if use_cache:
        assert config is None  # the task file has no llm: section; the default config applies
    else:
        assert config.cache is False and config.model == "local"
