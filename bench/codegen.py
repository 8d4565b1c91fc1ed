"""Code-generation benchmark: generators x problems, pass@1 / pass@k (`workbench bench code`).

Examples::

    # a smoke slice: 3 HumanEval problems, greedy `sample` and `funcoder`, the 0.5B model
    nice -n 19 .venv/bin/python bench/codegen.py --generators sample,funcoder --limit 3 \
        --model local:qwen2.5-coder-0.5b-instruct --out bench/results/codegen-smoke.json
    # issue 6's bench: the 20-problem HumanEval subset and tasks/mpi/, three generators, 1.5B
    .venv/bin/python bench/codegen.py --problems humaneval,mpi --dry-run   # projection only
    nice -n 19 .venv/bin/python bench/codegen.py --problems humaneval,mpi
    # only the MPI part (all 10 tasks/mpi/ problems, C++, docker sandbox with mpich)
    nice -n 19 .venv/bin/python bench/codegen.py --problems mpi --sandbox docker \
        --out bench/results/codegen-mpi.json

Before running, the projection of the whole selection is printed (`--dry-run`: only that) and
the bench refuses with exit status 2 when it exceeds `--max-hours` (default 2). The projection
(`workbench.bench.code_plan`) assumes every run spends its whole budget, renders each
generator's prompts for each problem (tokens ~ chars/3.5, an approximation), takes completion
sizes from bench/results/codegen-smoke.json (HumanEval) and solution.cpp (MPI), counts
llama-server prefix reuse only where consecutive calls share a prompt prefix, and adds 0.52 s
per Python / 2.6 s per MPI evaluation. It is written to the JSON (``projection``) next to the
measured wall time (``measured``), and every record carries its projected calls and time.

Budgets (per problem, the same on both kinds; the tables' ``budget`` column), sized so the full
bench projects to 1.72 h at 68 prompt / 26 generated tok/s: `sample` <= 2 LLM calls (greedy + 1
repair), `funcoder` <= 9 (a chat with n samples counts n: divide at depth 1, 3 samples per
function + the divide draft in the consensus, the root first, then repair rounds), `pgtd` <= 7
(1 top-k + 6 rollouts; C++ horizon 384). Each stops by its own rule once a program passes every
public check (for `pgtd` the task also sets ``stop.target: 1.0``). Wall-time safety net: 300 s
per HumanEval problem, 900 s per MPI problem (no projected run comes near it).

Projection (sample + funcoder + pgtd, 20 HumanEval + 10 MPI problems, every budget spent), min:
sample 7.7 + 8.1, funcoder 30.4 + 32.9, pgtd 8.1 + 16.0; total 103 min = 1.72 h.
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
    dry_run: bool = typer.Option(False, help="Print the time projection only; run nothing."),
    max_hours: float = typer.Option(2.0, min=0.0, help="Refuse (exit 2) over this projection."),
) -> None:
    """`workbench bench code`, writing bench/results/codegen.json by default."""
    code(generators, problems, limit, model, sandbox, out, runs_dir, dry_run, max_hours)


if __name__ == "__main__":
    typer.run(main)
