"""bench layer: the benchmark engine behind `workbench bench` and the `bench/*.py` scripts.

- `hpo` (`workbench.bench.hpo`): optimizers x Bayesmark tasks x seeds, normalised regret.
- `code` (`workbench.bench.code`): code generators x HumanEval subset / MPI library, pass@k.

The engine returns data (records, summaries, projections, tables) and reports progress through
callbacks; the CLI (`workbench bench`) parses the options and prints.
"""

from __future__ import annotations

from workbench.bench.code import (
    BENCH_GENERATORS,
    DEFAULT_CODE_MODEL,
    HUMANEVAL_SUBSET,
    ProblemRecord,
    run_code_bench,
    select_problems,
    summarize_code,
)
from workbench.bench.hpo import (
    BENCH_OPTIMIZERS,
    SUITE_DIR,
    RunRecord,
    SuiteTask,
    format_table,
    initial_configs,
    load_reference,
    load_suite,
    normalised_regret,
    run_bench,
    run_one,
    summarize,
)
from workbench.bench.server import bench_server

__all__ = [
    "BENCH_GENERATORS",
    "BENCH_OPTIMIZERS",
    "DEFAULT_CODE_MODEL",
    "HUMANEVAL_SUBSET",
    "SUITE_DIR",
    "ProblemRecord",
    "RunRecord",
    "SuiteTask",
    "bench_server",
    "format_table",
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
