"""OptoPrime pieces that need no LLM: prompt rendering and answer parsing.

The optimizer loop (``propose``/``update`` through ``workbench.llm``) builds on these.
"""

from workbench.optimizers.optoprime.parse import (
    REJECTION_KINDS,
    OptoPrimeAnswer,
    ParseResult,
    Rejection,
    convert_value,
    extract_object,
    parse_answer,
)
from workbench.optimizers.optoprime.render import (
    DEFAULT_INSTRUCTION,
    SECTIONS,
    SYSTEM_PROMPT,
    ProblemInstance,
    format_value,
    render_messages,
    render_problem,
    summarize,
)

__all__ = [
    "DEFAULT_INSTRUCTION",
    "REJECTION_KINDS",
    "SECTIONS",
    "SYSTEM_PROMPT",
    "OptoPrimeAnswer",
    "ParseResult",
    "ProblemInstance",
    "Rejection",
    "convert_value",
    "extract_object",
    "format_value",
    "parse_answer",
    "render_messages",
    "render_problem",
    "summarize",
]
