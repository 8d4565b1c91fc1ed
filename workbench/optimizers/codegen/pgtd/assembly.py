"""How a PG-TD rollout's text becomes the program that is run and proposed.

The search continues an assistant turn that starts with an opening fence and (by default) the
prefilled signature, so a rollout's text is the *rest* of a fenced answer: the function's body,
its closing brace (C++), perhaps helpers, includes, a ``main`` or prose after it, and the closing
fence. `raw_program` cuts it at the closing fence and puts the prefill back in front (nothing
else: no brace matching, no body-end detection). `assemble_program` then hands that fenced
answer to the problem view's `extract`, the very function the `sample` generator applies to its
replies, so the same code yields the same program on both paths: a ``main`` or an example
``print(...)`` is dropped, helpers and ``#include`` lines written after the function move in
front of it, and prose after the code is trimmed. Code that `extract` rejects stays as it was
written, so the harness's compiler or loader error is its feedback.

Example:
    >>> from workbench.optimizers.codegen.view import MpiView
    >>> from workbench.tasks.mpi import load_problem, library_dir
    >>> view = MpiView(load_problem(library_dir() / "reduce_dot_product"))
    >>> body = "  double s = 0;\\n  MPI_Barrier(MPI_COMM_WORLD);\\n  return s;\\n}\\n"
    >>> code = assemble_program(view, view.prompt + "\\n", body + "int main() {}\\n```")
    >>> "main" in code, code.rstrip().endswith("return s;\\n}")
    (False, True)
"""

from __future__ import annotations

from workbench.optimizers.codegen.pgtd.prompts import FENCE_CLOSE
from workbench.optimizers.codegen.view.base import ProblemView

__all__ = ["assemble_program", "raw_program"]


def raw_program(prefill: str, generated: str) -> str:
    """`prefill` + `generated` up to the first closing fence, ending with one newline ("" when
    there is no code).

    >>> raw_program("def f():\\n", "    return 1\\n```\\nmore")
    'def f():\\n    return 1\\n'
    """
    code = (prefill + generated.split(FENCE_CLOSE, 1)[0]).rstrip()
    return code + "\n" if code else ""


def assemble_program(view: ProblemView, prefill: str, generated: str) -> str:
    """The program of a rollout: the fenced answer it completes, through ``view.extract``.

    Args:
        view: the problem (its `extract` is the `sample` generator's).
        prefill: the code prefilled in the assistant turn (the signature), or "".
        generated: the model's text after the prefill (the closing fence and anything after it
            are cut off).

    Returns:
        The extracted program; the raw code (`raw_program`) when `extract` finds none.
    """
    raw = raw_program(prefill, generated)
    if not raw:
        return ""
    # exactly what `sample` sees: the code in a fence of the view's language
    program = view.extract(f"```{view.language}\n{raw}{FENCE_CLOSE}\n")
    if program.code is None:
        # unfenced, the language parser trims prose the model wrote after the code and before
        # its end-of-turn token (the fenced block runs to the end of the text)
        program = view.extract(raw)
    return program.code if program.code is not None else raw
