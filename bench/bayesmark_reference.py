"""Fix each Bayesmark task's regret reference once: `clip` and `opt` (research/llambo.md §5).

For every task file in tasks/hpo/bayesmark/: `n_random` seeded random evaluations (clip = the
median loss of one random evaluation) followed by `n_tpe` Optuna TPE evaluations in the same
in-memory study; opt = the lowest loss any of them reached. Loss is -score for maximized metrics
and the score for minimized ones (Bayesmark's convention). Slow tasks get fewer evaluations
(`--slow-scale`). The JSON is rewritten after each task, so a stopped run keeps what it did.

Run on ONE core, niced (the machine is shared)::

    OMP_NUM_THREADS=1 nice -n 19 .venv/bin/python bench/bayesmark_reference.py
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import optuna

from workbench.bench import SUITE_DIR, load_suite
from workbench.bench.hpo.suite import compute_reference

SLOW = {"rf-breast", "rf-diabetes", "rf-digits", "svm-breast", "mlp-wine", "mlp-breast"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--random", type=int, default=300)
    parser.add_argument("--tpe", type=int, default=700)
    parser.add_argument("--slow-scale", type=float, default=0.4)
    parser.add_argument("--tasks", nargs="*", default=None)
    parser.add_argument("--out", type=Path, default=SUITE_DIR / "reference.json")
    args = parser.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    out: dict[str, Any] = json.loads(args.out.read_text()) if args.out.is_file() else {}
    for task in load_suite(args.tasks):
        scale = args.slow_scale if task.name in SLOW else 1.0
        result = compute_reference(task, int(args.random * scale), int(args.tpe * scale))
        result["loss"] = "-cv_score" if task.direction == "maximize" else "cv_score"
        out[task.name] = result
        args.out.write_text(json.dumps(out, indent=1, sort_keys=True) + "\n")
        print(task.name, {k: result[k] for k in ("clip", "opt", "seconds")}, flush=True)


if __name__ == "__main__":
    main()
