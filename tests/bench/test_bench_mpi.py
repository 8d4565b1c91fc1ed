"""The MPI part of `workbench bench code`: all three generators on an MPI problem with scripted
answers (local sandbox on the host's MPICH), budgets stated, each generator's own stop rule."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.fixtures.needs import missing
from tests.optimizers.codegen.scripted_mpi import RIGHT, CharModel, tiny_problem
from workbench.bench.code import (
    BENCH_GENERATORS,
    WALL_TIME_S,
    ProblemRecord,
    format_markdown,
    run_code_bench,
    task_yaml,
)
from workbench.llm import ChatRequest, ScriptedLLM
from workbench.tasks.mpi import load_problem


def test_bench_task_files_state_budgets_and_set_no_stop_target() -> None:
    for name, gen in BENCH_GENERATORS.items():
        for kind, problem in (("code", "HumanEval/0"), ("mpi", "reduce_argmin")):
            task = yaml.safe_load(task_yaml(name, kind, problem))
            # each generator stops by its own rule; pgtd's loop target equals its early stop
            want = {"target": 1.0} if name == "pgtd" else None
            assert task.get("stop") == want
            assert task["budget"] == {**gen.budget, "wall_time_s": WALL_TIME_S[kind]}
            assert task["budget"]["llm_calls"] >= 1 and gen.note
    mpi = yaml.safe_load(task_yaml("pgtd", "mpi", "reduce_argmin"))
    assert mpi["optimizer"]["settings"] == {"max_calls": 7, "horizon": 384}
    assert mpi["mpi"] == {"problem": "reduce_argmin"}
    code = yaml.safe_load(task_yaml("pgtd", "code", "HumanEval/0"))
    assert code["optimizer"]["settings"] == {"max_calls": 7}


@pytest.mark.slow
def test_all_three_generators_run_on_an_mpi_problem(tmp_path: Path) -> None:
    if shutil.which("mpicxx") is None or shutil.which("mpirun") is None:
        missing("host MPICH is not installed (apt-get install mpich libmpich-dev)")
    problem_dir = tiny_problem(tmp_path / "problems")
    chars = CharModel(load_problem(problem_dir).prompt + "\n")

    def answer(request: Any) -> Any:
        return RIGHT if isinstance(request, ChatRequest) else chars(request)

    def make_llm(budget: Any = None, on_call: Any = None) -> ScriptedLLM:
        return ScriptedLLM(answer, budget=budget, on_call=on_call)

    result = run_code_bench(
        ["sample", "funcoder", "pgtd"],
        [("mpi", str(problem_dir))],
        runs_dir=tmp_path / "runs",
        sandbox="local",
        make_llm=make_llm,
    )
    records = {r["generator"]: ProblemRecord(**r) for r in result["records"]}
    assert set(records) == {"sample", "funcoder", "pgtd"}
    for name, rec in records.items():
        assert rec.status == "ok" and rec.kind == "mpi" and rec.passed, (name, rec.error)
        assert 1 <= rec.llm_calls <= BENCH_GENERATORS[name].budget["llm_calls"]
        assert rec.best_public == rec.best_hidden == 1.0 and rec.budget.startswith("<=")
        # its own rule ended it (pgtd: the target equal to its early stop), not the budget
        want = "target" if name == "pgtd" else "optimizer:exhausted"
        assert rec.stop_reason == want
    assert records["sample"].llm_calls == 1 and records["sample"].samples == 1
    # funcoder: one divide call, then 3 conquer samples that agree (no sandbox vote needed)
    assert records["funcoder"].llm_calls == 4
    assert records["pgtd"].samples >= 2  # greedy MPI_MAX (0.5), then the MPI_SUM program
    for name in records:
        row = result["summary"][name]["mpi"]
        assert row["pass@1"] == 1.0 and row["budget"] == records[name].budget
    assert result["setup"]["wall_time_s"] == WALL_TIME_S
    assert "<=7 calls" in format_markdown(result["summary"])


SHIPPED = sorted((Path(__file__).resolve().parents[2] / "tasks" / "mpi").glob("*.yaml"))


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_shipped_mpi_tasks_validate_and_build_their_generator(path: Path) -> None:
    from tests.agents.helpers import cli
    from workbench.optimizers import RunContext, make_optimizer
    from workbench.tasks.loader import load_task

    assert cli(["validate", str(path)]) == 0
    task_file, task = load_task(path)
    assert task_file.kind == "mpi"
    spec = task_file.optimizer
    opt = make_optimizer(spec.name, spec.settings, RunContext(task=task))
    assert opt.state()["prompt_version"].split("-")[-2] == "cpp"  # it took the C++ view


def test_three_generators_have_a_shipped_mpi_task() -> None:
    names = {yaml.safe_load(p.read_text())["optimizer"]["name"] for p in SHIPPED}
    assert names == {"sample", "funcoder", "pgtd"}
