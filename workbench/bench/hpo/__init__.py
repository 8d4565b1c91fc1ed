"""The HPO bench (`workbench bench hpo`): optimizers x Bayesmark tasks x seeds, normalised regret.

The suite is the task files in ``tasks/hpo/bayesmark/`` (research/llambo.md §5); each task's
regret reference (`clip`, `opt`) is fixed once by ``bench/bayesmark_reference.py`` and committed
as ``tasks/hpo/bayesmark/reference.json``. Every optimizer starts from the same 5 seeded initial
configurations per (task, seed), enqueued in its Optuna study before the first ask.

Normalised regret at t (Bayesmark, docs/scoring.rst): (min(S_t, clip) - opt) / (clip - opt),
S_t the best loss of the first t evaluations, loss = -score when maximizing: 0 is the optimum, 1
a median random draw.

Example::

    workbench bench hpo --optimizers llambo,tpe,random --tasks dt-wine --seeds 0 -n 15
"""

from __future__ import annotations

from workbench.bench.hpo.run import Projection, project, run_bench, run_one, token_counter
from workbench.bench.hpo.suite import (
    BENCH_OPTIMIZERS,
    SUITE_DIR,
    SuiteTask,
    initial_configs,
    load_reference,
    load_suite,
)
from workbench.tasks.bayesmark import RunRecord, format_table, normalised_regret, summarize

__all__ = [
    "BENCH_OPTIMIZERS",
    "SUITE_DIR",
    "Projection",
    "RunRecord",
    "SuiteTask",
    "format_table",
    "initial_configs",
    "load_reference",
    "load_suite",
    "normalised_regret",
    "project",
    "run_bench",
    "run_one",
    "summarize",
    "token_counter",
]
