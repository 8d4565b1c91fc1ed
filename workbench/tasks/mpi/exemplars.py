"""Worked examples for an MPI problem: correct solutions of *other* problems, picked by likeness.

"Teach Better or Show Smarter?" applied to code generation: a small model copies the shape of
the example it is shown, so the example should share the problem's shape. Only what the model
would see of the target counts (its prompt, category and signature, never its solution); of a
candidate exemplar, its solution shows the MPI calls it makes. Likeness is, in order of weight:

- the same category (two reductions, two stencils);
- the same data contract: complete copies or blocks in, the result on rank 0, on every rank or
  in blocks (read from the prompts' contract sentences);
- the MPI calls the target's contract suggests among those the exemplar's solution makes (a
  result on every rank: ``MPI_Allreduce``/``MPI_Allgather(v)``; on rank 0: a reduce or gather;
  blocks: point-to-point neighbours or ``MPI_Alltoall(v)``);
- the words of the two prompts and the types of the two signatures.

Ties go by name, so a pick is reproducible. The pool is the train split (a held-out problem is
never shown as an example).

Example:
    >>> from workbench.tasks.mpi import library_dir, load_library, load_problem
    >>> pool = load_library()
    >>> target = load_problem(library_dir() / "stencil_jacobi_2d")
    >>> [p.name for p in similar_problems(target, pool, 2)]
    ['stencil_jacobi_1d', 'dense_gemv']
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from workbench.tasks.mpi.problem import MpiProblem

__all__ = ["contract_of", "likeness", "mpi_calls", "similar_problems"]

_WORD = re.compile(r"[a-z][a-z_]+")
_STOP = frozenset(
    (
        "the", "and", "of", "a", "an", "in", "on", "to", "is", "are", "be", "by", "for", "with",
        "that", "this", "each", "every", "its", "it", "as", "at", "or", "from", "use", "mpi",
        "compute", "parallel", "assume", "already", "initialized", "rank", "ranks", "result",
        "store", "return", "has", "have", "complete", "copy",
    )
)  # fmt: skip
_TYPE = re.compile(r"\b(?:double|float|int|long|char|bool|std::size_t|size_t|std::array|vector)\b")
_CALL = re.compile(r"\bMPI_[A-Z][a-z_]+(?=\s*\()")
# what each contract suggests a solution ends with
_SUGGESTS = {
    "to_all": {"MPI_Allreduce", "MPI_Allgather", "MPI_Allgatherv", "MPI_Bcast"},
    "to_root": {"MPI_Reduce", "MPI_Gather", "MPI_Gatherv"},
    "blocks_in": {"MPI_Sendrecv", "MPI_Send", "MPI_Recv", "MPI_Alltoall", "MPI_Alltoallv"},
}


def contract_of(problem: MpiProblem) -> frozenset[str]:
    """The data contract the prompt states: ``copies_in`` or ``blocks_in``, and ``to_root``,
    ``to_all`` or ``blocks_out``."""
    text = " ".join(problem.spec.prompt.lower().split())
    found = set()
    if "complete cop" in text:
        found.add("copies_in")
    if re.search(r"distributed (in blocks|by rows|by blocks)|block-distributed|rank r holds", text):
        found.add("blocks_in")
    if re.search(r"on rank 0\b", text):
        found.add("to_root")
    if re.search(r"on all ranks|on every rank|to every rank", text):
        found.add("to_all")
    if re.search(
        r"(every|each) rank (must )?holds? its (own )?(block|rows)|rank r must hold", text
    ):
        found.add("blocks_out")
    return frozenset(found)


def mpi_calls(code: str) -> frozenset[str]:
    """The MPI functions `code` calls (``MPI_Allreduce``, ...)."""
    return frozenset(_CALL.findall(code))


def _jaccard(a: Iterable[str], b: Iterable[str]) -> float:
    x, y = set(a), set(b)
    return len(x & y) / len(x | y) if x | y else 0.0


def _words(problem: MpiProblem) -> set[str]:
    return {w for w in _WORD.findall(problem.spec.prompt.lower()) if w not in _STOP}


def likeness(target: MpiProblem, other: MpiProblem) -> float:
    """How much `other` (with its solution) looks like `target` (without its solution)."""
    score = 3.0 * (target.spec.category == other.spec.category)
    contract = contract_of(target)
    score += 2.0 * _jaccard(contract, contract_of(other))
    suggested = set().union(*(_SUGGESTS.get(c, set()) for c in contract))
    score += 1.0 * bool(suggested & mpi_calls(other.solution or ""))
    score += 1.0 * _jaccard(_words(target), _words(other))
    score += 0.5 * _jaccard(_TYPE.findall(target.signature), _TYPE.findall(other.signature))
    return score


def similar_problems(target: MpiProblem, pool: Iterable[MpiProblem], k: int) -> list[MpiProblem]:
    """The `k` problems of `pool` most like `target` that have a solution (never `target`)."""
    ranked = sorted(
        (p for p in pool if p.solution and p.name != target.name),
        key=lambda p: (-likeness(target, p), p.name),
    )
    return ranked[:k]
