"""The `funcoder` generator: divide, conquer and functional consensus as an `Optimizer`.

One `propose` runs the whole method on the problem (cometeme/funcoder ``FunCoderDfs2Pass``):

1. *Divide* (top-down DFS to `max_depth`): the model writes the function and may introduce helper
   functions as stubs with docstrings; each new stub is divided in turn.
2. *Conquer* (bottom-up): for every function, `conquer_samples` implementations are drawn in one
   chat call (n samples at `conquer_temperature`), the function shown as a stub placed last after
   its implemented helpers; the divide draft joins them (`include_architect`).
3. *Functional consensus*: the model writes test INPUTS for the function (one call); every
   candidate runs on every input in the sandbox (`run_matrix`); `select_consensus` keeps the one
   the others agree with most (crash -100, failed firm test -10000). A tie goes to the
   candidate drawn at the lowest temperature: the divide draft, then the direct sample (below),
   then the samples in order (the anchor draws at random; candidates that agree on every input
   can still differ elsewhere, and the model's most likely answer is the better bet). At the
   root, the problem's public tests (the docstring's examples) are the firm unit tests.

Two adaptations for a call budget and small models (each a setting):

- *Root first* (always under an ``llm_calls`` budget): before conquering, the calls left are
  scheduled so the root's consensus (its samples and input call, plus the direct sample) and one
  repair round fit. Helpers the divide already implemented are refined only with the calls that
  remain after that; a helper left a stub gets at least one sample. Without a budget every
  function is conquered in full, as in the anchor.
- *Direct sample* (`direct`): when the root's draft calls new helpers, one self-contained
  implementation of the root (no helpers, temperature 0) joins the root's consensus, so a
  division that went wrong (a helper with the wrong meaning) cannot sink a problem the model
  solves in one piece; the public tests and the vote decide between them.

The model's test inputs for a function are asked once and reused by later rounds. The
consensus winner is proposed (and runner-ups, up to `candidates`). If its public-test
evaluation fails, the next `propose` is one repair round: the root is conquered again with the
failing tests shown, and consensus picks among the new samples; a program already proposed is
never proposed again while the round has a new one (the old program is the repair's draft and
often wins the vote), and a round with nothing new proposes it again marked ``repeat``. Once a
program passes every public test the generator stops proposing. A bad answer (no code, a stub,
a changed signature, no usable test input) is counted in ``bad_answers`` and, in divide, sent
back to the model.
`BudgetExceeded` inside `propose` ends it with the best program so far; the next `propose`
re-raises so the run stops cleanly.

On an `mpi` task (C++, through `MpiView`) the function tree comes from tree-sitter, the prompts
are the C++ ones (`PROMPT_VERSION_CPP`), and the consensus has no model-written inputs (a helper
cannot run without a harness): every candidate *program* (the tree with that function's
candidate in place) is built and run through the problem's driver at every np; its per-np
behaviour (PASS, the driver's failure line with the wrong value, timeout, crash) is its row of
the execution matrix and its per-np validation its firm tests. Candidates that validate win;
among those failing alike, the behaviour most candidates share wins.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from workbench.contracts import Candidate, Evaluation
from workbench.errors import BudgetExceeded
from workbench.optimizers.base import Optimizer, RunContext
from workbench.optimizers.codegen.codetree import CodeParseError, CodeTree, dependency_order
from workbench.optimizers.codegen.funcoder.prompts import (
    PROMPT_VERSION,
    PROMPT_VERSION_CPP,
    conquer_messages,
    divide_messages,
    guided,
    retry_message,
)
from workbench.optimizers.codegen.funcoder.steps import adopt, context_of, program_of
from workbench.optimizers.codegen.funcoder.vote import conquer_whole, vote
from workbench.optimizers.codegen.sample.common import (
    calls_left,
    program_key,
    sandbox_of,
    track_best,
)
from workbench.optimizers.codegen.view import problem_view
from workbench.quantities import Count, CountOrZero, NonNegative, Seconds
from workbench.tasks.mpi import load_problem
from workbench.tasks.mpi.exemplars import similar_problems
from workbench.tasks.mpi.kind import resolve_problem_dir
from workbench.tasks.mpi.problem import problem_folders

__all__ = ["Exemplar", "FunCoderOptimizer", "FunCoderSettings"]

log = logging.getLogger(__name__)


class Exemplar(BaseModel):
    """A worked example FunCoder's divide and conquer prompts show: a problem (a signature
    and docstring) and its solution."""

    model_config = ConfigDict(extra="forbid")
    problem: str = Field(min_length=1)
    solution: str = Field(min_length=1)


class FunCoderSettings(BaseModel):
    """`optimizer.settings` of `funcoder` (the anchor's defaults scaled down for small local
    models)."""

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)

    max_depth: CountOrZero = Field(2, le=6)
    """Divide recursion depth below the root (the anchor uses 6)."""
    max_functions: Count = Field(6, le=32)
    """Stop dividing once the tree holds this many functions."""
    divide_temperature: NonNegative = Field(0.2, le=2.0)
    """Sampling temperature of the divide calls."""
    conquer_samples: Count = Field(3, le=16)
    """Implementations drawn per function in one conquer call (the anchor draws 10)."""
    conquer_temperature: NonNegative = Field(0.8, le=2.0)
    """Sampling temperature of the conquer calls."""
    include_architect: bool = True
    """The divide draft of a function joins its consensus."""
    direct: bool = True
    """A divided root also gets one self-contained sample (no helpers, temperature 0) in its
    consensus."""
    refine_leaf: bool = True
    """Conquer functions without helpers too (off: a leaf the divide implemented is kept as
    drafted)."""
    tests_per_function: CountOrZero = Field(5, le=20)
    """Test inputs the model writes per function for its consensus (0: none)."""
    tests_temperature: NonNegative = Field(0.2, le=2.0)
    """Sampling temperature of the test-input call."""
    tests_max_tokens: Count = Field(160, ge=16, le=4096)
    """Answer length limit of the test-input call, in tokens."""
    test_timeout_s: Seconds = Field(3.0, le=60.0)
    """Time limit of a consensus run (a candidate on the test inputs, or its public tests)."""
    retries: CountOrZero = Field(1, le=5)
    """Re-asks after a bad divide answer."""
    max_tokens: Count = Field(512, ge=16, le=8192)
    """Answer length limit of the divide and conquer calls, in tokens."""
    candidates: Count = Field(1, le=16)
    """Programs proposed per step: the consensus winner, then runner-ups."""
    repair: bool = True
    """After the proposed program fails public tests, the next step conquers the root again
    with the failing tests shown."""
    instruction: str = Field("", max_length=4000)
    """Guidance appended to the divide and conquer system messages (e.g. learned by a prompt
    agent over a train split of problems); empty: FunCoder's own prompts."""
    exemplars: list[Exemplar] = Field(default_factory=list, max_length=8)
    """Worked examples shown in the divide and conquer prompts, after the built-in one."""
    similar_exemplars: CountOrZero = Field(0, le=4)
    """MPI tasks: also show the solutions of this many problems of `exemplar_pool` most like
    this one (`workbench.tasks.mpi.exemplars`: category, data contract, MPI calls, words)."""
    exemplar_pool: list[str] = Field(default_factory=list, max_length=200)
    """Where `similar_exemplars` come from: MPI library names or problem folders (or folders
    of them). Required with `similar_exemplars`: name the train split, so that no held-out
    problem's solution is ever shown."""
    sandbox: str | None = None
    """Sandbox for the consensus runs (``auto``, ``docker``, ``local``, ``docker:<image>``);
    default: the run's sandbox, else the task's ``sandbox:`` section."""

    @model_validator(mode="after")
    def _pool_for_similar(self) -> FunCoderSettings:
        if self.similar_exemplars and not self.exemplar_pool:
            raise ValueError(
                "similar_exemplars needs exemplar_pool: the problems (the train split) whose "
                "solutions may be shown"
            )
        return self


def similar_exemplars(view: Any, settings: FunCoderSettings) -> list[Exemplar]:
    """The solutions of the `settings.similar_exemplars` pool problems most like `view`'s MPI
    problem, as exemplars (its prompt, its solution); none for other kinds."""
    if not settings.similar_exemplars or getattr(view, "kind", None) != "mpi":
        return []
    pool = [
        load_problem(folder)
        for item in settings.exemplar_pool
        for folder in problem_folders(resolve_problem_dir(item, Path.cwd()))
    ]
    picked = similar_problems(view.problem, pool, settings.similar_exemplars)
    return [Exemplar(problem=p.prompt, solution=p.solution or "") for p in picked]


class FunCoderOptimizer(Optimizer):
    """FunCoder on a `code` task; see the module docstring.

    Args:
        ctx: the run context (its task must be a `code` or an `mpi` task).
        settings: `FunCoderSettings` or its dict.
        sandbox: where consensus runs go (tests); default: see `sandbox_of`.
    """

    name = "funcoder"

    def __init__(
        self,
        ctx: RunContext,
        settings: FunCoderSettings | dict[str, Any],
        sandbox: Any = None,
    ) -> None:
        self.ctx = ctx
        self.settings = FunCoderSettings.model_validate(settings)
        self.view = problem_view(ctx.task, self.name)
        self.language = self.view.language
        self.prompt_version = PROMPT_VERSION_CPP if self.language == "cpp" else PROMPT_VERSION
        self.root = self.view.entry
        self.prompt_tree = self.view.prompt_tree()
        self.given = {n for n, f in self.prompt_tree.functions.items() if f.implemented}
        self._sandbox, self._own_sandbox = sandbox, False
        self.count = 0
        self.round = 0
        self.calls = 0  # chat calls made (each sample of n counts in the run's budget)
        self.seed_counter = 0
        self.best: dict[str, Any] | None = None  # id, code, score, feedback
        self.codes: dict[str, str] = {}
        self.tried: dict[str, str] = {}  # program_key -> the first candidate with that program
        self.repeats = 0  # ranked programs not proposed again
        self.solved = False
        self.bad_answers = 0
        self.sandbox_runs = 0
        self.log: list[dict[str, Any]] = []  # consensus records of the current round
        self.stopped: dict[str, Any] | None = None  # BudgetExceeded seen: limit, used, allowed
        self._partial: CodeTree | None = None
        self.inputs: dict[str, list[str]] = {}  # function stub -> the model's test inputs
        self.shown = [*similar_exemplars(self.view, self.settings), *self.settings.exemplars]

    # -- plumbing -------------------------------------------------------------------------------
    @property
    def sandbox(self) -> Any:
        if self._sandbox is None:
            self._sandbox, self._own_sandbox = sandbox_of(self.ctx, self.settings.sandbox)
        return self._sandbox

    def _chat(
        self,
        messages: list[dict[str, Any]],
        n: int,
        temperature: float,
        max_tokens: int | None = None,
    ) -> list[str]:
        left = calls_left(self.ctx)
        k = n if left is None else max(min(n, left), 1)  # nothing left: the call raises
        # sample i of a call is drawn with seed + i: each call takes k seeds of its own, or
        # two calls with one prompt (repair rounds after the same failure) repeat samples
        seed = (self.ctx.seed or 0) * 7919 + self.seed_counter
        self.seed_counter += k
        result = self.ctx.llm().chat(
            messages,
            n=k,
            temperature=temperature,
            seed=seed,
            max_tokens=max_tokens or self.settings.max_tokens,
        )
        self.calls += k
        return list(result.texts)

    def _stub(self, tree: CodeTree, name: str) -> str:
        """The function to write, body hidden; the root always as the prompt states it."""
        return self.view.stub((self.prompt_tree if name == self.root else tree).functions[name])

    def _adopt(self, tree: CodeTree, reply: str, name: str) -> CodeTree:
        check = self.view.signature_problems if name == self.root else None
        return adopt(tree, reply, name, check=check)

    def _bad(self, where: str, why: str) -> None:
        self.bad_answers += 1
        log.info("funcoder: bad answer in %s: %s", where, why)

    def _guided(self, messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """`messages` with the settings' instruction and exemplars (`guided`)."""
        s = self.settings
        shots = [(e.problem, e.solution) for e in self.shown]
        return guided(messages, s.instruction, shots, self.language)

    # -- divide ---------------------------------------------------------------------------------
    def _divide(self, tree: CodeTree, name: str, depth: int, seen: set[str]) -> CodeTree:
        s = self.settings
        messages = self._guided(
            divide_messages(context_of(tree, name), self._stub(tree, name), self.language)
        )
        for _ in range(1 + s.retries):
            reply = self._chat(messages, 1, s.divide_temperature)[0]
            try:
                tree = self._adopt(tree, reply, name)
                break
            except CodeParseError as exc:
                self._bad("divide", str(exc))
                messages = [*messages, {"role": "assistant", "content": reply}]
                messages.append(retry_message(str(exc), self.language))
        else:
            return tree
        self._partial = tree
        for child in tree.functions[name].calls:
            if child in seen:
                continue  # FunCoder's "don't re-invent the wheel"
            seen.add(child)
            fn = tree.functions[child]
            if not fn.implemented and depth < s.max_depth and len(tree.functions) < s.max_functions:
                tree = self._divide(tree, child, depth + 1, seen)
        return tree

    # -- conquer and consensus ------------------------------------------------------------------
    def _sample(
        self,
        tree: CodeTree,
        name: str,
        previous: str | None = None,
        feedback: str | None = None,
        samples: int | None = None,
        extra: list[CodeTree] | None = None,
    ) -> tuple[list[CodeTree], list[str]]:
        """Implementations of `name` and the used replies; the candidates in tie-break order:
        the architect's (when it joins), `extra` (the direct sample), then the samples."""
        s = self.settings
        samples = s.conquer_samples if samples is None else samples
        messages = self._guided(
            conquer_messages(
                context_of(tree, name),
                self._stub(tree, name),
                previous=previous,
                feedback=feedback,
                language=self.language,
            )
        )
        candidates: list[CodeTree] = []
        if s.include_architect and tree.functions[name].implemented:
            candidates.append(tree)
        candidates += list(extra or [])
        replies = []
        for reply in self._chat(messages, samples, s.conquer_temperature):
            try:
                candidates.append(self._adopt(tree, reply, name))
                replies.append(reply)
            except CodeParseError as exc:
                self._bad("conquer", str(exc))
        return candidates, replies

    def _conquer(
        self,
        tree: CodeTree,
        name: str,
        previous: str | None = None,
        feedback: str | None = None,
        samples: int | None = None,
        extra: list[CodeTree] | None = None,
    ) -> tuple[CodeTree, list[str]]:
        """Sample implementations of `name`, pick one by consensus (among them and `extra`);
        returns (tree, ranked codes)."""
        candidates, _ = self._sample(tree, name, previous, feedback, samples, extra)
        return vote(self, tree, name, candidates)

    def _direct(self, tree: CodeTree) -> list[CodeTree]:
        """The self-contained root sample (`direct`), when the root's draft calls new helpers."""
        root = tree.functions[self.root]
        if not (self.settings.direct and self.root not in self.given):
            return []
        if not any(c in tree.functions and c not in self.given for c in root.calls):
            return []
        base = self.prompt_tree.copy()
        messages = self._guided(
            conquer_messages(
                context_of(base, self.root), self._stub(base, self.root), language=self.language
            )
        )
        reply = self._chat(messages, 1, 0.0)[0]
        try:
            return [self._adopt(base, reply, self.root)]
        except CodeParseError as exc:
            self._bad("direct", str(exc))
            return []

    def _schedule(self, tree: CodeTree, names: list[str]) -> dict[str, int]:
        """Samples per function of `names` (bottom-up, the root last) within the calls left.

        Without a call limit every function gets `conquer_samples`. With one, the root's vote
        (samples + its input call) and one repair round's samples are set aside first; helpers
        are refined in order while the rest allows a full vote each, and a helper still a stub
        gets at least one sample (it must be written). The root gets what remains, up to
        `conquer_samples` (at least one).
        """
        s = self.settings
        k = s.conquer_samples
        plan = dict.fromkeys(names, k)
        left = calls_left(self.ctx)
        if left is None:
            return plan
        ask = 0 if self.view.whole_program or s.tests_per_function == 0 else 1
        reserve = (k + ask) + (k if s.repair else 0)  # the root's vote and one repair round
        used = 0  # by the helpers
        for name in names:
            if name == self.root:
                continue
            if left - reserve - used >= k + ask:
                used += k + ask
            elif not tree.functions[name].implemented:
                plan[name] = 1
                used += 1
            else:
                plan[name] = 0
        if self.root in plan:
            plan[self.root] = max(1, min(k, left - used - ask))
        log.info("funcoder: %s calls left, samples per function %s", left, plan)
        return plan

    # -- rounds ---------------------------------------------------------------------------------
    def _solve(self) -> list[str]:
        tree = self.prompt_tree.copy()
        self._partial = None
        tree = self._divide(tree, self.root, 0, set(self.given) | {self.root})
        direct = self._direct(tree)
        names = [n for n in dependency_order(tree, self.root) if self._conquers(tree, n)]
        plan = self._schedule(tree, names)
        if self.view.whole_program:
            return conquer_whole(self, tree, names, plan, direct)
        ranked = [program_of(tree, self.root)]
        for name in names:
            if plan[name] > 0:
                extra = direct if name == self.root else None
                tree, ranked = self._conquer(tree, name, samples=plan[name], extra=extra)
        return ranked

    def _conquers(self, tree: CodeTree, name: str) -> bool:
        """Whether `name` is conquered (not given by the prompt; leaves only if `refine_leaf`)."""
        if name in self.given:
            return False
        fn = tree.functions[name]
        has_children = any(c not in self.given for c in fn.calls)
        return not (fn.implemented and not has_children and not self.settings.refine_leaf)

    def _repair(self) -> list[str]:
        assert self.best is not None
        try:
            tree = self.view.parse(self.best["code"], extract=False)
        except CodeParseError:
            tree = self.prompt_tree.copy()
        if self.root not in tree.functions:
            tree = self.prompt_tree.copy()
        self._partial = tree
        # `_chat` draws as many samples as the calls left allow
        _, ranked = self._conquer(
            tree, self.root, previous=self.best["code"], feedback=self.best["feedback"]
        )
        return ranked

    # -- Optimizer ------------------------------------------------------------------------------
    def propose(self, n: int) -> list[Candidate]:
        """Run one FunCoder round (or one repair round) and propose its winner (and runner-ups)."""
        if self.stopped is not None:
            raise BudgetExceeded(**self.stopped)
        if self.solved or n <= 0 or (self.best is not None and not self.settings.repair):
            return []
        mode = "solve" if self.best is None else "repair"
        self.log = []
        try:
            ranked = self._solve() if mode == "solve" else self._repair()
        except BudgetExceeded as exc:
            self.stopped = {"limit": exc.limit, "used": exc.used, "allowed": exc.allowed}
            if self._partial is None or self.root not in self._partial.functions:
                raise
            ranked = [program_of(self._partial, self.root)]
            mode += "-budget"
        self.round += 1
        # a repair's consensus may crown the program that already failed (its draft takes a
        # tie): propose what was not evaluated yet, unless nothing new came out of the round
        fresh = [code for code in ranked if program_key(code) not in self.tried]
        repeats = len(ranked) - len(fresh)
        self.repeats += repeats
        if fresh:
            ranked = fresh
        out = []
        for rank, code in enumerate(ranked[: min(n, self.settings.candidates)]):
            cid = f"f{self.count:04d}"
            self.count += 1
            self.codes[cid] = code
            self.tried.setdefault(program_key(code), cid)
            meta = {
                "generator": self.name,
                "prompt_version": self.prompt_version,
                "round": self.round - 1,
                "mode": mode,
                "rank": rank,
                "consensus": self.log,
                "llm_calls": self.calls,
                "bad_answers": self.bad_answers,
                "sandbox_runs": self.sandbox_runs,
                "repeats": self.repeats,  # ranked programs left out: evaluated before
                "repeat": not fresh,  # nothing new in this round: an old program again
            }
            parents = [self.best["id"]] if self.best is not None else []
            out.append(Candidate(cid, self.view.payload(code), parent_ids=parents, meta=meta))
        return out

    def observe(self, evaluations: list[Evaluation]) -> None:
        """Keep the best program by public pass rate; stop once one passes every public test."""
        self.best, solved = track_best(self.best, self.codes, evaluations)
        self.solved = self.solved or solved

    def state(self) -> dict[str, Any]:
        """Counters, the best program and the stop flag (JSON)."""
        return {
            "prompt_version": self.prompt_version,
            "count": self.count,
            "round": self.round,
            "calls": self.calls,
            "seed_counter": self.seed_counter,
            "best": self.best,
            "codes": self.codes,
            "solved": self.solved,
            "bad_answers": self.bad_answers,
            "sandbox_runs": self.sandbox_runs,
            "stopped": self.stopped,
            "inputs": self.inputs,
            "tried": self.tried,
            "repeats": self.repeats,
        }

    def load_state(self, state: dict[str, Any]) -> None:
        """Inverse of `state`."""
        self.count = int(state.get("count", 0))
        self.round = int(state.get("round", 0))
        self.calls = int(state.get("calls", 0))
        self.seed_counter = int(state.get("seed_counter", 0))
        self.best = state.get("best")
        self.codes = dict(state.get("codes", {}))
        self.solved = bool(state.get("solved", False))
        self.bad_answers = int(state.get("bad_answers", 0))
        self.sandbox_runs = int(state.get("sandbox_runs", 0))
        self.tried = dict(state.get("tried", {}))
        self.repeats = int(state.get("repeats", 0))
        self.stopped = state.get("stopped")
        self.inputs = {k: list(v) for k, v in state.get("inputs", {}).items()}

    def close(self) -> None:
        """Close the sandbox this generator opened for itself."""
        if self._own_sandbox and self._sandbox is not None:
            self._sandbox.close()
        self._sandbox = None
