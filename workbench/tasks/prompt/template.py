"""The prompt template: an instruction slot, an exemplar slot and the input.

A template is plain text with three placeholders, ``{instruction}``, ``{exemplars}`` and
``{input}`` (literal braces are written ``{{`` and ``}}``). Exemplars are rendered with
`exemplar_format` and joined; the model's reasoning is kept or replaced by the bare target.
The same content renders as chat messages (instruction as the system message, each exemplar as a
user/assistant turn) or as one plain text.

Example:
    >>> t = PromptTemplate()
    >>> print(t.render_text("Answer briefly.", [Shot("2+2?", "4")], "3+3?"))
    Answer briefly.
    <BLANKLINE>
    Q: 2+2?
    A: 4
    <BLANKLINE>
    Q: 3+3?
    A:
"""

from __future__ import annotations

import math
import string
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from workbench.errors import ConfigError

__all__ = ["DEFAULT_TEMPLATE", "PromptTemplate", "Shot", "ShotLike", "estimate_tokens"]

DEFAULT_TEMPLATE = "{instruction}\n\n{exemplars}Q: {input}\nA:"
_SLOTS = {"instruction", "exemplars", "input"}


class ShotLike(Protocol):
    """Anything with an input, an output (may hold reasoning) and a target (the bare answer)."""

    @property
    def input(self) -> str: ...

    @property
    def output(self) -> str: ...

    @property
    def target(self) -> str: ...


@dataclass(frozen=True)
class Shot:
    """A plain exemplar for rendering. `target` defaults to `output` (labelled pairs)."""

    input: str
    output: str
    target: str = ""

    def __post_init__(self) -> None:
        if not self.target:
            object.__setattr__(self, "target", self.output)


def estimate_tokens(text: str, tokenizer: Callable[[str], list[int]] | None = None) -> int:
    """Token count: exact with `tokenizer` (e.g. ``LLMClient.tokenize``), else an estimate.

    The estimate is ``max(ceil(chars / 4), words)``, close to BPE tokenizers on English prose and
    never below the word count (digit- and symbol-heavy BBH inputs have short tokens).
    """
    if tokenizer is not None:
        return len(tokenizer(text))
    return max(math.ceil(len(text) / 4), len(text.split()))


@dataclass(frozen=True)
class PromptTemplate:
    """How a prompt is laid out.

    Attributes:
        template: text with ``{instruction}``, ``{exemplars}`` and ``{input}``.
        exemplar_format: one exemplar, with ``{input}`` and ``{output}``.
        separator: between exemplars, and after the exemplar block.
        query_format: the final user turn in chat form (``{input}``).
        with_reasoning: render each exemplar's full output (the model's reasoning); False
            renders its bare target instead.

    Raises:
        ConfigError: a placeholder is missing or unknown, or braces are unbalanced.
    """

    template: str = DEFAULT_TEMPLATE
    exemplar_format: str = "Q: {input}\nA: {output}"
    separator: str = "\n\n"
    query_format: str = "{input}"
    with_reasoning: bool = True

    def __post_init__(self) -> None:
        _check(self.template, _SLOTS, _SLOTS, "template")
        _check(self.exemplar_format, {"input", "output"}, {"input", "output"}, "exemplar_format")
        _check(self.query_format, {"input"}, {"input"}, "query_format")

    def _answer(self, shot: ShotLike) -> str:
        return shot.output if self.with_reasoning else shot.target

    def render_exemplars(self, exemplars: Sequence[ShotLike]) -> str:
        """The exemplar block: each exemplar formatted, joined, followed by the separator.

        Empty when there are no exemplars, so a zero-shot prompt has no stray blank lines.
        """
        if not exemplars:
            return ""
        parts = [
            self.exemplar_format.format(input=s.input, output=self._answer(s)) for s in exemplars
        ]
        return self.separator.join(parts) + self.separator

    def render_text(self, instruction: str, exemplars: Sequence[ShotLike], input: str) -> str:
        """The whole prompt as one text (for completion endpoints or a single user message)."""
        text = self.template.format(
            instruction=instruction, exemplars=self.render_exemplars(exemplars), input=input
        )
        return text.lstrip("\n") if not instruction else text

    def render_messages(
        self, instruction: str, exemplars: Sequence[ShotLike], input: str
    ) -> list[dict[str, str]]:
        """Chat messages: the instruction as system message (omitted when empty), each exemplar
        as a user turn and an assistant turn, then the input as the last user turn."""
        messages: list[dict[str, str]] = []
        if instruction.strip():
            messages.append({"role": "system", "content": instruction})
        for shot in exemplars:
            messages.append({"role": "user", "content": self.query_format.format(input=shot.input)})
            messages.append({"role": "assistant", "content": self._answer(shot)})
        messages.append({"role": "user", "content": self.query_format.format(input=input)})
        return messages

    def estimate_tokens(
        self,
        instruction: str,
        exemplars: Sequence[ShotLike],
        input: str,
        tokenizer: Callable[[str], list[int]] | None = None,
    ) -> int:
        """Tokens of the plain-text prompt (see the module-level `estimate_tokens`)."""
        return estimate_tokens(self.render_text(instruction, exemplars, input), tokenizer)


def _check(text: str, required: set[str], allowed: set[str], field: str) -> None:
    try:
        names = {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}
    except ValueError as exc:
        raise ConfigError(
            f"prompt {field} {text!r}: {exc}; write literal braces as {{{{ and }}}}"
        ) from None
    unknown = names - allowed
    if unknown:
        raise ConfigError(
            f"prompt {field}: unknown placeholder(s) {sorted(unknown)}; allowed: {sorted(allowed)}"
            f" (write literal braces as {{{{ and }}}})"
        )
    missing = required - names
    if missing:
        raise ConfigError(f"prompt {field}: missing placeholder(s) {sorted(missing)}")
