"""Code-generation benchmark: generators x problems, pass@1 / pass@k (`workbench bench code`).

Examples::

    # a smoke slice: 3 HumanEval problems, greedy `sample` and `funcoder`, the 0.5B model
    nice -n 19 .venv/bin/python bench/codegen.py --generators sample,funcoder --limit 3 \
        --model local:qwen2.5-coder-0.5b-instruct --out bench/results/codegen-smoke.json
    # issue 6's bench: the 20-problem HumanEval subset and tasks/mpi/, three generators, 1.5B
    nice -n 19 .venv/bin/python bench/codegen.py --problems humaneval,mpi
    # only the MPI part (all 10 tasks/mpi/ problems, C++, docker sandbox with mpich)
    nice -n 19 .venv/bin/python bench/codegen.py --problems mpi --sandbox docker \
        --out bench/results/codegen-mpi.json

Budgets (per problem, the same on both kinds; the tables' ``budget`` column): `sample` <= 4
LLM calls (greedy + 3 repairs), `funcoder` <= 24 (a chat with n samples counts n), `pgtd` <= 40
(top-k + rollouts; C++ horizon 384 tokens). Each stops by its own rule at public 1.0 (for
`pgtd` the task also sets ``stop.target: 1.0``, equal to its search's early stop); see
`workbench.cli.bench.code`. Wall-time safety net: 300 s per HumanEval problem, 900 s per
MPI problem.

Time projection with qwen2.5-coder-1.5b-instruct at ~68 prompt / ~26 generated tok/s (2 cores),
from the prompt sizes (MPI: ~550 prompt tokens, ~300 generated per C++ function) and ~4-6 s per
MPI build + run at np 1-4: per MPI problem sample ~25 s (solved greedily) to ~105 s (4 calls),
funcoder ~90-430 s, pgtd ~30-330 s; the MPI part ~75-100 min for 10 problems, the HumanEval
part ~55-60 min (scaled from bench/results/codegen-smoke.json's token counts).
"""

from __future__ import annotations

from pathlib import Path

import typer

from workbench.cli.bench import code

DEFAULT_OUT = Path(__file__).resolve().parent / "results" / "codegen.json"


def main(
    generators: str = typer.Option("sample,funcoder,pgtd", help="Comma-separated generators."),
    problems: str = typer.Option("humaneval", help="humaneval, mpi, HumanEval/<n>, MPI names."),
    limit: int = typer.Option(None, min=1, help="Only the first N problems."),
    model: str = typer.Option("local:qwen2.5-coder-1.5b-instruct", help="The shared LLM."),
    sandbox: str = typer.Option("auto", help="Sandbox backend: auto, docker or local."),
    out: Path = typer.Option(DEFAULT_OUT, help="Write the JSON result here."),
    runs_dir: Path = typer.Option(None, help="Keep the run folders here (default: temporary)."),
) -> None:
    """`workbench bench code`, writing bench/results/codegen.json by default."""
    code(generators, problems, limit, model, sandbox, out, runs_dir)


if __name__ == "__main__":
    typer.run(main)
