"""`workbench bench`: benchmarks of optimizers and generators on task suites.

- `hpo` (`workbench.cli.bench.hpo`): optimizers x Bayesmark tasks x seeds, normalised regret.
- `code` (`workbench.cli.bench.code`): code generators x HumanEval subset / MPI library, pass@k.
"""

from __future__ import annotations

import typer

from workbench.cli.bench.code import (
    BENCH_GENERATORS,
    HUMANEVAL_SUBSET,
    ProblemRecord,
    code,
    run_code_bench,
    select_problems,
    summarize_code,
)
from workbench.cli.bench.hpo import (
    BENCH_OPTIMIZERS,
    SUITE_DIR,
    RunRecord,
    SuiteTask,
    format_table,
    hpo,
    initial_configs,
    load_reference,
    load_suite,
    normalised_regret,
    run_bench,
    run_one,
    summarize,
)

__all__ = [
    "BENCH_GENERATORS",
    "BENCH_OPTIMIZERS",
    "HUMANEVAL_SUBSET",
    "SUITE_DIR",
    "ProblemRecord",
    "RunRecord",
    "SuiteTask",
    "app",
    "code",
    "format_table",
    "hpo",
    "initial_configs",
    "load_reference",
    "load_suite",
    "normalised_regret",
    "run_bench",
    "run_code_bench",
    "run_one",
    "select_problems",
    "summarize",
    "summarize_code",
]

app = typer.Typer(help="Benchmarks: optimizers x tasks x seeds.", no_args_is_help=True)


@app.callback()
def _group() -> None:
    """Benchmarks: optimizers x tasks x seeds."""


app.command("hpo")(hpo)
app.command("code")(code)
