"""LLAMBO's model time: a projection from prompt sizes and token rates, and what the server did.

`StepCost` is what one run costs in tokens: the first call's prompt (system message and the
initial rows, processed in full), then per LLM step the prompt tokens the server must process
(new rows + the instruction, the rest comes from its prompt cache) and the completion tokens.
`project_seconds` turns that and the engine's rates into seconds; `read_server_log` sums what
llama-server actually processed (its ``print_timing`` lines), which, against the prompt tokens
the API reports, measures the prompt-cache reuse.

Example:
    >>> c = StepCost(first_prompt=600, step_prompt=90, step_completion=160, llm_steps=10)
    >>> round(c.seconds(prompt_tps=68, gen_tps=26, calls_per_step=1.2))
    99
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["ServerTotals", "StepCost", "estimate_step_cost", "read_server_log"]

_PROMPT = re.compile(r"prompt eval time =\s*([\d.]+) ms /\s*(\d+) tokens")
_GEN = re.compile(r"(?<!prompt )eval time =\s*([\d.]+) ms /\s*(\d+) tokens")


@dataclass
class StepCost:
    """Tokens of one LLAMBO run (per-step numbers are means over the LLM steps)."""

    first_prompt: float
    step_prompt: float
    step_completion: float
    llm_steps: float

    def seconds(self, prompt_tps: float, gen_tps: float, calls_per_step: float = 1.0) -> float:
        """Model seconds of the run at the given rates (`calls_per_step` scales the steps)."""
        per_step = self.step_prompt / prompt_tps + self.step_completion / gen_tps
        return self.first_prompt / prompt_tps + self.llm_steps * calls_per_step * per_step


def estimate_step_cost(
    messages_first: list[dict[str, Any]],
    messages_next: list[dict[str, Any]],
    answer_row: str,
    n_candidates: int,
    llm_steps: float,
    count: Any,
) -> StepCost:
    """A run's token cost from two consecutive step prompts and one answer row.

    Args:
        messages_first: the first step's messages (processed in full).
        messages_next: the next step's messages (one more row).
        answer_row: a typical answer row (``config_row`` of a configuration).
        n_candidates: rows per answer.
        llm_steps: expected LLM steps per run.
        count: text -> number of tokens (the server's tokenizer, or an estimate).
    """

    def size(messages: list[dict[str, Any]]) -> int:
        return sum(count(m["content"]) + 4 for m in messages) + 3

    first, nxt = size(messages_first), size(messages_next)
    shared = len(_common_prefix(_flat(messages_first), _flat(messages_next)))
    new = nxt - count(_flat(messages_next)[:shared]) if shared else nxt
    completion = 20 + n_candidates * (count(answer_row) + 8)  # JSON and spacing: measured
    return StepCost(first, max(new, 1), completion, llm_steps)


def _flat(messages: list[dict[str, Any]]) -> str:
    return "\n".join(f"<{m['role']}>{m['content']}" for m in messages)


def _common_prefix(a: str, b: str) -> str:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return a[:n]


@dataclass
class ServerTotals:
    """What llama-server processed, from its log: requests, prompt and generated tokens."""

    requests: int = 0
    prompt_processed: int = 0
    prompt_ms: float = 0.0
    generated: int = 0
    generate_ms: float = 0.0


def read_server_log(path: Path | None, offset: int = 0) -> tuple[ServerTotals, int]:
    """Totals of the ``print_timing`` lines after byte `offset`; returns (totals, end offset)."""
    totals = ServerTotals()
    if path is None or not Path(path).is_file():
        return totals, offset
    with Path(path).open("rb") as f:
        f.seek(offset)
        data = f.read()
    for line in data.decode("utf-8", "replace").splitlines():
        if "print_timing" not in line and "eval time" not in line:
            continue
        m = _PROMPT.search(line)
        if m:
            totals.requests += 1
            totals.prompt_ms += float(m.group(1))
            totals.prompt_processed += int(m.group(2))
            continue
        m = _GEN.search(line)
        if m:
            totals.generate_ms += float(m.group(1))
            totals.generated += int(m.group(2))
    return totals, offset + len(data)
