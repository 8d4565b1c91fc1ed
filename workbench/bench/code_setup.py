"""What `workbench bench code` runs: the generators with their budgets, the problems, the task
files (see `workbench.bench.code` for the budget and stop rules)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from workbench.errors import ConfigError
from workbench.tasks.mpi.problem import library_dir, problem_folders

__all__ = [
    "BENCH_GENERATORS",
    "HUMANEVAL_SUBSET",
    "MPI_HELD_OUT",
    "MPI_TRAIN",
    "WALL_TIME_S",
    "BenchGenerator",
    "budget_text",
    "mpi_library",
    "select_problems",
    "task_yaml",
]

HUMANEVAL_SUBSET: tuple[str, ...] = tuple(f"HumanEval/{i}" for i in range(0, 160, 8))
# The MPI library's split, fixed once (issue 17). Train: the ten problems every generator's
# prompts, budgets and exemplars were tuned on. Held-out: problems written after that, used
# only to report; nothing tunes on them (an exemplar pool is the train split).
MPI_TRAIN: tuple[str, ...] = (
    "dense_gemv", "histogram_pixels", "ranking_count_smaller", "reduce_argmin",
    "reduce_dot_product", "scan_prefix_sum", "sort_integers", "sparse_spmv_csr",
    "stencil_jacobi_1d", "stencil_jacobi_2d",
)  # fmt: skip
MPI_HELD_OUT: tuple[str, ...] = (
    "dense_gemm", "graph_bfs_levels", "integrate_trapezoid", "kmeans_step", "nbody_forces",
    "pagerank_step", "reduce_custom_op", "scan_segmented", "stencil_life", "topk_largest",
    "transpose_alltoall",
)  # fmt: skip


@dataclass(frozen=True)
class BenchGenerator:
    """A generator as the bench runs it.

    Attributes:
        optimizer: the registered optimizer name.
        settings: its settings (both kinds).
        budget: the per-problem budget (LLM calls, evaluations); wall time comes from
            `WALL_TIME_S`.
        parallel: candidates per loop step.
        note: the budget and stop rule in words (the tables' ``budget`` column).
        kind_settings: settings overrides per task kind (e.g. a longer PG-TD horizon for C++).
        stop_target: a loop-level ``stop.target``; None: the generator's own stop rule.
    """

    optimizer: str
    settings: dict[str, Any]
    budget: dict[str, Any]
    parallel: int = 1
    note: str = ""
    kind_settings: dict[str, dict[str, Any]] = field(default_factory=dict)
    stop_target: float | None = None

    def settings_for(self, kind: str) -> dict[str, Any]:
        """`settings` with the overrides of `kind`."""
        return {**self.settings, **self.kind_settings.get(kind, {})}


# Per-problem wall-time safety net by kind. MPI runs cost more: C++ functions are longer, and
# every FunCoder consensus / PG-TD reward is a compile plus runs at 4 rank counts (~3-5 s).
WALL_TIME_S: dict[str, float] = {"code": 300, "mpi": 900}

# bench name -> how it runs; each budget is in the method's natural unit, LLM calls per problem
# (a chat with n samples counts n), the same on `code` and `mpi`. Sized so that the projection of
# the whole bench (20 HumanEval + 10 MPI problems, sample + funcoder + pgtd, every run spending its
# whole budget; `workbench.bench.code_plan`) is <= 1.7 h at 68 / 26 tok/s (1.66 h: sample
# ~16 min, funcoder ~60 min, pgtd ~24 min). FunCoder, the method under test, gets the most.
BENCH_GENERATORS: dict[str, BenchGenerator] = {
    "sample": BenchGenerator(
        "sample",
        {"samples": 1, "temperature": 0.0, "repair": True},
        {"llm_calls": 2},
        note="<=2 calls: greedy + 1 repair; stops when public checks pass",
    ),
    "sample-n": BenchGenerator(
        "sample",
        {"samples": 5, "temperature": 0.8, "repair": False, "max_rounds": 1},
        {"llm_calls": 5, "evaluations": 5},
        parallel=5,
        note="5 calls: 5 samples at T=0.8, all evaluated",
    ),
    # FunCoder keeps 3 samples per function (+ the divide draft: a consensus of 4) and its
    # test-input call (asked once, reused by repairs); helpers are not divided again
    # (max_depth 1). 9 calls, with no helper: divide + 3 conquer + inputs (5), then repair
    # rounds of 3 and 1 samples; mpi (no input call): 1 + 3, then 3 + 2 repair samples. With
    # helpers, FunCoder's schedule puts the root first: each helper's divide call (1) and the
    # direct helper-free root sample (1) come first, the root votes (3 + inputs), helpers are
    # refined only if a full repair round (3) still fits after that, and a repair gets the rest.
    "funcoder": BenchGenerator(
        "funcoder",
        {"conquer_samples": 3, "max_depth": 1},
        {"llm_calls": 9},
        note=(
            "<=9 calls: divide (depth 1), 3 samples/function + draft, consensus (code: 5 "
            "model-written inputs; mpi: runs at each np), repair; stops when public checks pass"
        ),
    ),
    "pgtd": BenchGenerator(
        "pgtd",
        {"max_calls": 7},
        {"llm_calls": 7},
        kind_settings={"mpi": {"horizon": 384}},
        note="<=7 calls (1 top-k + 6 rollouts, width 3); stops at public reward 1",
        stop_target=1.0,  # = its search's early_stop: leftover programs are not evaluated
    ),
}


def mpi_library() -> list[str]:
    """The names of the `tasks/mpi/` problems, sorted."""
    return sorted(p.name for p in library_dir().iterdir() if (p / "problem.yaml").is_file())


def select_problems(spec: str = "humaneval", limit: int | None = None) -> list[tuple[str, str]]:
    """The (kind, id) problems of a comma-separated spec, in order, first `limit` of them.

    Items: ``humaneval`` (the 20-problem subset), ``mpi`` (the library's train split,
    `MPI_TRAIN`), ``mpi-held-out`` (`MPI_HELD_OUT`), ``mpi-all`` (the whole library), a HumanEval id
    (``HumanEval/12``), an MPI library name, an MPI problem folder (one with a
    ``problem.yaml``; a user's own, anywhere) or a folder of such folders (all of them, by
    name). Folders are given as absolute paths.

    Raises:
        ConfigError: an item is none of these.
    """
    library = mpi_library()
    out: list[tuple[str, str]] = []
    for item in (s.strip() for s in spec.split(",")):
        if not item:
            continue
        if item == "humaneval":
            out += [("code", p) for p in HUMANEVAL_SUBSET]
        elif item == "mpi":
            out += [("mpi", p) for p in MPI_TRAIN]
        elif item == "mpi-held-out":
            out += [("mpi", p) for p in MPI_HELD_OUT]
        elif item == "mpi-all":
            out += [("mpi", p) for p in library]
        elif re.fullmatch(r"HumanEval/\d+", item):
            out.append(("code", item))
        elif item in library:
            out.append(("mpi", item))
        elif Path(item).expanduser().is_dir():
            out += [("mpi", str(folder)) for folder in problem_folders(item)]
        else:
            raise ConfigError(
                f"unknown problem {item!r}: give humaneval, mpi, mpi-held-out, mpi-all, "
                "HumanEval/<n>, an MPI problem "
                f"folder (or a folder of them) or one of {', '.join(library)}"
            )
    seen: set[tuple[str, str]] = set()
    unique = [p for p in out if not (p in seen or seen.add(p))]
    return unique[:limit] if limit else unique


def task_yaml(name: str, kind: str, problem: str, sandbox: str = "auto", seed: int = 0) -> str:
    """The task file (YAML) of one bench run of generator `name` on one problem.

    The budget is the generator's (`BenchGenerator.budget`) plus the kind's wall-time safety
    net (`WALL_TIME_S`); ``stop:`` appears only for a generator with a `stop_target`.
    """
    gen = BENCH_GENERATORS[name]
    section = {"humaneval": problem} if kind == "code" else {"problem": problem}
    short = problem.rstrip("/").rsplit("/", 1)[-1] if kind == "mpi" else problem  # a folder
    slug = re.sub(r"[^A-Za-z0-9]+", "-", f"bench-{name}-{short}").strip("-").lower()[:80]
    budget = {**gen.budget, "wall_time_s": WALL_TIME_S[kind]}
    lines = [
        f"name: {slug}",
        f"kind: {kind}",
        f"seed: {seed}",
        f"sandbox: {{backend: {sandbox}}}",
        f"optimizer: {{name: {gen.optimizer}, settings: {json.dumps(gen.settings_for(kind))}}}",
        f"budget: {json.dumps(budget)}",
        f"parallel: {gen.parallel}",
    ]
    if gen.stop_target is not None:
        lines.append(f"stop: {{target: {gen.stop_target}}}")
    lines.append(f"{kind}: {json.dumps(section)}")
    return "\n".join(lines) + "\n"


def budget_text(name: str, kind: str) -> str:
    """The budget of generator `name` on `kind`, as the tables show it."""
    gen = BENCH_GENERATORS[name]
    return f"{gen.note}; wall <= {WALL_TIME_S[kind]:.0f} s"
