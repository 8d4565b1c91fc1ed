"""`workbench bench code`: problem selection, aggregation, tables/JSON, and one scripted run."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from workbench.bench import (
    HUMANEVAL_SUBSET,
    ProblemRecord,
    run_code_bench,
    select_problems,
    summarize_code,
)
from workbench.bench.code import format_markdown, problems_table, summary_table
from workbench.cli.bench import app
from workbench.errors import ConfigError
from workbench.llm import ChatRequest, ScriptedLLM
from workbench.tasks.code.humaneval import load_humaneval


def test_humaneval_subset_is_every_8th_id_and_selection_is_deterministic() -> None:
    assert len(HUMANEVAL_SUBSET) == 20 and len(set(HUMANEVAL_SUBSET)) == 20
    assert HUMANEVAL_SUBSET[:3] == ("HumanEval/0", "HumanEval/8", "HumanEval/16")
    assert HUMANEVAL_SUBSET[-1] == "HumanEval/152"
    ids = {p.task_id for p in load_humaneval()}
    assert set(HUMANEVAL_SUBSET) <= ids
    first = select_problems("humaneval,mpi")
    assert first == select_problems("humaneval,mpi")
    assert [p for k, p in first if k == "code"] == list(HUMANEVAL_SUBSET)
    mpi = [p for k, p in first if k == "mpi"]
    assert len(mpi) >= 8 and mpi == sorted(mpi) and "reduce_dot_product" in mpi


def test_select_problems_items_limit_and_errors() -> None:
    picked = select_problems("HumanEval/12, reduce_argmin, HumanEval/12, humaneval", limit=3)
    assert picked == [("code", "HumanEval/12"), ("mpi", "reduce_argmin"), ("code", "HumanEval/0")]
    with pytest.raises(ConfigError, match="no_such_problem"):
        select_problems("no_such_problem")


def test_select_problems_takes_a_users_problem_folders(tmp_path: Path) -> None:
    """A user's own problems, outside tasks/mpi: one folder, or a folder of them (issue 17)."""
    import shutil

    from workbench.tasks.mpi import library_dir

    mine = tmp_path / "my_problems"
    for name in ("reduce_argmin", "dense_gemv"):
        shutil.copytree(library_dir() / name, mine / name)
    one = select_problems(str(mine / "dense_gemv"))
    assert one == [("mpi", str((mine / "dense_gemv").resolve()))]
    both = select_problems(f"{mine},reduce_argmin")
    names = [p.rsplit("/", 1)[-1] for _, p in both]
    assert names == ["dense_gemv", "reduce_argmin", "reduce_argmin"]  # the folder's, the library's
    assert both[0][1].startswith(str(mine.resolve())) and both[2] == ("mpi", "reduce_argmin")
    with pytest.raises(ConfigError, match="not an MPI problem folder"):
        select_problems(str(tmp_path))  # holds only my_problems/, no problem.yaml below it


def _rec(gen: str, problem: str, passed: bool, n: int, c: int, **kw: Any) -> ProblemRecord:
    from workbench.tasks.mpi.metrics import pass_at_k

    pass_at = {str(k): pass_at_k(n, c, k) for k in (1, 5) if k <= n}
    return ProblemRecord(
        gen, problem, kw.pop("kind", "code"), passed, n, c, pass_at, llm_calls=kw.pop("calls", 2),
        prompt_tokens=100, completion_tokens=40, wall_s=kw.pop("wall", 10.0), **kw,
    )  # fmt: skip


RECORDS = [
    _rec("sample", "HumanEval/0", True, 1, 1, calls=1, wall=4.0),
    _rec("sample", "HumanEval/8", False, 2, 0, calls=3, wall=8.0),
    _rec("sample-n", "HumanEval/0", True, 5, 2),
    _rec("sample-n", "HumanEval/8", True, 5, 5),
    _rec("sample", "reduce_argmin", False, 0, 0, kind="mpi", status="unsupported", calls=0),
    _rec("funcoder", "HumanEval/0", False, 0, 0, status="error", error="EngineUnavailable: x"),
]


def test_summary_means_pass_at_k_and_skips() -> None:
    s = summarize_code(RECORDS)
    sample = s["sample"]["code"]
    assert sample["problems"] == 2 and sample["pass@1"] == 0.5
    assert sample["mean_llm_calls"] == 2.0 and sample["mean_wall_s"] == 6.0
    assert "pass@5" not in sample  # no problem had 5 samples
    n5 = s["sample-n"]["code"]
    # unbiased pass@5 of 5 samples is 1 when any is correct; pass@1 is the best program's
    assert n5["pass@5"] == 1.0 and n5["pass@5_problems"] == 2 and n5["pass@1"] == 1.0
    assert s["sample"]["mpi"] == {"problems": 0, "skipped": 1, "errors": 0}
    assert s["funcoder"]["code"]["errors"] == 1 and s["funcoder"]["code"]["pass@1"] == 0.0


def test_tables_and_json_shape() -> None:
    summary = summarize_code(RECORDS)
    assert json.loads(json.dumps(summary)) == summary
    buf = io.StringIO()
    console = Console(file=buf, width=200)
    console.print(summary_table(summary))
    console.print(problems_table(RECORDS))
    text = buf.getvalue()
    assert "pass@1" in text and "sample-n" in text and "unsupported" in text
    assert len(summary_table(summary).rows) == 4 and len(problems_table(RECORDS).rows) == 6
    md = format_markdown(summary).splitlines()
    assert md[0].startswith("| generator | kind | problems | pass@1 |") and len(md) == 6
    assert "| sample | code | 2 | 0.500 | - |" in md[2]


def _scripted(answer: Any) -> Any:
    def make_llm(budget: Any = None, on_call: Any = None) -> ScriptedLLM:
        return ScriptedLLM(answer, budget=budget, on_call=on_call)

    return make_llm


def test_end_to_end_sample_on_one_humaneval_problem(tmp_path: Path) -> None:
    canonical = next(p for p in load_humaneval() if p.task_id == "HumanEval/0").canonical_solution
    assert canonical
    asked: list[ChatRequest] = []

    def model(request: ChatRequest) -> str:
        asked.append(request)
        return f"```python\n{canonical}\n```"

    seen: list[dict[str, Any]] = []
    result = run_code_bench(
        ["sample"],
        select_problems("humaneval", limit=1),
        runs_dir=tmp_path,
        sandbox="local",
        make_llm=_scripted(model),
        on_record=lambda r, partial: seen.append(partial),
    )
    (rec,) = result["records"]
    assert rec["problem"] == "HumanEval/0" and rec["status"] == "ok" and rec["passed"]
    assert rec["samples"] == 1 and rec["correct"] == 1 and rec["pass_at"] == {"1": 1.0}
    assert rec["best_hidden"] == 1.0 and rec["llm_calls"] == len(asked) == 1
    assert rec["prompt_tokens"] > 0 and rec["completion_tokens"] > 0 and rec["wall_s"] >= 0
    assert result["summary"]["sample"]["code"]["pass@1"] == 1.0
    assert result["setup"]["problems"] == ["HumanEval/0"] and len(seen) == 1
    assert json.loads(json.dumps(result)) == result


def test_wrong_program_fails_within_the_budget_and_unsupported_kind_is_skipped(
    tmp_path: Path,
) -> None:
    wrong = "```python\ndef has_close_elements(numbers, threshold):\n    return False\n```"
    result = run_code_bench(
        ["sample"],
        [("code", "HumanEval/0"), ("mpi", "reduce_argmin")],
        runs_dir=tmp_path,
        sandbox="local",
        make_llm=_scripted(lambda r: wrong),
    )
    code, mpi = (ProblemRecord(**r) for r in result["records"])
    assert code.status == "ok" and not code.passed and code.best_hidden is not None
    assert code.best_hidden < 1.0 and code.llm_calls == 2  # the `sample` budget: 2 calls
    assert code.pass_at == {"1": 0.0} and code.stop_reason == "budget:llm_calls"
    assert mpi.status == "ok" and not mpi.passed and mpi.llm_calls == 2


def test_sample_n_gives_the_unbiased_pass_at_k_of_its_samples(tmp_path: Path) -> None:
    canonical = next(p for p in load_humaneval() if p.task_id == "HumanEval/0").canonical_solution
    wrong = "```python\ndef has_close_elements(numbers, threshold):\n    return False\n```"

    def model(request: ChatRequest) -> str:
        return f"```python\n{canonical}\n```" if request.sample_index in (1, 3) else wrong

    result = run_code_bench(
        ["sample-n"],
        [("code", "HumanEval/0")],
        runs_dir=tmp_path,
        sandbox="local",
        make_llm=_scripted(model),
    )
    (rec,) = (ProblemRecord(**r) for r in result["records"])
    assert (rec.samples, rec.correct, rec.passed) == (5, 2, True)
    assert rec.pass_at == {"1": pytest.approx(0.4), "5": 1.0}
    assert result["summary"]["sample-n"]["code"]["pass@5"] == 1.0


def test_unknown_generator_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="nope"):
        run_code_bench(["nope"], [("code", "HumanEval/0")], make_llm=_scripted(lambda r: ""))


def test_bench_app_has_both_commands() -> None:
    from typer.testing import CliRunner

    result = CliRunner().invoke(app, ["--help"])
    assert result.exit_code == 0 and "hpo" in result.output and "code" in result.output
    result = CliRunner().invoke(app, ["code", "--help"])
    assert "--generators" in result.output and "--limit" in result.output


def test_the_mpi_split_is_fixed_and_covers_the_library() -> None:
    """Train and held-out are disjoint, together the whole library, held-out >= 10 (issue 17)."""
    from workbench.bench.code_setup import MPI_HELD_OUT, MPI_TRAIN, mpi_library

    assert not set(MPI_TRAIN) & set(MPI_HELD_OUT) and len(MPI_HELD_OUT) >= 10
    assert sorted(MPI_TRAIN + MPI_HELD_OUT) == mpi_library()
    assert [p for _, p in select_problems("mpi")] == list(MPI_TRAIN)
    assert [p for _, p in select_problems("mpi-held-out")] == list(MPI_HELD_OUT)
    assert len(select_problems("mpi-all")) == len(mpi_library())
