"""Instruction-stage strategies: APE, OPRO and ProTeGi proposal rules.

Each strategy turns the scored history into the next batch of instructions (`Proposal`s) and
makes exactly the optimizer-model calls `workbench.optimizers.prompt.budget.project_calls`
projects: one call per APE/OPRO proposal; per expanded ProTeGi prompt
``ceil(edits / edits_per_gradient)`` gradient calls, ``edits`` edit calls and one minibatch run
on training examples. A model answer with no instruction in it is counted (`parse_failures`) and
replaced by the parent instruction, so every planned evaluation still happens.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from workbench.optimizers.prompt import prompts
from workbench.optimizers.prompt.budget import ApeSettings, OproSettings, ProtegiSettings

__all__ = ["ApeStage", "InstructionStage", "OproStage", "Proposal", "ProtegiStage", "Record"]

Chat = Callable[[list[dict[str, str]], float, int], str]
"""``chat(messages, temperature, seed) -> text``: one optimizer-model call."""


@dataclass
class Record:
    """One evaluated prompt (JSON via `vars`)."""

    id: str
    instruction: str
    exemplars: list[dict[str, str]]
    score: float
    stage: str
    order: int


@dataclass
class Proposal:
    """An instruction to evaluate, with its parents and bookkeeping."""

    instruction: str
    parents: list[str] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)


class InstructionStage:
    """Base: `left` proposals remain; `next_batch` returns the next step's proposals.

    Attributes:
        independent: True when proposals do not depend on scores (they may be made ahead).
        parse_failures: answers without an instruction.
    """

    name = "none"
    independent = True

    def __init__(self, settings: Any, budget: int, task: Any, chat: Chat, rng: random.Random):
        self.settings = settings
        self.left = budget - 1
        self.task = task
        self.chat = chat
        self.rng = rng
        self.parse_failures = 0

    def next_batch(self, records: list[Record]) -> list[Proposal]:
        """Proposals of the next step (empty when the stage is done)."""
        return []

    def _ask(self, messages: list[dict[str, str]], temperature: float, fallback: str) -> Proposal:
        raw = self.chat(messages, temperature, self.rng.randrange(2**31))
        found = prompts.parse_instruction(raw)
        if found is None:
            self.parse_failures += 1
            return Proposal(fallback, meta={"parse_failed": True, "raw": raw[:500]})
        return Proposal(found)

    def state(self) -> dict[str, Any]:
        """JSON of the counters."""
        return {"left": self.left, "parse_failures": self.parse_failures}

    def load_state(self, state: dict[str, Any]) -> None:
        """Inverse of `state`."""
        self.left = int(state["left"])
        self.parse_failures = int(state["parse_failures"])


def _best(records: list[Record]) -> Record:
    return max(records, key=lambda r: (r.score, -r.order))


class ApeStage(InstructionStage):
    """APE: each proposal is one call showing `demos` random training input/output pairs."""

    name = "ape"

    def __init__(self, settings: ApeSettings, budget: int, *args: Any) -> None:
        super().__init__(settings, budget, *args)
        self.left = min(settings.num_candidates or budget - 1, budget - 1)
        self.demo_idx: list[int] | None = None  # drawn once with ``fixed_demos``

    def next_batch(self, records: list[Record]) -> list[Proposal]:
        """One proposal."""
        if self.left <= 0:
            return []
        train = self.task.splits.train or self.task.splits.val
        if self.demo_idx is None or not self.settings.fixed_demos:
            self.demo_idx = self.rng.sample(range(len(train)), min(self.settings.demos, len(train)))
        demos = [train[i] for i in self.demo_idx]
        p = self._ask(
            prompts.ape_messages([(d.input, d.target) for d in demos]),
            self.settings.temperature,
            records[0].instruction,
        )
        p.parents = [records[0].id]
        self.left -= 1
        return [p]

    def state(self) -> dict[str, Any]:
        """Counters and the fixed demonstrations."""
        return {**super().state(), "demo_idx": self.demo_idx}

    def load_state(self, state: dict[str, Any]) -> None:
        """Inverse of `state`."""
        super().load_state(state)
        self.demo_idx = state.get("demo_idx")


class OproStage(InstructionStage):
    """OPRO: each step, `candidates_per_step` calls on one meta-prompt (history ascending)."""

    name = "opro"
    independent = False

    def __init__(self, settings: OproSettings, budget: int, *args: Any) -> None:
        super().__init__(settings, budget, *args)
        steps = settings.steps or math.ceil((budget - 1) / settings.candidates_per_step)
        self.left = min(steps * settings.candidates_per_step, budget - 1)

    @staticmethod
    def history(records: list[Record], size: int) -> list[Record]:
        """The `size` best distinct instructions, in ascending order of score (ties: older
        first shown lower)."""
        best: dict[str, Record] = {}
        for r in records:
            if r.instruction not in best or r.score > best[r.instruction].score:
                best[r.instruction] = r
        ranked = sorted(best.values(), key=lambda r: (r.score, -r.order))
        return ranked[-size:]

    def next_batch(self, records: list[Record]) -> list[Proposal]:
        """One step: up to `candidates_per_step` proposals from the same meta-prompt."""
        if self.left <= 0:
            return []
        shown = self.history(records, self.settings.history)
        train = self.task.splits.train or self.task.splits.val
        demos = self.rng.sample(train, min(self.settings.demos, len(train)))
        messages = prompts.opro_messages(
            [(r.instruction, r.score) for r in shown], [(d.input, d.target) for d in demos]
        )
        out = []
        for _ in range(min(self.settings.candidates_per_step, self.left)):
            p = self._ask(messages, self.settings.temperature, shown[-1].instruction)
            p.parents = [r.id for r in shown]
            out.append(p)
        self.left -= len(out)
        return out


class ProtegiStage(InstructionStage):
    """ProTeGi: expand each beam prompt with textual gradients from minibatch errors."""

    name = "protegi"
    independent = False

    def __init__(self, settings: ProtegiSettings, budget: int, *args: Any) -> None:
        super().__init__(settings, budget, *args)
        self.rounds = 0
        self.minibatch_calls = 0

    def _errors(self, record: Record) -> list[tuple[str, str, str]]:
        train = self.task.splits.train or self.task.splits.val
        batch = self.rng.sample(train, min(self.settings.minibatch, len(train)))
        payload = {"instruction": record.instruction, "exemplars": record.exemplars}
        results = self.task.run(payload, batch)
        self.minibatch_calls += len(batch)
        wrong = [r for r in results if not r.correct] or results  # none wrong: the weakest
        return [(r.input, r.output, r.target) for r in wrong[: self.settings.errors_shown]]

    def next_batch(self, records: list[Record]) -> list[Proposal]:
        """One round: for each of the `beam` best prompts, gradients then edits."""
        s = self.settings
        if self.left <= 0 or (s.rounds is not None and self.rounds >= s.rounds):
            return []
        self.rounds += 1
        ranked = sorted(records, key=lambda r: (-r.score, r.order))
        out: list[Proposal] = []
        for parent in ranked[: min(s.beam, len(records))]:
            if self.left == 0:
                break
            edits = min(s.gradients * s.edits_per_gradient, self.left)
            errors = self._errors(parent)
            made = 0
            for g in range(math.ceil(edits / s.edits_per_gradient)):
                gradient = self.chat(
                    prompts.gradient_messages(parent.instruction, errors),
                    1.0,
                    self.rng.randrange(2**31),
                ).strip()
                for _ in range(min(s.edits_per_gradient, edits - made)):
                    p = self._ask(
                        prompts.edit_messages(parent.instruction, errors, gradient),
                        1.0,
                        parent.instruction,
                    )
                    p.parents = [parent.id]
                    p.meta.update(round=self.rounds, gradient=gradient[:500], gradient_index=g)
                    out.append(p)
                    made += 1
            self.left -= edits
        return out

    def state(self) -> dict[str, Any]:
        """Counters, rounds and minibatch calls."""
        return {**super().state(), "rounds": self.rounds, "minibatch_calls": self.minibatch_calls}

    def load_state(self, state: dict[str, Any]) -> None:
        """Inverse of `state`."""
        super().load_state(state)
        self.rounds = int(state["rounds"])
        self.minibatch_calls = int(state["minibatch_calls"])


STAGES: dict[str, type[InstructionStage]] = {
    "none": InstructionStage,
    "ape": ApeStage,
    "opro": OproStage,
    "protegi": ProtegiStage,
}
