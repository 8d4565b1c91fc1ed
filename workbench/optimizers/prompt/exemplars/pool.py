"""`ExemplarPool`: the model's own verified-correct answers, plus labelled training pairs.

While an instruction optimizer validates prompts, every (input, model output) whose scorer says
"correct" is added here at no extra model cost (the anchor paper's idea). Labelled training pairs
are a second, separate source, used when the model got too few right (DSPy issue #210: a small
model may pass nothing, leaving demo optimizers with nothing to select).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal, Protocol

from workbench.errors import ConfigError

__all__ = ["Exemplar", "ExemplarPool", "Source"]

Source = Literal["model", "label"]
_FORMAT = "workbench.exemplar_pool/1"


class _HasInputTarget(Protocol):
    @property
    def input(self) -> str: ...

    @property
    def target(self) -> str: ...


@dataclass(frozen=True)
class Exemplar:
    """One demonstration.

    Attributes:
        input: the task input.
        output: what the prompt shows as the answer: the model's full output (reasoning
            included) for model exemplars, the target for labelled pairs.
        target: the gold answer.
        source: ``"model"`` (verified model output) or ``"label"`` (training pair).
    """

    input: str
    output: str
    target: str
    source: Source = "model"

    def to_dict(self) -> dict[str, str]:
        """JSON form."""
        return asdict(self)


def _score_of(result: Any) -> float:
    score = getattr(result, "score", result)
    if isinstance(score, bool | int | float):
        return float(score)
    raise TypeError(f"scorer returned {result!r}; expected a ScoreResult, a number or a bool")


class ExemplarPool:
    """Verified model exemplars and labelled pairs, each deduplicated by input, in add order.

    Example:
        >>> from workbench.tasks.prompt import make_scorer
        >>> pool = ExemplarPool()
        >>> pool.add("2+2?", "So the answer is 4.", "4", make_scorer("numeric"))
        True
        >>> pool.add("3+3?", "So the answer is 7.", "6", make_scorer("numeric"))
        False
        >>> [e.input for e in pool.model]
        ['2+2?']
    """

    def __init__(self) -> None:
        self._model: dict[str, Exemplar] = {}
        self._labelled: dict[str, Exemplar] = {}

    def add(
        self, input: str, output: str, target: str, scorer: Callable[[str, str, str], Any]
    ) -> bool:
        """Add a model output if `scorer` says it is fully correct and the input is new.

        Args:
            input: the task input.
            output: the model's raw output (kept whole, reasoning included).
            target: the gold answer.
            scorer: called as ``scorer(output, target, input)``; returns a `ScoreResult`, a
                number or a bool. Only a score of 1 is accepted.

        Returns:
            True when the exemplar was added; False when it was wrong or a duplicate input
            (the first verified output for an input is kept).
        """
        if _score_of(scorer(output, target, input)) < 1.0 - 1e-9:
            return False
        if input in self._model:
            return False
        self._model[input] = Exemplar(input, output, target, "model")
        return True

    def harvest(
        self,
        examples: Iterable[_HasInputTarget],
        outputs: Iterable[str],
        scorer: Callable[[str, str, str], Any],
    ) -> int:
        """Add every correct output of one validation run (`examples` and `outputs` in step).

        Returns:
            How many exemplars were added.

        Raises:
            ValueError: `examples` and `outputs` differ in length.
        """
        pairs = list(zip(examples, outputs, strict=True))
        return sum(self.add(e.input, out, e.target, scorer) for e, out in pairs)

    def add_labelled(self, input: str, target: str) -> bool:
        """Add a labelled training pair (shown with its target as the answer); False if a
        pair with this input is already there."""
        if input in self._labelled:
            return False
        self._labelled[input] = Exemplar(input, target, target, "label")
        return True

    def add_examples(self, examples: Iterable[_HasInputTarget]) -> int:
        """Add labelled pairs from `Example`s; returns how many were new."""
        return sum(self.add_labelled(e.input, e.target) for e in examples)

    @property
    def model(self) -> list[Exemplar]:
        """Verified model exemplars, in the order they were added."""
        return list(self._model.values())

    @property
    def labelled(self) -> list[Exemplar]:
        """Labelled training pairs, in the order they were added."""
        return list(self._labelled.values())

    def __len__(self) -> int:
        return len(self._model)

    def candidates(
        self, min_size: int = 0, source: Literal["model", "label", "both"] = "model"
    ) -> list[Exemplar]:
        """The exemplars a selector draws from.

        Args:
            min_size: with ``source="model"``, top up with labelled pairs (in add order, inputs
                not already present) until there are at least this many.
            source: ``"model"``, ``"label"`` or ``"both"`` (model first, then new labelled).
        """
        if source == "label":
            return self.labelled
        out = self.model
        seen = set(self._model)
        for ex in self.labelled:
            if source == "model" and len(out) >= min_size:
                break
            if ex.input not in seen:
                out.append(ex)
                seen.add(ex.input)
        return out

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "format": _FORMAT,
            "model": [e.to_dict() for e in self._model.values()],
            "labelled": [e.to_dict() for e in self._labelled.values()],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ExemplarPool:
        """Rebuild from `to_dict` output.

        Raises:
            ConfigError: not a pool file of this format.
        """
        if not isinstance(data, dict) or data.get("format") != _FORMAT:
            raise ConfigError(f"not an exemplar pool (expected format {_FORMAT!r})")
        pool = cls()
        try:
            for row in data["model"]:
                pool._model.setdefault(row["input"], Exemplar(**{**row, "source": "model"}))
            for row in data["labelled"]:
                pool._labelled.setdefault(row["input"], Exemplar(**{**row, "source": "label"}))
        except (KeyError, TypeError) as exc:
            raise ConfigError(f"exemplar pool file is damaged: {exc}") from None
        return pool

    def save(self, path: str | Path) -> None:
        """Write the pool as JSON."""
        Path(path).write_text(json.dumps(self.to_dict(), indent=1), encoding="utf-8")

    @classmethod
    def load(cls, path: str | Path) -> ExemplarPool:
        """Read a pool written by `save`.

        Raises:
            ConfigError: missing file, bad JSON or wrong format (the message names the path).
        """
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(f"exemplar pool {str(path)!r} does not exist") from None
        except (OSError, json.JSONDecodeError) as exc:
            raise ConfigError(f"cannot read exemplar pool {str(path)!r}: {exc}") from None
        try:
            return cls.from_dict(data)
        except ConfigError as exc:
            raise ConfigError(f"{path}: {exc}") from None
