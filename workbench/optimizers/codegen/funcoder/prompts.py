"""Every prompt FunCoder sends: divide, conquer (and repair), test inputs.

Versioned by `PROMPT_VERSION` (recorded in every candidate's meta, so in the run's events).
Adapted from cometeme/funcoder's HumanEval prompts for small local models (Qwen2.5-Coder
0.5B/1.5B instruct): short system messages, one tiny few-shot exchange each, code in a
```python fence. For an `mpi` problem (C++) divide and conquer use C++/MPI system messages and
examples in a ```cpp fence (`PROMPT_VERSION_CPP`); there is no test-input prompt there (the
consensus runs whole programs through the problem's driver).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

__all__ = [
    "PROMPT_VERSION",
    "PROMPT_VERSION_CPP",
    "conquer_messages",
    "divide_messages",
    "guided",
    "retry_message",
    "tests_messages",
]

PROMPT_VERSION = "funcoder-2"
PROMPT_VERSION_CPP = "funcoder-cpp-3"

DIVIDE_SYSTEM = (
    "You are an expert Python programmer. Implement the function the user gives. A simple "
    "function needs no helper. If it is complex, you may call new helper functions that do "
    "exactly what this problem needs: define each helper before it with its "
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


_MPI_RULES = (
    "MPI is already initialized: never call MPI_Init, MPI_Finalize or MPI_Abort, and do not "
    "write main()."
)

DIVIDE_SYSTEM_CPP = (
    "You are an expert C++ and MPI programmer. Implement the function the user gives. A simple "
    "function needs no helper. If it is complex, you may call new helper functions that do "
    "exactly what this problem needs: define each helper before it with its "
    "signature, a comment saying what it does and the body `// TODO: implement this function`. "
    f"Do not implement the helpers. {_MPI_RULES} Answer with one ```cpp code block."
)

DIVIDE_EXAMPLE_USER_CPP = """```cpp
#include <mpi.h>
#include <vector>

/* Return the sum of x[i] * x[i]. Every rank has a complete copy of x.
   Return the result on all ranks. */
double sum_squares(std::vector<double> const& x) {
    // TODO: implement this function
}
```"""

DIVIDE_EXAMPLE_ANSWER_CPP = """```cpp
#include <mpi.h>
#include <vector>

/* Sum of x[i] * x[i] for i in [begin, end). */
double local_sum_squares(std::vector<double> const& x, long begin, long end) {
    // TODO: implement this function
}

double sum_squares(std::vector<double> const& x) {
    int rank = 0, nranks = 1;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &nranks);
    const long begin = static_cast<long>(x.size()) * rank / nranks;
    const long end = static_cast<long>(x.size()) * (rank + 1) / nranks;
    double mine = local_sum_squares(x, begin, end);
    double total = 0.0;
    MPI_Allreduce(&mine, &total, 1, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
    return total;
}
```"""

CONQUER_SYSTEM_CPP = (
    "You are an expert C++ and MPI programmer. Implement the LAST function of the code. The "
    "functions above it are done: use them, do not rewrite them. Keep its signature. "
    f"{_MPI_RULES} Answer with one ```cpp code block holding the implemented function."
)

CONQUER_EXAMPLE_USER_CPP = """```cpp
#include <vector>

/* Sum of x[i] * x[i] for i in [begin, end). */
double local_sum_squares(std::vector<double> const& x, long begin, long end) {
    // TODO: implement this function
}
```"""

CONQUER_EXAMPLE_ANSWER_CPP = """```cpp
#include <vector>

/* Sum of x[i] * x[i] for i in [begin, end). */
double local_sum_squares(std::vector<double> const& x, long begin, long end) {
    double s = 0.0;
    for (long i = begin; i < end; ++i) s += x[i] * x[i];
    return s;
}
```"""

_DIVIDE = {
    "python": (DIVIDE_SYSTEM, DIVIDE_EXAMPLE_USER, DIVIDE_EXAMPLE_ANSWER),
    "cpp": (DIVIDE_SYSTEM_CPP, DIVIDE_EXAMPLE_USER_CPP, DIVIDE_EXAMPLE_ANSWER_CPP),
}
_CONQUER = {
    "python": (CONQUER_SYSTEM, CONQUER_EXAMPLE_USER, CONQUER_EXAMPLE_ANSWER),
    "cpp": (CONQUER_SYSTEM_CPP, CONQUER_EXAMPLE_USER_CPP, CONQUER_EXAMPLE_ANSWER_CPP),
}


def _fence(code: str, language: str = "python") -> str:
    return f"```{language}\n{code.strip()}\n```"


def divide_messages(context: str, stub: str, language: str = "python") -> list[dict[str, Any]]:
    """Ask for `stub`'s implementation, allowing new helper stubs (the divide step).

    Args:
        context: imports and functions already there (may be empty).
        stub: the function to write: signature and docstring.
        language: ``python`` or ``cpp``.
    """
    code = (context.strip() + "\n\n\n" + stub.strip()) if context.strip() else stub
    system, user, answer = _DIVIDE[language]
    return [
        {"role": "system", "content": system},
        {"role": "user", "content": user},
        {"role": "assistant", "content": answer},
        {"role": "user", "content": _fence(code, language)},
    ]


def conquer_messages(
    context: str,
    stub: str,
    *,
    previous: str | None = None,
    feedback: str | None = None,
    language: str = "python",
) -> list[dict[str, Any]]:
    """Ask for the implementation of `stub`, placed last after its implemented helpers.

    Args:
        context: the implemented helpers (and imports) the function may use.
        stub: the function to implement, body hidden.
        previous: a former implementation that failed (repair round), with `feedback`.
        feedback: the failing public tests of `previous` (mpi: compiler / per-np output).
        language: ``python`` or ``cpp``.
    """
    code = (context.strip() + "\n\n\n" + stub.strip()) if context.strip() else stub
    system, user, answer = _CONQUER[language]
    messages = [
        {"role": "system", "content": system},
        {"role": "user", "content": user},
        {"role": "assistant", "content": answer},
        {"role": "user", "content": _fence(code, language)},
    ]
    if previous is not None and feedback:
        messages += [
            {"role": "assistant", "content": _fence(previous, language)},
            {
                "role": "user",
                "content": (
                    f"This is wrong. Test results:\n{feedback.strip()[:1500]}\n"
                    f"Write the corrected function in one ```{language} code block."
                ),
            },
        ]
    return messages


def guided(
    messages: list[dict[str, Any]],
    instruction: str = "",
    exemplars: Sequence[tuple[str, str]] = (),
    language: str = "python",
) -> list[dict[str, Any]]:
    """A divide or conquer prompt with learned guidance: `instruction` appended to its system
    message, and each exemplar ``(problem, solution)`` shown as one more worked exchange after
    the built-in one. With neither, the messages are returned unchanged.
    """
    if not instruction.strip() and not exemplars:
        return messages
    out = [dict(m) for m in messages]
    if instruction.strip():
        out[0]["content"] = f"{out[0]['content']}\n\n{instruction.strip()}"
    shots: list[dict[str, Any]] = []
    for problem, solution in exemplars:
        shots.append({"role": "user", "content": _fence(problem, language)})
        shots.append({"role": "assistant", "content": _fence(solution, language)})
    return [*out[:3], *shots, *out[3:]]


def tests_messages(stub: str, k: int) -> list[dict[str, Any]]:
    """Ask for `k` calls of the function in `stub` (inputs only, FunCoder's "funccall")."""
    return [
        {"role": "system", "content": TESTS_SYSTEM.format(k=k)},
        {"role": "user", "content": TESTS_EXAMPLE_USER},
        {"role": "assistant", "content": TESTS_EXAMPLE_ANSWER},
        {"role": "user", "content": _fence(stub)},
    ]


def retry_message(problem: str, language: str = "python") -> dict[str, Any]:
    """The user turn that sends a bad answer's problem back to the model."""
    return {
        "role": "user",
        "content": (
            f"Your answer cannot be used: {problem}. Answer again with one ```{language} block."
        ),
    }
