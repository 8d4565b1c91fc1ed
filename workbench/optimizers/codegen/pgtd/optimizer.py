"""The `pgtd` generator: PG-TD token-level MCTS as an `Optimizer` on the loop.

Each `propose(n)` runs search simulations until `n` programs the loop has not seen yet exist
(or the search ends: call budget, early stop at public reward 1, the run's LLM budget, or an
exhausted tree), then proposes them best public reward first as ``{"code", "language"}``
candidates of the `code` kind, or C++ ``{"code", "language": "cpp"}`` ones of the `mpi` kind.
A rollout's text becomes its program through `assembly.assemble_program`: the prefilled signature
and the generated code form a fenced answer that the problem view's `extract` turns into the
program, exactly as the `sample` generator does with its replies.
The search's reward is the public-test pass rate from the run's sandbox (or its own); for `mpi`
it is the share of rank counts at which the problem's driver validated the program (compile
errors and crashes give 0). The loop's evaluations arrive in `observe`.

Resume: the state keeps every model answer the search used (top-k lists and rollouts, keyed by
the generated token ids) and every program reward. `load_state` replays the same number of
simulations against those answers: the tree, its caches and its counters come back exactly,
without a model call or a sandbox run (the search is deterministic given its answers).

In a task file (each setting is documented on `PGTDSettings`)::

    optimizer:
      name: pgtd
      settings: {width: 3, max_calls: 40, horizon: 384}
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from workbench.contracts import Candidate, Evaluation
from workbench.optimizers.base import Optimizer, RunContext
from workbench.optimizers.codegen.pgtd.assembly import assemble_program
from workbench.optimizers.codegen.pgtd.llm import TokenModel, apply_chat_template, find_eos_ids
from workbench.optimizers.codegen.pgtd.prompts import (
    PROMPT_VERSION,
    PROMPT_VERSION_CPP,
    assistant_prefix,
    chat_messages,
)
from workbench.optimizers.codegen.pgtd.search import PGTDSearch
from workbench.optimizers.codegen.pgtd.tree import Program, program_key
from workbench.optimizers.codegen.view import PublicReward, problem_view
from workbench.quantities import Count, FiniteFloat, NonNegative, Positive
from workbench.sandbox import open_sandbox
from workbench.tasks import ProvidesSandboxConfig

__all__ = ["PGTDOptimizer", "PGTDSettings"]

log = logging.getLogger(__name__)


class PGTDSettings(BaseModel):
    """`optimizer.settings` of the `pgtd` optimizer (defaults from the anchor, budget smaller)."""

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)

    width: Count = Field(3, le=20)
    """Top-k children per node: next-token candidates asked for at each expansion."""
    c: NonNegative = 4.0
    """The P-UCB exploration constant."""
    base: Positive = 10.0
    """The P-UCB base."""
    max_calls: Count = 100
    """Model calls of the search (top-k and rollouts; cache hits are free)."""
    horizon: Count = 256
    """New tokens of a program at most."""
    early_stop: FiniteFloat | None = 1.0
    """Stop once a program's public reward reaches this (the share of public tests passed; on
    `mpi`, of rank counts validated); None: never."""
    max_simulations: Count = 10_000
    """Search simulations at most (the anchor's ``--rollout``)."""
    prefill_signature: bool = True
    """The assistant turn starts with the function's signature and docstring."""
    sandbox: str | None = None
    """Where the public tests run (``auto``, ``docker``, ``local``, ``docker:<image>``);
    default: the run's sandbox, else the task's ``sandbox:`` section."""


def _lp(value: float) -> float:
    """A logprob as the search and the saved state see it: 4 decimals, finite (compact JSON)."""
    return round(value, 4) if math.isfinite(value) else -1e4


class _Recorded:
    """The model callables, recording every answer (JSON) and replaying saved ones first.

    Logprobs are rounded (`_lp`) before the search sees them, so a replay is exact.
    """

    def __init__(self, model: TokenModel, prompt_len: int) -> None:
        self.model = model
        self.n = prompt_len
        self.topk_log: dict[tuple[int, ...], list[tuple[int, float]]] = {}
        self.rollout_log: dict[tuple[int, ...], tuple[list[int], str, list[Any]]] = {}

    def topk(self, prefix: Sequence[int]) -> list[tuple[int, float]]:
        key = tuple(prefix[self.n :])
        if key not in self.topk_log:
            self.topk_log[key] = [(t, _lp(lp)) for t, lp in self.model.topk(prefix)]
        return self.topk_log[key]

    def rollout(self, prefix: Sequence[int]) -> tuple[list[int], str, list[Any]]:
        key = tuple(prefix[self.n :])
        if key not in self.rollout_log:
            ids, text, steps = self.model.rollout(prefix)
            alts = [[(t, _lp(lp)) for t, lp in step] for step in steps]
            self.rollout_log[key] = (list(ids[self.n :]), text, alts)
        gen, text, steps = self.rollout_log[key]
        return [*prefix[: self.n], *gen], text, steps

    def to_dict(self) -> dict[str, Any]:
        return {
            "topk": [[list(k), [list(a) for a in v]] for k, v in self.topk_log.items()],
            "rollouts": [
                [list(k), ids, text, [[list(a) for a in step] for step in steps]]
                for k, (ids, text, steps) in self.rollout_log.items()
            ],
        }

    def load(self, data: dict[str, Any]) -> None:
        for key, alts in data.get("topk", []):
            self.topk_log[tuple(key)] = [(int(t), float(lp)) for t, lp in alts]
        for key, ids, text, steps in data.get("rollouts", []):
            alts = [[(int(t), float(lp)) for t, lp in step] for step in steps]
            self.rollout_log[tuple(key)] = ([int(i) for i in ids], str(text), alts)
        for t, text in data.get("texts", []):
            self.model.texts.setdefault(int(t), str(text))


class PGTDOptimizer(Optimizer):
    """PG-TD over the run's LLM client for a `code` task (Python) or an `mpi` task (C++).

    Args:
        ctx: the run context: a `code` task (one problem) or an `mpi` task.
        settings: `PGTDSettings` or its dict.
        sandbox: where the public tests run (default: the run's sandbox, ``ctx.open_sandbox``,
            unless ``settings.sandbox`` names another; else opened from the task's section).
    """

    name = "pgtd"

    def __init__(
        self,
        ctx: RunContext,
        settings: PGTDSettings | dict[str, Any] | None = None,
        *,
        sandbox: Any = None,
    ) -> None:
        self.ctx = ctx
        self.settings = PGTDSettings.model_validate(settings or {})
        self.view = problem_view(ctx.task, "pgtd")
        self.problem = getattr(self.view, "problem", None)
        self.language = self.view.language
        self.prompt_version = PROMPT_VERSION_CPP if self.language == "cpp" else PROMPT_VERSION
        self._sandbox = sandbox
        self._own_sandbox = sandbox is None
        self.search: PGTDSearch | None = None
        self.model: TokenModel | None = None
        self.recorder: _Recorded | None = None
        self.reward: PublicReward | None = None
        self.prompt_ids: list[int] | None = None
        self.eos_ids: list[int] = []
        self.template = ""
        self.stopped: str | None = None
        self.count = 0
        self.proposed: dict[str, str] = {}  # program key -> candidate id
        self.scores: dict[str, dict[str, float]] = {}  # candidate id -> the loop's scores
        self._saved_rewards: dict[str, float] = {}
        self._replay: dict[str, Any] | None = None

    # -- set-up -------------------------------------------------------------------------------
    def _sandbox_now(self) -> Any:
        if self._sandbox is None and self.settings.sandbox is None and self.ctx.open_sandbox:
            self._sandbox = self.ctx.open_sandbox()  # the run's: the run closes it
            self._own_sandbox = False
        if self._sandbox is None:
            config = self.settings.sandbox
            if config is None and isinstance(self.ctx.task, ProvidesSandboxConfig):
                config = self.ctx.task.sandbox_config
            if config is None:
                config = "auto"
            self._sandbox = open_sandbox(config)
        return self._sandbox

    def _reward(self, text: str) -> float:
        key = program_key(text)
        if key in self._saved_rewards:  # replaying a saved search: no sandbox run
            return self._saved_rewards[key]
        assert self.reward is not None
        if self.reward.sandbox is None:
            self.reward.sandbox = self._sandbox_now()
        return self.reward(text)

    def _start(self) -> PGTDSearch:
        """Build the prompt, the adapters and the search (first `propose`, or a resume)."""
        if self.search is not None:
            return self.search
        s = self.settings
        llm = self.ctx.llm()
        prefill = self.view.prompt if s.prefill_signature else ""
        if prefill and not prefill.endswith("\n"):
            prefill += "\n"
        view = self.view

        def assemble(generated: str) -> str:  # the `sample` path's program of the same code
            return assemble_program(view, prefill, generated)

        model = TokenModel(
            llm, prefill=prefill, logprobs=s.width, horizon=s.horizon, assemble=assemble
        )
        if self.prompt_ids is None:
            messages = chat_messages(self.view.prompt, self.language)
            text, self.template = apply_chat_template(llm, messages)
            text += assistant_prefix(
                self.view.prompt, prefill_signature=s.prefill_signature, language=self.language
            )
            self.prompt_ids = model.prompt_ids(text)
            self.eos_ids = find_eos_ids(llm)
            if not self.eos_ids:
                log.warning("pgtd: no EOS token id found; programs end at the fence or horizon")
        model.prompt_len = len(self.prompt_ids)
        model.eos_ids = list(self.eos_ids)
        self.model = model
        self.recorder = _Recorded(model, len(self.prompt_ids))
        timeout = float(getattr(self.ctx.task, "test_timeout_s", 5.0))
        # the public pass rate (`code`) or the share of rank counts that validated (`mpi`)
        self.reward = PublicReward(self.view, None, test_timeout_s=timeout)
        self.search = PGTDSearch(
            self.prompt_ids,
            topk=self.recorder.topk,
            rollout=self.recorder.rollout,
            reward=self._reward,
            eos_ids=self.eos_ids,
            decode=model.decode,
            stop=model.is_stop,
            width=s.width,
            horizon=s.horizon,
            max_simulations=0,
            max_calls=s.max_calls,
            early_stop=s.early_stop,
            c=s.c,
            base=s.base,
        )
        if self._replay is not None:
            self._replay_search(self._replay)
            self._replay = None
        elif not self.recorder.topk_log:
            # one top-k call at the prompt fails in one line on a chat-only endpoint; the
            # search then finds its answer in the log (and counts it as its first call)
            self.recorder.topk_log[()] = [(t, _lp(lp)) for t, lp in model.check(self.prompt_ids)]
        return self.search

    def _replay_search(self, saved: dict[str, Any]) -> None:
        assert self.search is not None and self.recorder is not None
        self.recorder.load(saved.get("answers", {}))
        self._saved_rewards = {str(k): float(v) for k, v in saved.get("rewards", {}).items()}
        self.search.max_simulations = int(saved.get("simulations", 0))
        self.search.run()
        self._saved_rewards = {}

    # -- the loop's calls -----------------------------------------------------------------------
    def propose(self, n: int) -> list[Candidate]:
        """Search until `n` unseen programs exist (or the search ends); propose the best."""
        if n <= 0:
            return []
        search = self._start()
        while self.stopped is None and len(self._unproposed()) < n:
            search.max_simulations = min(
                search.counters.simulations + 1, self.settings.max_simulations
            )
            result = search.run()
            if result.stopped != "simulations" or result.counters.simulations >= (
                self.settings.max_simulations
            ):
                self.stopped = result.stopped
        out = []
        for prog in self._unproposed()[:n]:
            cid = f"g{self.count:05d}"
            self.count += 1
            self.proposed[program_key(prog.text)] = cid
            meta = {
                "generator": "pgtd",
                "prompt_version": self.prompt_version,
                "template": self.template,
                "public_reward": prog.reward,
                "program_order": prog.order,
                "search": search.counters.to_dict(),
            }
            out.append(Candidate(id=cid, payload=self.view.payload(prog.text), meta=meta))
        return out

    def _unproposed(self) -> list[Program]:
        if self.search is None:
            return []
        progs = [p for k, p in self.search.tree.programs.items() if k not in self.proposed]
        return sorted(progs, key=lambda p: (-p.reward, p.order))

    def observe(self, evaluations: list[Evaluation]) -> None:
        """Remember the loop's scores (public and hidden) of each program (idempotent)."""
        for e in evaluations:
            self.scores[e.candidate_id] = {k: float(v) for k, v in e.scores.items()}

    # -- state --------------------------------------------------------------------------------
    def state(self) -> dict[str, Any]:
        """Counters, programs, proposals, scores and the recorded model answers (JSON)."""
        data: dict[str, Any] = {
            "prompt_version": self.prompt_version,
            "count": self.count,
            "proposed": dict(self.proposed),
            "scores": dict(self.scores),
            "stopped": self.stopped,
            "prompt_ids": self.prompt_ids,
            "eos_ids": list(self.eos_ids),
            "template": self.template,
        }
        if self.search is None:
            return {**data, "search": self._replay}
        tree = self.search.tree
        assert self.recorder is not None and self.model is not None
        answers = self.recorder.to_dict()
        answers["texts"] = [[t, s] for t, s in self.model.texts.items()]
        data["search"] = {
            "simulations": self.search.counters.simulations,
            "counters": self.search.counters.to_dict(),
            "rewards": dict(tree.reward_cache),
            "programs": [
                {"text": p.text, "reward": p.reward, "order": p.order}
                for p in sorted(tree.programs.values(), key=lambda p: p.order)
            ],
            "answers": answers,
        }
        return data

    def load_state(self, state: dict[str, Any]) -> None:
        """Restore; the tree is rebuilt on the next `propose` by replaying the saved answers."""
        self.count = int(state.get("count", 0))
        self.proposed = {str(k): str(v) for k, v in state.get("proposed", {}).items()}
        self.scores = {str(k): dict(v) for k, v in state.get("scores", {}).items()}
        self.stopped = state.get("stopped")
        ids = state.get("prompt_ids")
        self.prompt_ids = None if ids is None else [int(i) for i in ids]
        self.eos_ids = [int(i) for i in state.get("eos_ids", [])]
        self.template = str(state.get("template", ""))
        self.search = None
        self._replay = state.get("search")

    def close(self) -> None:
        """Close the sandbox this optimizer opened."""
        if self._own_sandbox and self._sandbox is not None:
            self._sandbox.close()
            self._sandbox = None
