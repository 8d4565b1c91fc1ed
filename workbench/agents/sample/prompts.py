"""Every prompt the `sample` generator sends (versioned: `PROMPT_VERSION` goes into the run log).

Written for small local models (Qwen2.5-Coder 0.5B/1.5B instruct): a short system message, one
tiny few-shot exchange, code in a ```python fence.
"""

from __future__ import annotations

from typing import Any

from workbench.tasks.code import CodeProblem

__all__ = ["PROMPT_VERSION", "repair_messages", "solve_messages"]

PROMPT_VERSION = "sample-1"

SYSTEM = (
    "You are an expert Python programmer. Write the complete function the user asks for, "
    "with any imports it needs. Answer with one ```python code block and nothing else."
)

EXAMPLE_USER = '''Complete this function:
```python
def is_even(n: int) -> bool:
    """Return True when n is even.
    >>> is_even(4)
    True
    """
```'''

EXAMPLE_ANSWER = '''```python
def is_even(n: int) -> bool:
    """Return True when n is even."""
    return n % 2 == 0
```'''


def _task_text(problem: CodeProblem) -> str:
    text = f"Complete this function:\n```python\n{problem.prompt.rstrip()}\n```"
    tests = [t.source() for t in problem.public_tests]
    if tests:
        text += "\nIt must pass these tests:\n" + "\n".join(f"- {t}" for t in tests[:8])
    return text


def solve_messages(problem: CodeProblem) -> list[dict[str, Any]]:
    """Chat messages asking for a solution of `problem` (public tests shown)."""
    return [
        {"role": "system", "content": SYSTEM},
        {"role": "user", "content": EXAMPLE_USER},
        {"role": "assistant", "content": EXAMPLE_ANSWER},
        {"role": "user", "content": _task_text(problem)},
    ]


def repair_messages(problem: CodeProblem, code: str, feedback: str) -> list[dict[str, Any]]:
    """Chat messages asking to fix `code`, which failed with `feedback` (public tests only)."""
    return [
        *solve_messages(problem),
        {"role": "assistant", "content": f"```python\n{code.rstrip()}\n```"},
        {
            "role": "user",
            "content": (
                f"This code is wrong. Test results:\n{feedback.strip()[:1500]}\n"
                "Write the corrected complete function in one ```python code block."
            ),
        },
    ]
