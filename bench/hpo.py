"""Bayesmark-style HPO benchmark: optimizers x tasks x seeds (the code of `workbench bench hpo`).

Prints a projection of the wall time (prompt sizes from the server's tokenizer, the given token
rates, one timed evaluation per task) before the first run; ``--max-hours`` refuses a longer
projection and starts no new run once it has passed.

Examples::

    # a short measurement (2 tasks x 1 seed x 15 evaluations, one thread on a shared machine)
    nice -n 10 .venv/bin/python bench/hpo.py --tasks svm-wine,dt-diabetes --seeds 0 -n 15 \
        --model local:qwen2.5-coder-1.5b-instruct --threads 1 \
        --out bench/results/hpo-1.5b-smoke.json
    # the full grid of issue 7 (9 tasks x 3 seeds x 30 evaluations), 1 slot x 2 threads
    nice -n 5 .venv/bin/python bench/hpo.py --model local:qwen2.5-coder-1.5b-instruct --threads 2 \
        --max-hours 2 --out bench/results/hpo-1.5b-full.json
"""

from __future__ import annotations

import typer

from workbench.cli.bench import hpo

if __name__ == "__main__":
    typer.run(hpo)
