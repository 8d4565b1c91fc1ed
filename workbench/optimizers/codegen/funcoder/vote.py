"""FunCoder's votes: the consensus order of candidate programs, and the whole-program
conquer of the `mpi` kind (functions of `FunCoderOptimizer`, kept apart for module size)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from workbench.optimizers.codegen.codetree import CodeTree
from workbench.optimizers.codegen.funcoder.consensus import Outcome, select_consensus
from workbench.optimizers.codegen.funcoder.prompts import tests_messages
from workbench.optimizers.codegen.funcoder.steps import parse_inputs, program_of
from workbench.tasks.code import run_matrix

if TYPE_CHECKING:
    from workbench.optimizers.codegen.funcoder.generator import FunCoderOptimizer

__all__ = ["conquer_whole", "consensus_order", "vote"]


def conquer_whole(
    gen: FunCoderOptimizer,
    tree: CodeTree,
    names: list[str],
    plan: dict[str, int] | None = None,
    direct: list[CodeTree] | None = None,
) -> list[str]:
    """Whole-program consensus (mpi): sample every function bottom-up (`plan`: samples per
    function, 0 keeps the divide's version), keeping a provisional pick (the architect's,
    else the first sample) so the program is whole; then vote bottom-up, each candidate run
    with the winners so far in place. `direct` (self-contained root programs) join the
    root's vote."""
    drafts = []
    for name in names:
        samples = (plan or {}).get(name, gen.settings.conquer_samples)
        if samples <= 0:
            continue
        architect = gen.settings.include_architect and tree.functions[name].implemented
        candidates, replies = gen._sample(tree, name, samples=samples)
        tree = candidates[0] if candidates else tree
        gen._partial = tree
        drafts.append((name, replies, architect))
    ranked = [program_of(tree, gen.root)]
    for name, replies, architect in drafts:
        candidates = [tree] if architect else []  # in tie-break order (see `consensus_order`)
        if name == gen.root:
            candidates += list(direct or [])
        candidates += [gen._adopt(tree, reply, name) for reply in replies]
        if candidates:
            tree, ranked = vote(gen, tree, name, candidates)
    return ranked


def vote(
    gen: FunCoderOptimizer, tree: CodeTree, name: str, candidates: list[CodeTree]
) -> tuple[CodeTree, list[str]]:
    """The consensus winner among `candidates` for `name`, and the ranked programs."""
    if not candidates:
        return tree, [program_of(tree, gen.root)]
    codes = [program_of(c, gen.root) for c in candidates]
    if len(set(codes)) == 1:
        gen.log.append({"function": name, "candidates": len(codes), "inputs": 0})
        return candidates[0], [codes[0]]
    ranking = consensus_order(gen, name, tree, codes)
    winner = candidates[ranking[0]]
    gen._partial = winner
    ranked = list(dict.fromkeys(codes[i] for i in ranking))
    return winner, ranked


def consensus_order(
    gen: FunCoderOptimizer, name: str, tree: CodeTree, codes: list[str]
) -> list[int]:
    """Indices of `codes` ordered by functional-consensus score (winner first; a tie goes to
    the earlier candidate: the callers list the lowest-temperature ones first).

    Python: the model writes inputs of `name`, every candidate runs on each; at the root
    the public tests are firm tests. MPI (`ProblemView.whole_program`): every candidate
    program (the tree with this function's candidate in place) is built and run through
    the problem's driver at every np; its per-np behaviour (PASS, the driver's failure
    line, timeout, crash) is the execution row and its per-np validation the firm tests.
    """
    s = gen.settings
    whole = gen.view.whole_program
    inputs: list[str] = []
    if s.tests_per_function > 0 and not whole:
        stub = gen._stub(tree, name)
        inputs = gen.inputs.get(stub, [])  # asked once per function, reused by later rounds
        if not inputs:
            messages = tests_messages(stub, s.tests_per_function)
            reply = gen._chat(messages, 1, s.tests_temperature, s.tests_max_tokens)[0]
            inputs = parse_inputs(reply, name, s.tests_per_function)
            if inputs:
                gen.inputs[stub] = inputs
            else:
                gen._bad("tests", f"no call of {name}() in the test-input answer")
    unique = list(dict.fromkeys(codes))
    index = {c: i for i, c in enumerate(unique)}
    rows: list[list[Outcome | None]] = [[] for _ in unique]
    if inputs:
        matrix = run_matrix(
            unique,
            name,
            inputs,
            gen.sandbox,
            context=gen.view.problem.context,
            timeout_s=s.test_timeout_s,
        )
        gen.sandbox_runs += len(unique)
        rows = [[Outcome.from_dict(o) for o in row] for row in matrix]
    firm = None
    if whole or (name == gen.root and gen.view.examples):
        runs = gen.view.run_public(unique, gen.sandbox, s.test_timeout_s)
        gen.sandbox_runs += len(unique)
        firm = [r.passed or [False] for r in runs]
        if whole:
            rows = [[Outcome.from_dict(o) for o in r.outcomes] for r in runs]
    per_code = [rows[index[c]] for c in codes]
    per_firm = [firm[index[c]] for c in codes] if firm is not None else None
    result = select_consensus(per_code, per_firm, seed=None)  # a tie: the first candidate
    rest = sorted(
        (i for i in range(len(codes)) if i != result.best), key=lambda i: -result.scores[i]
    )
    gen.log.append(
        {
            "function": name,
            "candidates": len(codes),
            "inputs": len(inputs),
            "scores": result.scores,
            "best": result.best,
        }
    )
    return [result.best, *rest]
