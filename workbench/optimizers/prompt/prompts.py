"""Every prompt the instruction optimizers send to the optimizer model (APE, OPRO, ProTeGi).

`PROMPT_VERSION` is recorded in each run's events (the first proposal's meta); change it with
any wording here. Answers are parsed by `parse_instruction`: the text between ``<INS>`` and
``</INS>`` when present, else the first non-empty paragraph, stripped of quotes and labels.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

__all__ = [
    "PROMPT_VERSION",
    "ape_messages",
    "edit_messages",
    "gradient_messages",
    "opro_messages",
    "parse_instruction",
]

PROMPT_VERSION = "prompt-opt/1"
MAX_INSTRUCTION_CHARS = 1200

_SYSTEM = "You write instructions for a language model. Reply with the instruction only."


def _pairs(demos: Sequence[tuple[str, str]]) -> str:
    return "\n\n".join(f"Input: {i}\nOutput: {o}" for i, o in demos)


def ape_messages(demos: Sequence[tuple[str, str]]) -> list[dict[str, str]]:
    """APE's forward-generation template: infer the instruction behind input/output pairs."""
    user = (
        "I gave a friend an instruction. Based on the instruction they produced the following "
        f"input-output pairs:\n\n{_pairs(demos)}\n\n"
        "Write the instruction I gave, between <INS> and </INS>."
    )
    return [{"role": "system", "content": _SYSTEM}, {"role": "user", "content": user}]


def opro_messages(
    history: Sequence[tuple[str, float]], demos: Sequence[tuple[str, str]]
) -> list[dict[str, str]]:
    """OPRO's meta-prompt: scored instructions in ascending order of score, then task examples.

    Args:
        history: (instruction, validation accuracy) pairs, already sorted ascending.
        demos: (input, target) training pairs showing the task.
    """
    lines = "\n\n".join(f"text:\n{ins}\nscore:\n{round(100 * score)}" for ins, score in history)
    examples = "\n\n".join(f"input:\nQ: {i}\nA: <INS>\noutput:\n{o}" for i, o in demos)
    user = (
        "Your task is to generate the instruction <INS>. Below are some previous instructions "
        "with their scores. The score ranges from 0 to 100.\n\n"
        f"{lines}\n\n"
        "Below are some problems.\n\n"
        f"{examples}\n\n"
        "Generate an instruction that is different from all the instructions <INS> above, and "
        "has a higher score than all the instructions <INS> above. The instruction should be "
        "concise, effective, and generally applicable to all problems above. Write it between "
        "<INS> and </INS>."
    )
    return [{"role": "system", "content": _SYSTEM}, {"role": "user", "content": user}]


def _errors(errors: Sequence[tuple[str, str, str]]) -> str:
    return "\n\n".join(
        f"Input: {i}\nModel output: {o[:600]}\nCorrect answer: {t}" for i, o, t in errors
    )


def gradient_messages(
    instruction: str, errors: Sequence[tuple[str, str, str]]
) -> list[dict[str, str]]:
    """ProTeGi's gradient prompt: why does the instruction fail on these examples?

    Args:
        instruction: the prompt being improved.
        errors: (input, model output, correct answer) of failed (or weakest) examples.
    """
    user = (
        f"I'm trying to write a zero-shot instruction.\n\nMy current instruction is:\n"
        f'"{instruction}"\n\nBut it gets the following examples wrong:\n\n{_errors(errors)}\n\n'
        "Give one reason why the instruction could have gotten these examples wrong. "
        "Answer in at most three sentences."
    )
    return [{"role": "user", "content": user}]


def edit_messages(
    instruction: str, errors: Sequence[tuple[str, str, str]], gradient: str
) -> list[dict[str, str]]:
    """ProTeGi's edit prompt: apply the textual gradient to write an improved instruction."""
    user = (
        f"I'm trying to write a zero-shot instruction.\n\nMy current instruction is:\n"
        f'"{instruction}"\n\nBut it gets the following examples wrong:\n\n{_errors(errors)}\n\n'
        f"Based on these examples the problem with this instruction is that: {gradient}\n\n"
        "Based on the above information, write one improved instruction between <INS> and "
        "</INS>."
    )
    return [{"role": "system", "content": _SYSTEM}, {"role": "user", "content": user}]


_TAG = re.compile(r"<INS>(.*?)(?:</INS>|$)", re.S | re.I)
_LABEL = re.compile(r"^(?:instruction|new instruction|improved instruction|text)\s*:\s*", re.I)


def parse_instruction(text: str) -> str | None:
    """The instruction in a model answer, or None when there is none (an empty answer).

    Example:
        >>> parse_instruction("Sure! <INS>Count the objects.</INS> Hope it helps")
        'Count the objects.'
        >>> parse_instruction('Instruction: "Think step by step."')
        'Think step by step.'
    """
    match = _TAG.search(text or "")
    body = match.group(1) if match and match.group(1).strip() else (text or "")
    paragraphs = [p.strip() for p in re.split(r"\n\s*\n", body) if p.strip()]
    if not paragraphs:
        return None
    found = _LABEL.sub("", paragraphs[0]).strip().strip('"').strip("'").strip()
    found = found.replace("<INS>", "").replace("</INS>", "").strip()
    return found[:MAX_INSTRUCTION_CHARS] or None
