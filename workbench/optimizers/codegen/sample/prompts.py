"""Every prompt the `sample` generator sends (versioned: `PROMPT_VERSION` goes into the run log).

Written for small local models (Qwen2.5-Coder 0.5B/1.5B instruct): a short system message, one
tiny few-shot exchange, code in a ```python fence. An `mpi` problem (C++) gets the same shapes
with a C++/MPI system message and example, in a ```cpp fence (`PROMPT_VERSION_CPP`).
"""

from __future__ import annotations

from typing import Any

from workbench.optimizers.codegen.view import ProblemView

__all__ = [
    "PROMPT_VERSION",
    "PROMPT_VERSION_CPP",
    "prompt_version",
    "repair_messages",
    "solve_messages",
]

PROMPT_VERSION = "sample-2"
PROMPT_VERSION_CPP = "sample-cpp-2"

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


SYSTEM_CPP = (
    "You are an expert C++ and MPI programmer. Write the complete C++ function the user asks "
    "for, with the #include lines it needs. MPI is already initialized: never call MPI_Init, "
    "MPI_Finalize or MPI_Abort, and do not write main(). Answer with one ```cpp code block and "
    "nothing else."
)

EXAMPLE_USER_CPP = """Complete this function:
```cpp
#include <mpi.h>
#include <vector>

/* Return the number of negative values in x.
   Use MPI to count in parallel. Every rank has a complete copy of x.
   Return the result on all ranks.
*/
int count_negative(std::vector<int> const& x) {
```"""

EXAMPLE_ANSWER_CPP = """```cpp
#include <mpi.h>
#include <vector>

int count_negative(std::vector<int> const& x) {
    int rank = 0, nranks = 1;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &nranks);
    const long begin = static_cast<long>(x.size()) * rank / nranks;
    const long end = static_cast<long>(x.size()) * (rank + 1) / nranks;
    int mine = 0;
    for (long i = begin; i < end; ++i) mine += x[i] < 0;
    int total = 0;
    MPI_Allreduce(&mine, &total, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
    return total;
}
```"""

_LANG = {
    "python": (SYSTEM, EXAMPLE_USER, EXAMPLE_ANSWER, "It must pass these tests:", "Test results"),
    "cpp": (SYSTEM_CPP, EXAMPLE_USER_CPP, EXAMPLE_ANSWER_CPP, "Notes:", "Compiler and run output"),
}


def prompt_version(language: str) -> str:
    """The version of the prompts used for `language` (recorded in every candidate's meta)."""
    return PROMPT_VERSION_CPP if language == "cpp" else PROMPT_VERSION


def _task_text(view: ProblemView) -> str:
    fence = view.language
    text = f"Complete this function:\n```{fence}\n{view.prompt.rstrip()}\n```"
    tests = view.examples
    if tests:
        text += f"\n{_LANG[fence][3]}\n" + "\n".join(f"- {t}" for t in tests[:8])
    return text


def solve_messages(view: ProblemView) -> list[dict[str, Any]]:
    """Chat messages asking for a solution of the problem (public tests / example shown)."""
    system, user, answer = _LANG[view.language][:3]
    return [
        {"role": "system", "content": system},
        {"role": "user", "content": user},
        {"role": "assistant", "content": answer},
        {"role": "user", "content": _task_text(view)},
    ]


def repair_messages(view: ProblemView, code: str, feedback: str) -> list[dict[str, Any]]:
    """Chat messages asking to fix `code`, which failed with `feedback` (public checks only)."""
    fence, what = view.language, _LANG[view.language][4]
    return [
        *solve_messages(view),
        {"role": "assistant", "content": f"```{fence}\n{code.rstrip()}\n```"},
        {
            "role": "user",
            "content": (
                f"This code is wrong. {what}:\n{feedback.strip()[:1500]}\n"
                f"Write the corrected complete function in one ```{fence} code block."
            ),
        },
    ]
