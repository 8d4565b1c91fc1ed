"""The candidate's source: the MPI-usage check and assembling ``candidate.cpp``.

The candidate is compiled as its own translation unit next to the driver. It sees the problem's
signature through the generated header ``wb_candidate.hpp`` (so a signature mismatch is a compile
or link error, reported as feedback), never the reference.
"""

from __future__ import annotations

import re

from workbench.tasks.mpi.problem import MpiProblem

__all__ = [
    "assemble_candidate",
    "candidate_header",
    "check_source",
    "defines_function",
    "strip_comments_and_strings",
]

_FORBIDDEN_CALLS = {
    "MPI_Init": "MPI is already initialized by the driver; do not call MPI_Init",
    "MPI_Init_thread": "MPI is already initialized by the driver; do not call MPI_Init_thread",
    "MPI_Finalize": "the driver finalizes MPI after the judge is done; do not call MPI_Finalize",
    "MPI_Abort": "do not call MPI_Abort: it kills every rank before the result is checked",
}
_SPAWNS = (
    "system", "popen", "fork", "vfork", "clone", "execl", "execle", "execlp", "execv",
    "execve", "execvp", "execvpe", "fexecve", "posix_spawn", "posix_spawnp", "MPI_Comm_spawn",
    "MPI_Comm_spawn_multiple",
)  # fmt: skip
# a call, not a member (`x.fork(`) nor a name that ends in one (`my_system(`)
_SPAWN_CALL = re.compile(rf"(?<![\w.>])(?:(?:std)?::\s*)?({'|'.join(_SPAWNS)})\s*\(")
_MPI_CALL = re.compile(r"\bP?MPI_[A-Z][A-Za-z0-9_]*\s*\(")
_MAIN = re.compile(r"\bmain\s*\(")
_PRIVATE_INCLUDE = re.compile(
    r'#\s*include\s*[<"]\s*(reference\.hpp|driver\.cpp|wb_driver\.hpp)\s*[>"]'
)


def strip_comments_and_strings(code: str) -> str:
    """Blank out comments and the insides of string and character literals.

    Newlines are kept, so positions and line numbers still match the original text. A comment such
    as ``// MPI_Init was called by the driver`` then no longer counts as a call.
    """
    out: list[str] = []
    i, n = 0, len(code)
    while i < n:
        c = code[i]
        two = code[i : i + 2]
        if two == "//":
            j = code.find("\n", i)
            j = n if j < 0 else j
            out.append(" " * (j - i))
            i = j
        elif two == "/*":
            j = code.find("*/", i + 2)
            j = n if j < 0 else j + 2
            out.append("".join(ch if ch == "\n" else " " for ch in code[i:j]))
            i = j
        elif c in "\"'":
            j = i + 1
            while j < n and code[j] != c and code[j] != "\n":
                j += 2 if code[j] == "\\" else 1
            j = min(j + 1, n)
            out.append(c + " " * max(j - i - 2, 0) + (code[j - 1] if j - i >= 2 else ""))
            i = j
        else:
            out.append(c)
            i += 1
    return "".join(out)


def check_source(code: str) -> list[str]:
    """Problems that keep a candidate from being run, as sentences for the model; [] if none.

    The candidate must call MPI (at least one ``MPI_...(`` call, as ParEval's check) and must
    not call MPI_Init, MPI_Init_thread, MPI_Finalize or MPI_Abort, start processes or programs
    (``system``, ``popen``, ``fork``, the ``exec`` family, ``posix_spawn``, ``MPI_Comm_spawn``),
    define ``main`` or include the problem's reference or driver. Comments and string literals
    are ignored. (The sandbox holds a candidate that gets past this anyway: this check is
    feedback for the model, not the wall.)

    >>> check_source("int f() { return 1; }")
    ['the code makes no MPI call (MPI_...); use MPI to compute in parallel']
    """
    problems: list[str] = []
    bare = strip_comments_and_strings(code)
    if not _MPI_CALL.search(bare):
        problems.append("the code makes no MPI call (MPI_...); use MPI to compute in parallel")
    for name, why in _FORBIDDEN_CALLS.items():
        if re.search(rf"\bP?{name}\s*\(", bare):
            problems.append(f"the code calls {name}: {why}")
    for name in dict.fromkeys(m.group(1) for m in _SPAWN_CALL.finditer(bare)):
        problems.append(
            f"the code calls {name}(): starting processes or programs is not allowed; "
            "compute in the ranks you are given"
        )
    if _MAIN.search(bare):
        problems.append(
            "the code defines or calls main(): the driver owns main; write the function"
        )
    for line in _comment_free_lines(code):
        m = _PRIVATE_INCLUDE.search(line)
        if m:
            problems.append(f"the code includes {m.group(1)}, which belongs to the test driver")
    return problems


def _comment_free_lines(code: str) -> list[str]:
    """Source lines with comments removed but string literals (include paths) intact."""
    bare = strip_comments_and_strings(code)
    lines: list[str] = []
    for orig, blank in zip(code.splitlines(), bare.splitlines(), strict=False):
        # Keep the original text of a preprocessor line unless it is commented out entirely.
        lines.append(orig if blank.lstrip().startswith("#") else blank)
    return lines


def defines_function(problem: MpiProblem, code: str) -> bool:
    """True when `code` defines the problem's function at file scope (not just a body)."""
    bare = strip_comments_and_strings(code)
    pattern = re.compile(rf"\b{re.escape(problem.function)}\s*\(([^;{{}}]*)\)\s*(const\s*)?\{{")
    for m in pattern.finditer(bare):
        prefix = bare[: m.start()]
        # A definition is at file scope and follows its return type (`double f(`, `T& f(`);
        # a call inside a body follows `(`, `=`, `;` and the like.
        before = prefix.rstrip()[-1:]
        if prefix.count("{") == prefix.count("}") and re.fullmatch(r"[A-Za-z0-9_>&*]", before):
            return True
    return False


def candidate_header(problem: MpiProblem) -> str:
    """``wb_candidate.hpp``: the includes of the prompt and the declaration of the function
    (in the judge's reference program, built with ``-DWB_JUDGE``, a definition that aborts)."""
    lines = ["#pragma once", "#include <mpi.h>"]
    lines += [f"#include <{h}>" for h in problem.spec.includes]
    lines += [
        "",
        "#ifdef WB_JUDGE  // the judge's reference program has no candidate",
        "#include <cstdlib>",
        f"{problem.signature} {{ std::abort(); }}",
        "#else",
        problem.signature + ";",
        "#endif",
        "",
    ]
    return "\n".join(lines)


def assemble_candidate(problem: MpiProblem, code: str) -> str:
    """``wb_unit.cpp``, the unit compiled for a model's code: a whole definition, or only the
    function's body.

    Its ``#line 1 "candidate.cpp"`` directive puts compiler messages on the model's own line
    numbers; the compiler then quotes each line from the file ``candidate.cpp``, which holds
    the model's code as it was written (`build_request`), so the quoted line is the one the
    message is about.
    """
    head = f"// Candidate for {problem.name} (assembled by workbench.tasks.mpi)\n"
    head += '#include "wb_candidate.hpp"\n'
    if defines_function(problem, code):
        return f'{head}#line 1 "candidate.cpp"\n{code.rstrip()}\n'
    return f'{head}{problem.signature} {{\n#line 1 "candidate.cpp"\n{code.rstrip()}\n}}\n'
