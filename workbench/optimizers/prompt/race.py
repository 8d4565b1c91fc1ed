"""`Race`: per-example validation results of a prompt-optimizer run, and its racing rungs.

Every evaluated prompt is an *arm* (a promotion belongs to the screened candidate it extends).
`Race` merges each arm's per-example results, scores arms on everything they have seen, and
gives the next rung of a stage's race (`race_rungs`: successive halving on validation examples).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from workbench.optimizers.prompt.instruction import Record
from workbench.optimizers.prompt.rungs import RaceSettings, race_rungs

__all__ = ["Race"]


class Race:
    """Arms' merged results and the rungs each stage's race has run.

    Args:
        val_size: the validation split's size.
        settings: the race settings (None: no racing; results are still merged).
    """

    def __init__(self, val_size: int, settings: RaceSettings | None) -> None:
        self.val_size, self.settings = val_size, settings
        self.results: dict[str, dict[int, bool]] = {}  # arm id -> {val index: correct}
        self.rung: dict[str, int] = {}  # stage -> next rung of its race
        self.val_examples = 0  # validation example-evaluations observed (the racing unit)

    def observe(self, arm: str, tests: list[dict[str, Any]]) -> None:
        """Merge an evaluation's per-example rows (``val_index``, ``passed``) into `arm`."""
        seen = self.results.setdefault(arm, {})
        self.val_examples += len(tests)
        for i, t in enumerate(tests):
            seen[int(t.get("val_index", i))] = bool(t.get("passed"))

    def seen(self, rec: Record) -> int:
        """Validation examples the arm of `rec` was scored on."""
        return len(self.results.get(rec.id, {}))

    def score(self, rec: Record) -> float:
        """Accuracy over every validation example the arm was scored on."""
        seen = self.results.get(rec.id)
        return sum(seen.values()) / len(seen) if seen else rec.score

    def best(self, pool: list[Record]) -> Record:
        """The best arm of `pool` (racing: among those scored on the whole split, if any);
        ties go to the earlier one."""
        if self.settings is not None:
            pool = [r for r in pool if self.seen(r) >= self.val_size] or pool
        return max(pool, key=lambda r: (self.score(r), -r.order))

    def next_rung(
        self, stage: str, arms: list[Record], payload: Callable[[str], dict[str, Any]]
    ) -> list[dict[str, Any]]:
        """The promotions of `stage`'s next rung (empty: the race is over), as proposal items:
        the arm's payload (`payload(arm id)`) with the rung's new ``val`` indices."""
        r = self.settings
        if r is None:
            return []
        rungs = race_rungs(len(arms), r.screen, self.val_size, r.eta)
        i = self.rung.get(stage, 1)
        if i >= len(rungs):
            return []
        self.rung[stage] = i + 1
        (seen, _), (size, count) = rungs[i - 1], rungs[i]
        ranked = sorted(
            (a for a in arms if self.seen(a) >= seen), key=lambda a: (-self.score(a), a.order)
        )
        items = []
        for arm in ranked[:count]:
            body = {k: v for k, v in payload(arm.id).items() if k != "val"}
            body["val"] = list(range(seen, size))
            items.append({"payload": body, "stage": "race", "meta": {"arm": arm.id, "rung": i}})
        return items

    def state(self) -> dict[str, Any]:
        """JSON."""
        return {
            "results": {a: [[i, c] for i, c in r.items()] for a, r in self.results.items()},
            "rung": self.rung,
            "val_examples": self.val_examples,
        }

    def load_state(self, state: dict[str, Any]) -> None:
        """Inverse of `state`."""
        self.results = {a: {int(i): bool(c) for i, c in r} for a, r in state["results"].items()}
        self.rung = {k: int(v) for k, v in state["rung"].items()}
        self.val_examples = int(state["val_examples"])
