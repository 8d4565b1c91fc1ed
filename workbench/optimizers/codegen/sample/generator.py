"""The `sample` generator: n samples at a temperature, the best by public tests; then repair.

Each round asks the model for `samples` programs (greedy when ``temperature: 0`` and
``samples: 1``). The loop evaluates them on the public tests; if none passes them all, the next
round shows the model the best program so far with its failing tests and asks for a fix. Once a
program passes every public test the generator stops proposing (the run ends). A reply without
usable code is counted (``bad_answers``) and its parse error is what the next round shows.

A repair is evaluated only when it is new: a repair reply that repeats a program already
proposed (the same code up to blank lines and indentation; a greedy model asked to repair the
same program often answers it unchanged) is counted (``repeats``), not evaluated, and the
next round tells the model so, at ``repeat_temperature`` at least. (The samples of a solve
round are all evaluated: pass@k counts every draw.)
"""

from __future__ import annotations

import logging
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from workbench.contracts import Candidate, Evaluation
from workbench.optimizers.base import Optimizer, RunContext
from workbench.optimizers.codegen.codetree import extract_code
from workbench.optimizers.codegen.sample.common import calls_left, program_key, track_best
from workbench.optimizers.codegen.sample.prompts import (
    prompt_version,
    repair_messages,
    solve_messages,
)
from workbench.optimizers.codegen.view import problem_view
from workbench.quantities import Count, NonNegative

__all__ = ["SampleOptimizer", "SampleSettings"]

log = logging.getLogger(__name__)


class SampleSettings(BaseModel):
    """`optimizer.settings` of `sample`."""

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)

    samples: Count = Field(1, le=64)
    """Programs asked for per round (one chat call with that many samples)."""
    temperature: NonNegative = Field(0.0, le=2.0)
    """Sampling temperature of a round (0 with ``samples: 1``: greedy)."""
    repair: bool = True
    """After a round with no program passing every public test, ask the model to fix the best
    one so far (or, if no reply held code, the last reply)."""
    repair_temperature: NonNegative | None = Field(None, le=2.0)
    """Sampling temperature of a repair round; None: `temperature`."""
    max_rounds: Count | None = None
    """Rounds at most; None: until the run's budget ends."""
    max_tokens: Count = Field(512, ge=16, le=8192)
    """Answer length limit per call, in tokens."""
    attempts: Count = Field(2, le=10)
    """Rounds tried in a row while replies hold no new code; then the last reply without code
    is proposed as it is (its fenced code, if any), so that its error reaches the model as
    feedback."""
    repeat_temperature: NonNegative = Field(0.7, le=2.0)
    """Sampling temperature, at least, of the round after a reply that repeated a program
    already proposed."""


class SampleOptimizer(Optimizer):
    """Baseline code generator; see the module docstring.

    Args:
        ctx: the run context (its task must be a `code` or an `mpi` task).
        settings: `SampleSettings` or its dict.
    """

    name = "sample"

    def __init__(self, ctx: RunContext, settings: SampleSettings | dict[str, Any]) -> None:
        self.ctx = ctx
        self.settings = SampleSettings.model_validate(settings)
        self.view = problem_view(ctx.task, self.name)
        self.prompt_version = prompt_version(self.view.language)
        self.count = 0
        self.round = 0
        self.queue: list[dict[str, Any]] = []
        self.codes: dict[str, str] = {}  # proposed, not yet observed
        self.best: dict[str, Any] | None = None  # id, code, score, feedback
        self.last_bad: dict[str, str] | None = None  # reply, error
        self.solved = False
        self.bad_answers = 0
        self.tried: dict[str, str] = {}  # normalized code -> the candidate that proposed it
        self.repeats = 0
        self.repeated: str | None = None  # the candidate the last round's reply repeated

    # -- model calls ---------------------------------------------------------------------------
    def _round(self) -> list[dict[str, Any]]:
        """One model call of `samples` programs; bad replies are counted and remembered."""
        s = self.settings
        repair = s.repair and (self.best is not None or self.last_bad is not None)
        repeated, self.repeated = self.repeated, None
        note = (
            f"\nYour last answer was the same program as {repeated}, which was already "
            "tested. Do not repeat it: change the code."
            if repeated is not None
            else ""
        )
        if repair and self.best is not None:
            messages = repair_messages(self.view, self.best["code"], self.best["feedback"] + note)
        elif repair and self.last_bad is not None:
            messages = repair_messages(
                self.view, self.last_bad["reply"], self.last_bad["error"] + note
            )
        else:
            messages = solve_messages(self.view)
        temperature = s.temperature
        if repair and s.repair_temperature is not None:
            temperature = s.repair_temperature
        if repeated is not None:
            temperature = max(temperature, s.repeat_temperature)
        left = calls_left(self.ctx)
        k = s.samples if left is None else max(min(s.samples, left), 1)  # 0 left: the call raises
        seed = (self.ctx.seed or 0) + 1000 * self.round
        self.round += 1
        replies = self.ctx.llm().chat(
            messages, n=k, temperature=temperature, seed=seed, max_tokens=s.max_tokens
        )
        out: list[dict[str, Any]] = []
        for i, reply in enumerate(replies.texts):
            program = self.view.extract(reply)
            if program.code is None:
                self.bad_answers += 1
                self.last_bad = {"reply": reply, "error": program.error or "no code"}
                log.info("sample: bad answer %d (%s)", self.bad_answers, program.error)
                continue
            # a repair that gives back a program already tried is not run again (the samples
            # of a solve round all count: pass@k needs each draw, agreeing or not)
            earlier = self.tried.get(program_key(program.code)) if repair else None
            if earlier is not None:
                self.repeats += 1
                self.repeated = earlier
                log.info("sample: reply repeats %s (%d repeats)", earlier, self.repeats)
                continue
            meta = {
                "generator": self.name,
                "prompt_version": self.prompt_version,
                "round": self.round - 1,
                "sample": i,
                "mode": "repair" if repair else "solve",
                "temperature": temperature,
                "bad_answers": self.bad_answers,
                "repeats": self.repeats,
            }
            parents = [self.best["id"]] if repair and self.best is not None else []
            out.append({"code": program.code, "meta": meta, "parents": parents})
        return out

    # -- Optimizer --------------------------------------------------------------------------------
    def propose(self, n: int) -> list[Candidate]:
        """Up to `n` programs: queued samples first, else a new (repair) round."""
        if self.solved or n <= 0:
            return []
        attempts = 0
        while not self.queue:
            if self.settings.max_rounds is not None and self.round >= self.settings.max_rounds:
                return []
            if attempts >= self.settings.attempts:
                if self.last_bad is None:
                    return []
                # nothing parsed: let the harness judge the raw reply (its error is feedback)
                reply = self.last_bad["reply"]
                self.queue.append(
                    {
                        # the fenced code, else the reply: no markdown reaches a compiler
                        "code": extract_code(reply, self.view.language) or reply,
                        "meta": {
                            "generator": self.name,
                            "prompt_version": self.prompt_version,
                            "round": self.round - 1,
                            "mode": "unparsed",
                            "bad_answers": self.bad_answers,
                        },
                        "parents": [],
                    }
                )
                break
            attempts += 1
            self.queue.extend(self._round())
        out = []
        for item in self.queue[:n]:
            cid = f"s{self.count:04d}"
            self.count += 1
            self.codes[cid] = item["code"]
            self.tried.setdefault(program_key(item["code"]), cid)
            out.append(
                Candidate(
                    id=cid,
                    payload=self.view.payload(item["code"]),
                    parent_ids=item["parents"],
                    meta=item["meta"],
                )
            )
        self.queue = self.queue[n:]
        return out

    def observe(self, evaluations: list[Evaluation]) -> None:
        """Keep the best program by public pass rate; stop once one passes every public test."""
        self.best, solved = track_best(self.best, self.codes, evaluations)
        self.solved = self.solved or solved

    def state(self) -> dict[str, Any]:
        """Counters, the queue, the best program so far (JSON)."""
        return {
            "prompt_version": self.prompt_version,
            "count": self.count,
            "round": self.round,
            "queue": self.queue,
            "codes": self.codes,
            "best": self.best,
            "last_bad": self.last_bad,
            "solved": self.solved,
            "bad_answers": self.bad_answers,
            "tried": self.tried,
            "repeats": self.repeats,
            "repeated": self.repeated,
        }

    def load_state(self, state: dict[str, Any]) -> None:
        """Inverse of `state`."""
        self.count = int(state.get("count", 0))
        self.round = int(state.get("round", 0))
        self.queue = list(state.get("queue", []))
        self.codes = dict(state.get("codes", {}))
        self.best = state.get("best")
        self.last_bad = state.get("last_bad")
        self.solved = bool(state.get("solved", False))
        self.bad_answers = int(state.get("bad_answers", 0))
        self.tried = dict(state.get("tried", {}))
        self.repeats = int(state.get("repeats", 0))
        self.repeated = state.get("repeated")
