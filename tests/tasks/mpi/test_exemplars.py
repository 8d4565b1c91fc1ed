"""Picking worked examples for an MPI problem from other problems' solutions (issue 17)."""

from __future__ import annotations

import dataclasses

from workbench.tasks.mpi import library_dir, load_library, load_problem
from workbench.tasks.mpi.exemplars import contract_of, likeness, mpi_calls, similar_problems

POOL = load_library()
BY_NAME = {p.name: p for p in POOL}


def test_contracts_are_read_from_the_prompts() -> None:
    assert contract_of(BY_NAME["reduce_dot_product"]) == {"copies_in", "to_all"}
    assert contract_of(BY_NAME["dense_gemv"]) == {"copies_in", "to_root"}
    assert contract_of(BY_NAME["stencil_jacobi_1d"]) == {"blocks_in", "blocks_out"}


def test_mpi_calls_are_calls_not_constants() -> None:
    code = "MPI_Allreduce(&a, &b, 1, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD); MPI_Comm_rank (c, &r);"
    assert mpi_calls(code) == {"MPI_Allreduce", "MPI_Comm_rank"}


def test_the_most_alike_problems_come_first_and_never_the_target_itself() -> None:
    for target in POOL:
        picked = similar_problems(target, POOL, 3)
        assert len(picked) == 3 and target.name not in {p.name for p in picked}
        scores = [likeness(target, p) for p in picked]
        assert scores == sorted(scores, reverse=True)
        rest = [likeness(target, p) for p in POOL if p not in picked and p is not target]
        assert min(scores) >= max(rest)
    # the other reduction with a result on every rank; the other block-distributed stencil
    assert similar_problems(BY_NAME["reduce_argmin"], POOL, 1)[0].name == "reduce_dot_product"
    [block] = similar_problems(BY_NAME["stencil_jacobi_1d"], POOL, 1)
    assert block.spec.category == "stencil" and "blocks_in" in contract_of(block)


def test_the_target_is_judged_without_its_solution() -> None:
    """What the model sees of the target is all that counts: hiding its solution changes
    nothing; problems without a solution are never picked."""
    target = load_problem(library_dir() / "histogram_pixels")
    hidden = dataclasses.replace(target, solution=None, wrong=None)
    assert similar_problems(hidden, POOL, 4) == similar_problems(target, POOL, 4)
    no_solution = [dataclasses.replace(p, solution=None) for p in POOL]
    assert similar_problems(target, no_solution, 3) == []
