"""PG-TD's program assembly (`assemble_program`): a completion after the prefilled signature
becomes the program the `sample` path builds from the same code (no model: completions are fed
directly). The compile-and-run half is in `test_pgtd_assembly_mpi.py`."""

from __future__ import annotations

import re

import pytest

from workbench.llm import ScriptedLLM
from workbench.optimizers.codegen.codetree import CodeTree
from workbench.optimizers.codegen.pgtd import TokenModel, assemble_program, raw_program
from workbench.optimizers.codegen.view import MpiView, ProblemView, PublicReward, PythonView
from workbench.sandbox import LocalSandbox
from workbench.tasks.code import problem_from_dict
from workbench.tasks.mpi import MpiProblem, check_source, load_library

PROBLEMS = {p.name: p for p in load_library()}
_INCLUDE = re.compile(r"^\s*#\s*include\s*<([^>]+)>", re.MULTILINE)

# A correct dot product whose body is full of braces that are not the body's: structs (named
# and anonymous, with brace initialisers), an initializer list, a lambda, string, char and raw
# string literals and comments holding braces.
NESTED_BODY = r"""  int rank = 0, size = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  struct Range { long begin; long end; };  // a named struct } with { braces
  struct {
    double sum;
    int unused;
  } acc{0.0, 0}, other{};
  const long n = static_cast<long>(x.size());
  const Range r{n * rank / size, n * (rank + 1) / size};
  std::vector<int> three{1, 2, 3};
  const char* text = "{ not a brace }}";
  const char close = '}';
  const char open = '{';
  const char* raw = R"(}}{)";
  /* a block comment } that { closes nothing */
  auto term = [&](long i) { return x[i] * y[i]; };
  for (long i = r.begin; i < r.end; ++i) {
    acc.sum += term(i);
  }
  if (text[0] != open || close != '}' || raw[0] != '}' || three.size() != 3 || other.unused) {
    return -1.0;
  }
  double total = 0.0;
  MPI_Allreduce(&acc.sum, &total, 1, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
  return total;
}
"""
# ...and what a model may write after the function (the fence, a main, prose, nothing)
ENDINGS = {
    "fence": "```",
    "eos_without_fence": "",
    "main_after": "\nint main() {\n  return 0;\n}\n```",
    "prose_after_fence": "```\n\nThis sums each rank's block { and } reduces it.",
    "prose_without_fence": "\nThe function above sums the blocks with MPI_Allreduce.\n",
}
# a helper defined after the function: C++ needs it before the function, the assembly moves it
HELPER_BODY = """  int rank = 0, size = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  const long n = static_cast<long>(x.size());
  double local = partial_dot(x, y, n * rank / size, n * (rank + 1) / size), total = 0.0;
  MPI_Allreduce(&local, &total, 1, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
  return total;
}

static double partial_dot(std::vector<double> const& x, std::vector<double> const& y, long b,
                          long e) {
  double s = 0.0;
  for (long i = b; i < e; ++i) { s += x[i] * y[i]; }
  return s;
}
```"""


def prefill_of(view: ProblemView) -> str:
    """What the optimizer prefills (`prefill_signature: true`)."""
    return view.prompt if view.prompt.endswith("\n") else view.prompt + "\n"


def pgtd_completion(problem: MpiProblem, source: str) -> str:
    """`source`'s function body as the model would continue the prefilled signature: the body,
    the closing brace, the ``#include`` lines the prompt lacks (after the function: they can go
    nowhere else) and the closing fence."""
    opening = re.search(rf"\b{problem.function}\s*\([^;{{}}]*\)\s*\{{[ \t]*\n?", source)
    assert opening is not None, f"{problem.name}: no definition of {problem.function}()"
    head, rest = source[: opening.start()], source[opening.end() :]
    extra = [h for h in _INCLUDE.findall(head) if h != "mpi.h" and h not in problem.spec.includes]
    tail = "".join(f"#include <{h}>\n" for h in extra)
    return rest + ("\n" + tail if tail else "") + "```\n"


def sample_program(view: ProblemView, source: str) -> str:
    """The `sample` path: the whole function in a fence, through the view's `extract`."""
    program = view.extract(f"```{view.language}\n{source}```\n")
    assert program.code is not None, program.error
    return program.code


def shape(view: ProblemView, code: str) -> tuple[str, list[str], list[str]]:
    """What makes two programs the same program: the entry's body, the includes, the order of
    the functions."""
    tree: CodeTree = view.parse(code, extract=False)
    includes = sorted(set(_INCLUDE.findall(code)))
    return tree.functions[view.entry].body, includes, list(tree.functions)


CASES = [(name, kind) for name in PROBLEMS for kind in ("solution", "wrong")]


@pytest.mark.parametrize(("name", "kind"), CASES, ids=[f"{n}-{k}" for n, k in CASES])
def test_library_bodies_assemble_like_the_sample_path(name: str, kind: str) -> None:
    problem = PROBLEMS[name]
    source = problem.solution if kind == "solution" else problem.wrong
    assert source is not None
    view = MpiView(problem)
    code = assemble_program(view, prefill_of(view), pgtd_completion(problem, source))
    assert check_source(code) == []
    assert shape(view, code) == shape(view, sample_program(view, source))
    # one definition of the function, ending the program (nothing cut off, nothing doubled)
    assert code.count(problem.signature) == 1
    assert code.rstrip().endswith("}")


def test_anonymous_struct_of_the_report_stays_in_the_body() -> None:
    problem = PROBLEMS["reduce_argmin"]
    assert problem.wrong is not None
    view = MpiView(problem)
    code = assemble_program(view, prefill_of(view), pgtd_completion(problem, problem.wrong))
    body = view.parse(code, extract=False).functions["index_of_min"].body
    assert "} local{1e300, 0}, best{};" in body
    assert body.rstrip().endswith("return best.index;")


@pytest.mark.parametrize("ending", list(ENDINGS))
def test_nested_braces_and_what_follows_the_function(ending: str) -> None:
    view = MpiView(PROBLEMS["reduce_dot_product"])
    code = assemble_program(view, prefill_of(view), NESTED_BODY + ENDINGS[ending])
    expected = sample_program(view, prefill_of(view) + NESTED_BODY)
    assert code == expected
    assert check_source(code) == []
    fn = view.parse(code, extract=False).functions["dot_product"]
    assert fn.implemented and fn.body.rstrip().endswith("return total;")
    assert "auto term = [&](long i) { return x[i] * y[i]; };" in fn.body
    assert 'R"(}}{)"' in fn.body and "'}'" in fn.body and '"{ not a brace }}"' in fn.body


def test_a_helper_written_after_the_function_moves_before_it() -> None:
    view = MpiView(PROBLEMS["reduce_dot_product"])
    code = assemble_program(view, prefill_of(view), HELPER_BODY)
    assert list(view.parse(code, extract=False).functions) == ["partial_dot", "dot_product"]
    assert code.index("static double partial_dot(") < code.index("double dot_product(")
    raw = raw_program(prefill_of(view), HELPER_BODY)
    assert raw.index("static double partial_dot(") > raw.index("double dot_product(")


def test_code_that_does_not_parse_is_kept_for_the_compiler() -> None:
    view = MpiView(PROBLEMS["reduce_dot_product"])
    broken = "  return x[0] *;\n}\n```"
    assert assemble_program(view, prefill_of(view), broken) == raw_program(prefill_of(view), broken)
    assert assemble_program(view, prefill_of(view), "```") == raw_program(prefill_of(view), "")


def test_token_model_uses_the_assembly() -> None:
    view = MpiView(PROBLEMS["reduce_dot_product"])
    prefill = prefill_of(view)
    model = TokenModel(
        ScriptedLLM(lambda r: "x"),
        prefill=prefill,
        assemble=lambda g: assemble_program(view, prefill, g),
    )
    text = NESTED_BODY + ENDINGS["main_after"]
    assert model.program_text(text) == assemble_program(view, prefill, text)
    assert "int main" not in model.program_text(text)


# -- the Python path: a completion continuing a prefilled `def` ----------------------------------
PY_PROMPT = (
    "from typing import Dict\n\n\n"
    "def braces(n: int) -> Dict[str, int]:\n"
    '    """Count of "{" per key: {"open": n, "close": n}.\n\n'
    "    >>> braces(1)\n"
    "    {'open': 1, 'close': 1}\n"
    '    """\n'
)
PY_BODY = (
    "    table = {'open': 0, 'close': 0}  # a dict { with } braces\n"
    '    text = f"{{{n}}}" + \'}\' + "{"\n'
    "    for ch in text:\n"
    "        if ch == '{':\n"
    "            table['open'] += 1\n"
    "        elif ch == '}':\n"
    "            table['close'] += 1\n"
    "    return {k: v - 2 + n for k, v in table.items()}\n"
)
PY_ENDINGS = {
    "fence": "```",
    "eos_without_fence": "",
    "print_after": "\n\nprint(braces(2))\n```",
    "main_guard_after": "\n\nif __name__ == '__main__':\n    print(braces(2))\n```",
    "failing_assert_after": "\n\nassert braces(1) == {'open': 9}\n```",
    "prose_after_fence": "```\n\nThe dict {open, close} counts braces.",
    "prose_without_fence": "\nThis counts the braces in the text.\n",
}


def python_view() -> PythonView:
    return PythonView(
        problem_from_dict(
            {
                "task_id": "braces",
                "entry_point": "braces",
                "prompt": PY_PROMPT,
                "public_tests": [
                    "assert braces(1) == {'open': 1, 'close': 1}",
                    "assert braces(3) == {'open': 3, 'close': 3}",
                    "assert braces(0) == {'open': 0, 'close': 0}",
                ],
            }
        )
    )


@pytest.mark.parametrize("ending", list(PY_ENDINGS))
def test_python_completion_assembles_like_the_sample_path(ending: str) -> None:
    view = python_view()
    code = assemble_program(view, PY_PROMPT, PY_BODY + PY_ENDINGS[ending])
    assert code == sample_program(view, PY_PROMPT + PY_BODY)
    assert "print(" not in code and "assert" not in code  # script lines dropped, as `sample`


def test_python_program_with_a_failing_example_assert_still_passes(
    local_sandbox: LocalSandbox,
) -> None:
    view = python_view()
    reward = PublicReward(view, local_sandbox)
    text = PY_BODY + PY_ENDINGS["failing_assert_after"]
    assert reward(assemble_program(view, PY_PROMPT, text)) == 1.0
    assert reward(raw_program(PY_PROMPT, text)) == 0.0  # kept as written it dies on import


def test_without_public_tests_a_program_that_loads_earns_the_full_reward(
    local_sandbox: LocalSandbox,
) -> None:
    """PG-TD's reward (the view's public run) when the problem has no public tests (no
    examples in its docstring either): the harness checks that the program loads (one
    `loads` test); one that fails on import earns nothing."""
    prompt = 'def twice(x: int) -> int:\n    """Two times x."""\n'
    problem = problem_from_dict({"task_id": "t", "entry_point": "twice", "prompt": prompt})
    view = PythonView(problem)
    reward = PublicReward(view, local_sandbox)
    assert view.examples == []
    assert reward(prompt + "    return 2 * x\n") == 1.0
    assert reward(prompt + "    return 2 * x\n\nraise RuntimeError('at import')\n") == 0.0
    assert reward(prompt + "    return {\n") == 0.0  # a syntax error
    (run,) = view.run_public([prompt + "    return 2 * x\n"], local_sandbox, 5.0)
    assert run.pass_rate == 1.0 and run.passed == [True]
