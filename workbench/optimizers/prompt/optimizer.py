"""`PromptOptimizer`: instruction stage, exemplar stage and report, on the one loop.

Phases: ``seed`` (the task's seed instruction, zero-shot) -> ``instruction`` (APE / OPRO /
ProTeGi proposals, zero-shot) -> ``exemplars`` (a selector over the pool harvested from the
correct validation outputs of the first two phases, with the best instruction fixed; or TPE over
(instruction, exemplar set) pairs) -> ``report`` (heuristic selectors' final prompt is scored
once on validation) -> done (`propose` returns nothing and the loop stops). Every proposal is one
prompt evaluation on the validation set: the budget unit of all methods.

The final prompt (`final`) is the report candidate for heuristic selectors, else the best
validation score of the run.

With ``racing`` (`RaceSettings`) the budget is validation example-evaluations: new candidates
are screened on the first ``screen`` validation examples (payload ``val``), and a
``race:<stage>`` phase after each stage promotes the best ones rung by rung (`Race`); the stage
winner and the final prompt are the best prompts scored on the whole split.

The projected calls (`projection`) go into the first proposal's meta (so into events.jsonl),
with `PROMPT_VERSION`; the exemplar stage re-projects once the pool size is known (meta of its
first proposal).
"""

from __future__ import annotations

import random
from typing import Any, ClassVar

from workbench.contracts import Candidate, Evaluation
from workbench.errors import ConfigError
from workbench.optimizers.base import Optimizer, RunContext
from workbench.optimizers.prompt.exemplar_stage import SelectorStage, TpeStage
from workbench.optimizers.prompt.exemplars import Exemplar, ExemplarPool
from workbench.optimizers.prompt.instruction import STAGES, InstructionStage, Record
from workbench.optimizers.prompt.prompts import PROMPT_VERSION
from workbench.optimizers.prompt.race import Race
from workbench.optimizers.prompt.settings import Plan, make_plan, project_plan
from workbench.tasks.prompt.kind import PromptTask

__all__ = ["PromptOptimizer"]

_PHASES = (
    "seed",
    "instruction",
    "race:instruction",
    "exemplars",
    "race:exemplars",
    "report",
    "done",
)


class PromptOptimizer(Optimizer):
    """One class behind ``ape``, ``opro``, ``protegi``, ``exemplars`` and ``joint``.

    Args:
        ctx: the run's context; ``ctx.task`` must be a `PromptTask`.
        method: the registered name.
        settings: ``optimizer.settings`` (see `workbench.optimizers.prompt.settings`).
    """

    name: ClassVar[str] = "prompt"

    def __init__(self, ctx: RunContext, method: str, settings: dict[str, Any]) -> None:
        task = ctx.task
        if not isinstance(task, PromptTask):
            raise ConfigError(f"optimizer {method!r} needs a task of kind 'prompt'")
        self.ctx, self.task, self.method = ctx, task, method
        self.val_size = len(task.splits.val)
        self.spec: Plan = make_plan(method, settings, task.evaluations, self.val_size)
        seed = ctx.seed if ctx.seed is not None else 0
        self.seed = seed
        self.rng = random.Random(seed)
        self.phase = "seed"
        self.count = 0
        self.records: list[Record] = []
        self.proposed: dict[str, dict[str, Any]] = {}
        self.queue: list[dict[str, Any]] = []
        self.pool = ExemplarPool()
        self.pool.add_examples(task.splits.train)
        self.pool_frozen: list[Exemplar] = []
        self.stage: InstructionStage = self._make_stage()
        self.selector: SelectorStage | None = None
        self.tpe: TpeStage | None = None
        self.final_id: str | None = None
        self.projection = self._project()
        loop_evals = self.projection.val_evaluations + self.projection.report_evaluations
        if self.spec.racing is not None and (task.evaluations or loop_evals) < loop_evals:
            raise ConfigError(
                f"budget.evaluations={task.evaluations} stops the loop before the "
                f"{loop_evals} prompt evaluations (screens and promotions) that "
                f"racing.examples={self.spec.racing.examples} pays for; raise it to "
                f"{loop_evals} or more (the racing budget stops the run)"
            )
        self.exemplar_projection: dict[str, Any] | None = None
        self.race = Race(self.val_size, self.spec.racing)

    # -- helpers ------------------------------------------------------------------------------
    def _project(self, pool_size: int | None = None) -> Any:
        s = self.task.splits
        return project_plan(
            self.spec,
            val_size=len(s.val),
            test_size=len(s.test),
            train_size=len(s.train or s.val),
            pool_size=pool_size,
        )

    def _chat(self, messages: list[dict[str, str]], temperature: float, seed: int) -> str:
        result = self.ctx.llm().chat(
            messages, temperature=temperature, seed=seed, max_tokens=self.spec.max_tokens
        )
        return result.texts[0] if result.texts else ""

    def _make_stage(self) -> InstructionStage:
        cls = STAGES[self.spec.instruction]
        return cls(
            self.spec.instruction_settings, self.spec.budget, self.task, self._chat, self.rng
        )

    def _pending(self) -> list[str]:
        done = {r.id for r in self.records}
        return [cid for cid in self.proposed if cid not in done]

    def _item(self, instruction: str, exemplars: Any, stage: str, **meta: Any) -> dict[str, Any]:
        item = self._plain_item(instruction, exemplars, stage, **meta)
        r = self.spec.racing
        if r is not None and stage in ("instruction", "exemplars"):
            item["payload"]["val"] = list(range(min(r.screen, self.val_size)))
        return item

    def _plain_item(
        self, instruction: str, exemplars: Any, stage: str, **meta: Any
    ) -> dict[str, Any]:
        if isinstance(exemplars, dict):  # per-input rule (nearest)
            payload = {
                "instruction": instruction,
                "exemplars": [e.to_dict() for e in exemplars["exemplars"]],
                "selection": exemplars["selection"],
                "k": exemplars["k"],
            }
        else:
            payload = {
                "instruction": instruction,
                "exemplars": [e.to_dict() if isinstance(e, Exemplar) else e for e in exemplars],
            }
        return {"payload": payload, "stage": stage, "meta": meta}

    def _best_instruction_record(self) -> Record:
        return self.race.best([r for r in self.records if r.stage in ("seed", "instruction")])

    def _stage_records(self) -> list[Record]:
        return [r for r in self.records if r.stage in ("seed", "instruction")]

    # -- phases -------------------------------------------------------------------------------
    def _start_exemplars(self) -> None:
        k = getattr(self.spec.selector_settings, "k", self.task.section.k)
        self.pool_frozen = self.pool.candidates(min_size=k, source=self.spec.source)  # type: ignore[arg-type]
        self.exemplar_projection = self._project(len(self.pool_frozen)).to_dict()
        if self.spec.search == "tpe":
            ranked: list[Record] = []
            pool = [r for r in self.records if r.stage != "race"]
            for r in sorted(pool, key=lambda r: (-self.race.score(r), r.order)):
                if r.instruction not in {x.instruction for x in ranked}:
                    ranked.append(r)
            kept = ranked[: self.spec.instructions_kept]
            n, size = len(self.pool_frozen), min(k, len(self.pool_frozen))
            sets: list[list[int]] = [[]]
            for _ in range(self.spec.sets * 20):
                if len(sets) > self.spec.sets or size == 0:
                    break
                cand = self.rng.sample(range(n), size)
                if cand not in sets:
                    sets.append(cand)
            known = {(i, 0): self.race.score(r) for i, r in enumerate(kept)}
            self.tpe = TpeStage(
                [r.instruction for r in kept], sets, self.seed, self.spec.exemplar_budget, known
            )
        elif self.spec.selector != "none":
            self.selector = SelectorStage(
                self.spec.selector,
                self.pool_frozen,
                self.spec.selector_settings,
                self.seed,
                self.spec.exemplar_budget,
            )

    def _next_items(self, n: int) -> list[dict[str, Any]]:
        """Up to `n` items of the current phase (advancing phases when one is finished)."""
        while True:
            items = self._phase_items(n)
            if items or self._pending() or self.phase == "done":
                return items
            self.phase = _PHASES[_PHASES.index(self.phase) + 1]
            if self.phase == "exemplars":
                self._start_exemplars()

    def _phase_items(self, n: int) -> list[dict[str, Any]]:
        if self.phase == "seed":
            if self.proposed:
                return []
            return [self._item(self.task.section.instruction, [], "seed")]
        if self.phase == "instruction":
            out = self.queue[:n]
            self.queue = self.queue[n:]
            while len(out) < n and (self.stage.independent or (not self._pending() and not out)):
                batch = self.stage.next_batch(self._stage_records())
                if not batch:
                    break
                items = [
                    self._item(p.instruction, [], "instruction", parents=p.parents, **p.meta)
                    for p in batch
                ]
                take = n - len(out)
                out.extend(items[:take])
                self.queue.extend(items[take:])
            return out
        if self.phase == "exemplars":
            return self._exemplar_items(n)
        if self.phase.startswith("race:"):
            return self._race_items(self.phase.removeprefix("race:"), n)
        if self.phase == "report":
            if self.selector is None or self.selector.search or self.final_id is not None:
                return []
            if any(p["stage"] == "report" for p in self.proposed.values()):
                return []
            best = self._best_instruction_record()
            return [self._item(best.instruction, self.selector.final(), "report")]
        return []

    def _race_items(self, stage: str, n: int) -> list[dict[str, Any]]:
        """The next rung of `stage`'s race (see the module docstring), `n` at a time."""
        out = self.queue[:n]
        self.queue = self.queue[n:]
        if out or self._pending():
            return out
        arms = [rec for rec in self.records if rec.stage == stage]
        items = self.race.next_rung(stage, arms, lambda cid: self.proposed[cid]["payload"])
        self.queue = items[n:]
        return items[:n]

    def _exemplar_items(self, n: int) -> list[dict[str, Any]]:
        if self.tpe is not None:
            out = []
            if self._pending():
                return []
            pair = self.tpe.next_pair(self.rng)
            if pair is not None:
                i, j = pair
                shots = [self.pool_frozen[x] for x in self.tpe.sets[j]]
                out.append(self._item(self.tpe.instructions[i], shots, "exemplars", pair=[i, j]))
            return out
        if self.selector is None or not self.selector.search:
            return []
        pending = {
            tuple(self.proposed[c]["meta"]["set"])
            for c in self._pending()
            if self.proposed[c]["stage"] == "exemplars"
        }
        best = self._best_instruction_record()
        return [
            self._item(
                best.instruction, [self.pool_frozen[i] for i in idx], "exemplars", set=list(idx)
            )
            for idx in self.selector.next_sets(n, pending)
        ]

    # -- Optimizer API ------------------------------------------------------------------------
    def propose(self, n: int) -> list[Candidate]:
        """The next candidates (empty when the plan is spent, or when asked for none)."""
        if n <= 0:
            return []
        out = []
        for item in self._next_items(n):
            cid = f"p{self.count:04d}"
            self.count += 1
            meta = {"stage": item["stage"], "method": self.method, **item["meta"]}
            if self.count == 1:
                meta.update(projection=self.projection.to_dict(), prompt_version=PROMPT_VERSION)
                meta["plan"] = self.spec.to_dict()
            first_es = not any(p["stage"] == "exemplars" for p in self.proposed.values())
            if item["stage"] == "exemplars" and self.exemplar_projection is not None and first_es:
                meta["projection_with_pool"] = self.exemplar_projection
            parents = list(meta.pop("parents", []))
            self.proposed[cid] = {"payload": item["payload"], **item}
            out.append(Candidate(id=cid, payload=item["payload"], parent_ids=parents, meta=meta))
        return out

    def observe(self, evaluations: list[Evaluation]) -> None:
        """Record scores; harvest correct outputs of seed/instruction runs into the pool."""
        seen = {r.id for r in self.records}
        for ev in evaluations:
            info = self.proposed.get(ev.candidate_id)
            if info is None or ev.candidate_id in seen:
                continue
            score = ev.score if ev.score is not None else 0.0
            payload = info["payload"]
            arm = info["meta"].get("arm", ev.candidate_id)
            self.race.observe(arm, ev.tests)
            self.records.append(
                Record(
                    ev.candidate_id,
                    payload["instruction"],
                    payload["exemplars"],
                    score,
                    info["stage"],
                    len(self.records),
                )
            )
            if info["stage"] in ("seed", "instruction"):
                for t in ev.tests:
                    if {"input", "output", "target"} <= t.keys():
                        self.pool.add(t["input"], t["output"], t["target"], self.task.scorer)
            elif info["stage"] == "exemplars" and self.tpe is not None:
                self.tpe.observe(tuple(info["meta"]["pair"]), score)  # type: ignore[arg-type]
            elif info["stage"] == "exemplars" and self.selector is not None:
                self.selector.observe(tuple(info["meta"]["set"]), score)
            elif info["stage"] == "report":
                self.final_id = ev.candidate_id

    # -- results ------------------------------------------------------------------------------
    def final(self) -> Record | None:
        """The run's final prompt (see the module docstring); None before any evaluation."""
        if self.final_id is not None:
            return next(r for r in self.records if r.id == self.final_id)
        if not self.records:
            return None
        if self.spec.racing is not None:
            return self.race.best([r for r in self.records if r.stage != "race"])
        return max(self.records, key=lambda r: (r.score, -r.order))

    def final_payload(self) -> dict[str, Any] | None:
        """The payload of `final()` (with the per-input rule for ``nearest``)."""
        rec = self.final()
        if rec is None:
            return None
        return {k: v for k, v in self.proposed[rec.id]["payload"].items() if k != "val"}

    def final_candidate(self, best: Candidate | None) -> Candidate | None:
        """The final prompt (`final`) as a candidate: what `PromptTask.finalize` tests."""
        rec = self.final()
        if rec is None:
            return best
        payload = self.final_payload()
        assert payload is not None
        meta: dict[str, Any] = {"stage": rec.stage}
        if self.spec.racing is not None:  # the screen evaluation saw only part of the split
            meta["val_accuracy"] = self.race.score(rec)
            meta["val_examples"] = self.race.seen(rec)
        return Candidate(id=rec.id, payload=payload, meta=meta)

    def plan(self) -> dict[str, Any]:
        """The projected task-model and optimizer-model calls (`project_plan`) of this run.

        Keys: ``summary`` (one line), the `CallProjection` fields, ``method``, ``settings``
        (the stages and their budgets), and, once the exemplar stage started,
        ``projection_with_pool`` (the projection with the pool's real size).
        """
        out: dict[str, Any] = {
            "summary": f"{self.method}: {self.projection.summary()}",
            **self.projection.to_dict(),
            "method": self.method,
            "settings": self.spec.to_dict(),
        }
        if self.exemplar_projection is not None:
            out["projection_with_pool"] = self.exemplar_projection
        return out

    @property
    def val_examples(self) -> int:
        """Validation example-evaluations observed (the racing budget unit)."""
        return self.race.val_examples

    @property
    def parse_failures(self) -> int:
        """Optimizer-model answers without an instruction."""
        return self.stage.parse_failures

    @property
    def minibatch_calls(self) -> int:
        """Task-model calls on training minibatches (ProTeGi)."""
        return int(getattr(self.stage, "minibatch_calls", 0))

    # -- state --------------------------------------------------------------------------------
    def state(self) -> dict[str, Any]:
        """JSON enough to resume."""
        version, internal, gauss = self.rng.getstate()
        return {
            "phase": self.phase,
            "count": self.count,
            "records": [vars(r) for r in self.records],
            "proposed": self.proposed,
            "queue": self.queue,
            "pool": self.pool.to_dict(),
            "pool_frozen": [e.to_dict() for e in self.pool_frozen],
            "stage": self.stage.state(),
            "selector": None if self.selector is None else self.selector.state(),
            "tpe": None if self.tpe is None else self.tpe.state(),
            "final_id": self.final_id,
            "rng": [version, list(internal), gauss],
            "exemplar_projection": self.exemplar_projection,
            "race": self.race.state(),
        }

    def load_state(self, state: dict[str, Any]) -> None:
        """Inverse of `state`."""
        self.phase = state["phase"]
        self.count = int(state["count"])
        self.records = [Record(**r) for r in state["records"]]
        self.proposed = dict(state["proposed"])
        self.queue = list(state["queue"])
        self.pool = ExemplarPool.from_dict(state["pool"])
        self.pool_frozen = [Exemplar(**e) for e in state["pool_frozen"]]
        self.stage.load_state(state["stage"])
        version, internal, gauss = state["rng"]
        self.rng.setstate((version, tuple(internal), gauss))
        self.selector, self.tpe = None, None
        if state["selector"] is not None:
            self.selector = SelectorStage(
                self.spec.selector,
                self.pool_frozen,
                self.spec.selector_settings,
                self.seed,
                self.spec.exemplar_budget,
            )
            self.selector.load_state(state["selector"])
        if state["tpe"] is not None:
            self.tpe = TpeStage.from_state(state["tpe"], self.seed, self.spec.exemplar_budget)
        self.final_id = state["final_id"]
        self.exemplar_projection = state["exemplar_projection"]
        if "race" in state:
            self.race.load_state(state["race"])
