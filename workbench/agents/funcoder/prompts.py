"""Every prompt FunCoder sends: divide, conquer (and repair), test inputs.

Versioned by `PROMPT_VERSION` (recorded in every candidate's meta, so in the run's events).
Adapted from cometeme/funcoder's HumanEval prompts for small local models (Qwen2.5-Coder
0.5B/1.5B instruct): short system messages, one tiny few-shot exchange each, code in a
```python fence.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "PROMPT_VERSION",
    "conquer_messages",
    "divide_messages",
    "retry_message",
    "tests_messages",
]

PROMPT_VERSION = "funcoder-1"

DIVIDE_SYSTEM = (
    "You are an expert Python programmer. Implement the function the user gives. If it is "
    "complex, you may call new helper functions: define each helper before it with its "
    "signature, a docstring and the body `raise NotImplementedError()`. Do not implement the "
    "helpers. Answer with one ```python code block."
)

DIVIDE_EXAMPLE_USER = '''```python
def sum_prime_squares(n: int) -> int:
    """Sum of p * p for every prime p <= n."""
```'''

DIVIDE_EXAMPLE_ANSWER = '''```python
def is_prime(k: int) -> bool:
    """Return True when k is a prime number."""
    raise NotImplementedError()


def sum_prime_squares(n: int) -> int:
    """Sum of p * p for every prime p <= n."""
    return sum(p * p for p in range(2, n + 1) if is_prime(p))
```'''

CONQUER_SYSTEM = (
    "You are an expert Python programmer. Implement the LAST function of the code. The "
    "functions above it are done: use them, do not rewrite them. Keep its signature. Answer "
    "with one ```python code block holding the implemented function."
)

CONQUER_EXAMPLE_USER = '''```python
def is_prime(k: int) -> bool:
    """Return True when k is a prime number."""
    raise NotImplementedError()
```'''

CONQUER_EXAMPLE_ANSWER = '''```python
def is_prime(k: int) -> bool:
    """Return True when k is a prime number."""
    if k < 2:
        return False
    return all(k % d for d in range(2, int(k ** 0.5) + 1))
```'''

TESTS_SYSTEM = (
    "You write test inputs. Write {k} different calls of the function, one per line, with "
    "literal arguments, including edge cases. Only the calls: no asserts, no results. Answer "
    "with one ```python code block."
)

TESTS_EXAMPLE_USER = '''```python
def gcd(a: int, b: int) -> int:
    """Greatest common divisor of a and b."""
```'''

TESTS_EXAMPLE_ANSWER = """```python
gcd(12, 18)
gcd(7, 1)
gcd(0, 5)
gcd(100, 75)
```"""


def _fence(code: str) -> str:
    return f"```python\n{code.strip()}\n```"


def divide_messages(context: str, stub: str) -> list[dict[str, Any]]:
    """Ask for `stub`'s implementation, allowing new helper stubs (the divide step).

    Args:
        context: imports and functions already there (may be empty).
        stub: the function to write: signature and docstring.
    """
    code = (context.strip() + "\n\n\n" + stub.strip()) if context.strip() else stub
    return [
        {"role": "system", "content": DIVIDE_SYSTEM},
        {"role": "user", "content": DIVIDE_EXAMPLE_USER},
        {"role": "assistant", "content": DIVIDE_EXAMPLE_ANSWER},
        {"role": "user", "content": _fence(code)},
    ]


def conquer_messages(
    context: str, stub: str, *, previous: str | None = None, feedback: str | None = None
) -> list[dict[str, Any]]:
    """Ask for the implementation of `stub`, placed last after its implemented helpers.

    Args:
        context: the implemented helpers (and imports) the function may use.
        stub: the function to implement, body hidden.
        previous: a former implementation that failed (repair round), with `feedback`.
        feedback: the failing public tests of `previous`.
    """
    code = (context.strip() + "\n\n\n" + stub.strip()) if context.strip() else stub
    messages = [
        {"role": "system", "content": CONQUER_SYSTEM},
        {"role": "user", "content": CONQUER_EXAMPLE_USER},
        {"role": "assistant", "content": CONQUER_EXAMPLE_ANSWER},
        {"role": "user", "content": _fence(code)},
    ]
    if previous is not None and feedback:
        messages += [
            {"role": "assistant", "content": _fence(previous)},
            {
                "role": "user",
                "content": (
                    f"This is wrong. Test results:\n{feedback.strip()[:1500]}\n"
                    "Write the corrected function in one ```python code block."
                ),
            },
        ]
    return messages


def tests_messages(stub: str, k: int) -> list[dict[str, Any]]:
    """Ask for `k` calls of the function in `stub` (inputs only, FunCoder's "funccall")."""
    return [
        {"role": "system", "content": TESTS_SYSTEM.format(k=k)},
        {"role": "user", "content": TESTS_EXAMPLE_USER},
        {"role": "assistant", "content": TESTS_EXAMPLE_ANSWER},
        {"role": "user", "content": _fence(stub)},
    ]


def retry_message(problem: str) -> dict[str, Any]:
    """The user turn that sends a bad answer's problem back to the model."""
    return {
        "role": "user",
        "content": f"Your answer cannot be used: {problem}. Answer again with one ```python block.",
    }
