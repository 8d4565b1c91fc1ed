"""Code-generation benchmark: generators x problems, pass@1 / pass@k (`workbench bench code`).

Examples::

    # a smoke slice: 3 HumanEval problems, greedy `sample` and `funcoder`, the 0.5B model
    nice -n 19 .venv/bin/python bench/codegen.py --generators sample,funcoder --limit 3 \
        --model local:qwen2.5-coder-0.5b-instruct --out bench/results/codegen-smoke.json
    # issue 6's bench: the 20-problem HumanEval subset and tasks/mpi/, three generators, 1.5B
    nice -n 19 .venv/bin/python bench/codegen.py --problems humaneval,mpi
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
