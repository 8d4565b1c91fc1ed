"""OptoPrime: an LLM optimizer for traced parameters (values, prompts, code).

- :class:`OptoPrime` works on ``ParameterNode`` objects directly (``zero_feedback``, ``propose``,
  ``update``, ``step``), asking ``workbench.llm`` for structured answers.
- :class:`OptoPrimeOptimizer` is the same on the loop, named ``optoprime`` in task files.
- ``render`` and ``parse`` turn a feedback subgraph into the prompt and an answer into updates.
"""

from workbench.optimizers.optoprime.adapter import OptoPrimeOptimizer, OptoPrimeSettings
from workbench.optimizers.optoprime.optimizer import (
    PROMPT_VERSION,
    OptoPrime,
    Suggestion,
    answer_schema,
)
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
    "PROMPT_VERSION",
    "REJECTION_KINDS",
    "SECTIONS",
    "SYSTEM_PROMPT",
    "OptoPrime",
    "OptoPrimeAnswer",
    "OptoPrimeOptimizer",
    "OptoPrimeSettings",
    "ParseResult",
    "ProblemInstance",
    "Rejection",
    "Suggestion",
    "answer_schema",
    "convert_value",
    "extract_object",
    "format_value",
    "parse_answer",
    "render_messages",
    "render_problem",
    "summarize",
]
