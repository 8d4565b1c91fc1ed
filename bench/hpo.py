"""Bayesmark-style HPO benchmark: optimizers x tasks x seeds (the code of `workbench bench hpo`).

Examples::

    # the reduced grid (3 tasks x 1 seed x 15 evaluations) with the 0.5B model
    nice -n 19 .venv/bin/python bench/hpo.py --tasks dt-wine,svm-wine,rf-breast --seeds 0 -n 15 \
        --model local:qwen2.5-coder-0.5b-instruct --out bench/results/hpo-0.5b-reduced.json
    # the full grid of issue 7 (9 tasks x 3 seeds x 30 evaluations, qwen2.5-coder-1.5b)
    nice -n 19 .venv/bin/python bench/hpo.py --model local:qwen2.5-coder-1.5b-instruct \
        --out bench/results/hpo-1.5b-full.json
"""

from __future__ import annotations

import typer

from workbench.cli.bench import hpo

if __name__ == "__main__":
    typer.run(hpo)
