"""Unit tests of the C++ side of the problem views: reply parsing, assembly, signature checks,
per-np outcomes, and FunCoder's `adopt` on C++ trees (no sandbox, no model)."""

from __future__ import annotations

import re

import pytest

from workbench.errors import ConfigError
from workbench.optimizers import RunContext
from workbench.optimizers.codegen.funcoder import adopt, program_of
from workbench.optimizers.codegen.view import (
    MpiView,
    PublicReward,
    PythonView,
    canonical_type,
    extract_cpp_program,
    problem_view,
)
from workbench.optimizers.codegen.view.mpi import public_run
from workbench.tasks.mpi import (
    MpiProblem,
    MpiResult,
    MpiTask,
    NpResult,
    check_source,
    defines_function,
    library_dir,
    load_library,
    load_problem,
)

PROBLEM = load_problem(library_dir() / "reduce_dot_product")
SIG = "double dot_product(std::vector<double> const& x, std::vector<double> const& y)"
BODY = """  double s = 0.0;
  for (std::size_t i = 0; i < x.size(); ++i) s += x[i] * y[i];
  MPI_Bcast(&s, 1, MPI_DOUBLE, 0, MPI_COMM_WORLD);
  return s;
"""


def test_whole_definition_keeps_helpers_and_drops_main_and_unreached_code() -> None:
    reply = """Here you go:
```cpp
#include <numeric>
static double part(const double* a, const double* b, long n) {
  return std::inner_product(a, a + n, b, 0.0);
}
double unused(double v) { return v; }
double dot_product(const std::vector<double> &x, const std::vector<double> &y) {
  double s = part(x.data(), y.data(), (long)x.size());
  MPI_Bcast(&s, 1, MPI_DOUBLE, 0, MPI_COMM_WORLD);
  return s;
}
int main() { return dot_product({}, {}) > 0; }
```
It sums the products."""
    prog = extract_cpp_program(reply, PROBLEM)
    assert prog.error is None and prog.code is not None
    code = prog.code
    assert "int main" not in code and "unused" not in code
    assert code.index("static double part") < code.index("double dot_product")
    # the reply's include and the prompt's includes are all there, once
    assert code.count("#include <mpi.h>") == 1 and "#include <numeric>" in code
    assert "#include <vector>" in code


@pytest.mark.parametrize("tail", ["", "}\n"])
def test_a_body_is_completed_with_the_prompt(tail: str) -> None:
    prog = extract_cpp_program(f"```cpp\n{BODY}{tail}```", PROBLEM)
    assert prog.code is not None
    assert prog.code.rstrip().endswith("return s;\n}")
    assert f"{SIG} {{" in prog.code and prog.code.count("dot_product(") == 1


@pytest.mark.parametrize(
    ("reply", "message"),
    [
        ("I cannot help with that.", "holds no C/C++ code"),
        (f"```cpp\n{SIG} {{\n  throw 1;\n}}\n```", "left unimplemented"),
        (
            "```cpp\nint other(int a) { return a; }\n```",
            "does not define dot_product() (it has other)",
        ),
        (
            "```cpp\ndouble dot_product(std::vector<double> x, std::vector<double> const& y) {\n"
            "  return 0.0 + x.size();\n}\n```",
            "parameter 1 of dot_product() has type 'std::vector<double>'",
        ),
        (
            "```cpp\nfloat dot_product(std::vector<double> const& x, std::vector<double> const& y) "
            "{\n  return 1.0f;\n}\n```",
            "returns 'float'",
        ),
    ],
)
def test_bad_replies_give_a_message_for_the_model(reply: str, message: str) -> None:
    prog = extract_cpp_program(reply, PROBLEM)
    assert prog.code is None and prog.error is not None and message in prog.error


def test_canonical_type_moves_const_and_spacing() -> None:
    assert canonical_type("std::vector<double> const &") == "const std::vector<double>&"
    assert canonical_type("const std::vector<double>&") == "const std::vector<double>&"
    assert canonical_type("std::vector<double>&") != canonical_type("std::vector<double> const&")
    assert canonical_type("int *") == "int*" and canonical_type(None) == ""
    assert canonical_type("const std::size_t") == canonical_type("size_t") == "size_t"
    assert canonical_type("const int* ") == "const int*" != canonical_type("int*")


def test_view_hides_solutions_and_shows_the_prompt() -> None:
    task = MpiTask("dot", PROBLEM)
    view = problem_view(task, "sample")
    assert isinstance(view, MpiView) and view.drivers is task.drivers
    assert view.problem.solution is None and view.problem.wrong is None
    assert PROBLEM.solution is not None  # the task keeps them (tests use them)
    assert view.prompt.endswith(SIG + " {") and view.payload("x") == {
        "code": "x",
        "language": "cpp",
    }
    assert view.examples == ["it is run with np = 1, 2, 3, 4 MPI ranks and checked on every run"]
    assert "output: 6" in view.prompt  # the example is in the prompt's doc comment
    root = view.prompt_tree().functions["dot_product"]
    assert not root.implemented and "dot product" in (root.docstring or "")
    stub = view.stub(root)
    assert stub.startswith("/* Return the dot product") and "// TODO: implement" in stub
    assert view.signature_problems(root) == []


def test_problem_view_refuses_other_kinds() -> None:
    with pytest.raises(ConfigError, match="kind: code or kind: mpi"):
        problem_view(object(), "funcoder")
    with pytest.raises(ConfigError, match=r"'pgtd' writes code.*got no task"):
        problem_view(None, "pgtd")


def _np(np: int, passed: bool, status: str = "ok", detail: str = "") -> NpResult:
    return NpResult(np=np, passed=passed, time_candidate=None, time_reference=None,
                    detail=detail, status=status)  # type: ignore[arg-type]  # fmt: skip


def test_public_run_turns_per_np_results_into_outcomes() -> None:
    runs = [
        _np(1, True),
        _np(2, False, "ok", "VALIDATION: FAIL got 5 want 6"),
        _np(3, False, "timeout", "timed out"),
        _np(4, False, "error", "SIGSEGV"),
    ]
    result = MpiResult(problem="reduce_dot_product", status="failed", runs=runs)
    pub = public_run(PROBLEM, result)
    assert pub.pass_rate == 0.25 and pub.passed == [True, False, False, False]
    assert [o["status"] for o in pub.outcomes] == ["ok", "ok", "timeout", "crash"]
    assert pub.outcomes[0]["value"] == "PASS" and "got 5" in pub.outcomes[1]["value"]
    assert pub.feedback.startswith("Not all runs validated.")
    broken = public_run(PROBLEM, MpiResult(problem="p", status="compile_error", compile_output="e"))
    assert broken.pass_rate == 0.0 and broken.passed == [False] * 4
    assert all(o["status"] == "crash" for o in broken.outcomes)


def test_public_reward_is_the_pass_rate_of_run_public() -> None:
    class FakeView(PythonView):
        def __init__(self) -> None:
            self.seen: list[list[str]] = []

        def run_public(self, codes, sandbox, timeout_s):  # type: ignore[no-untyped-def]
            from workbench.optimizers.codegen.view import PublicRun

            self.seen.append(list(codes))
            return [PublicRun(0.75)]

    view = FakeView()
    reward = PublicReward(view, sandbox="box")
    assert reward("int f();") == 0.75 and reward("   ") == 0.0
    assert view.seen == [["int f();"]] and reward.runs == 1


def test_adopt_takes_a_cpp_divide_reply_with_helper_stubs() -> None:
    view = MpiView(PROBLEM)
    tree = view.prompt_tree()
    reply = f"""```cpp
#include <mpi.h>
/* Sum of x[i] * y[i] over [b, e). */
double part(std::vector<double> const& x, std::vector<double> const& y, long b, long e) {{
  // TODO: implement this function
}}
{SIG} {{
  double s = part(x, y, 0, (long)x.size());
  MPI_Bcast(&s, 1, MPI_DOUBLE, 0, MPI_COMM_WORLD);
  return s;
}}
int main() {{ return 0; }}
```"""
    new = adopt(tree, reply, "dot_product", check=view.signature_problems)
    assert list(new.functions) == ["dot_product", "part"] and "main" not in new.functions
    assert new.functions["dot_product"].calls == ["part"] and new.stubs() == ["part"]
    assert not tree.functions["dot_product"].implemented  # the input tree is unchanged
    code = program_of(new, "dot_product")
    assert code.index("double part(") < code.index("double dot_product(")
    wrong = reply.replace(SIG, "double dot_product(std::vector<double> x, std::vector<double> y)")
    from workbench.optimizers.codegen.codetree import CodeParseError

    with pytest.raises(CodeParseError, match="parameter 1 of dot_product"):
        adopt(tree, wrong, "dot_product", check=view.signature_problems)


def test_generators_accept_an_mpi_task() -> None:
    from workbench.optimizers.codegen.funcoder import FunCoderOptimizer
    from workbench.optimizers.codegen.pgtd import PGTDOptimizer
    from workbench.optimizers.codegen.sample import SampleOptimizer

    ctx = RunContext(task=MpiTask("dot", PROBLEM))
    assert SampleOptimizer(ctx, {}).view.language == "cpp"
    assert FunCoderOptimizer(ctx, {}).prompt_version == "funcoder-cpp-3"
    assert PGTDOptimizer(ctx, {}).prompt_version == "pgtd-cpp-1"


@pytest.mark.parametrize(
    "name",
    [
        "workbench.optimizers.codegen.view",
        "workbench.optimizers.codegen.view.mpi",
        "workbench.optimizers.codegen.view.python",
    ],
)
def test_docstring_examples(name: str) -> None:
    import doctest
    import importlib

    failures, tried = doctest.testmod(importlib.import_module(name))
    assert tried > 0 and failures == 0


@pytest.mark.parametrize("problem", load_library(), ids=lambda p: p.name)
def test_every_library_problem_parses_for_the_generators(problem: MpiProblem) -> None:
    view = MpiView(problem)
    root = view.prompt_tree().functions[problem.function]
    assert not root.implemented and view.signature_problems(root) == []
    assert problem.solution is not None
    prog = view.extract(f"```cpp\n{problem.solution}\n```")
    assert prog.error is None and prog.code is not None
    assert check_source(prog.code) == [] and defines_function(problem, prog.code)


_DECLARED = re.compile(r"\b(?:const\s+)?(?:long|int|double|auto|bool|std::size_t)\s+(.+?);")
_PARAM = re.compile(r"(\w+)\s*(?:,|\)\s*$)")


def _locals(answer: str) -> set[str]:
    """The names an example answer declares inside its functions (`int a = 0, b = 1;`)."""
    names: set[str] = set()
    for decl in _DECLARED.findall(answer):
        for part in re.split(r",(?![^(]*\))", decl):
            m = re.match(r"\s*(\w+)", part)
            if m:
                names.add(m.group(1))
    return names


def test_cpp_examples_declare_no_name_a_problem_takes_as_a_parameter() -> None:
    """The model copies the example's locals: `const long n` shadowed the `n` of gemv and
    jacobi and did not compile (issue 17). No example declares a library parameter's name,
    nor the usual names of a size."""
    from workbench.optimizers.codegen.funcoder import prompts as funcoder
    from workbench.optimizers.codegen.sample import prompts as sample

    params = {"n", "m", "k", "size", "len", "count", "length"}
    for problem in load_library():
        params |= set(_PARAM.findall(problem.signature))
    assert {"n", "x", "bins", "steps"} <= params  # the signatures were read
    for answer in (sample.EXAMPLE_ANSWER_CPP, funcoder.DIVIDE_EXAMPLE_ANSWER_CPP):
        declared = _locals(answer)
        assert {"rank", "begin", "end", "mine"} <= declared
        assert not declared & params, sorted(declared & params)


def test_funcoder_shows_the_solutions_of_the_most_alike_pool_problems() -> None:
    """The exemplar retrieval for MPI (issue 17): FunCoder's prompts carry the solutions of
    the pool problems most like the task's, never its own, never one outside the pool."""
    from pydantic import ValidationError

    from workbench.optimizers.codegen.funcoder import FunCoderOptimizer
    from workbench.optimizers.codegen.funcoder.prompts import divide_messages

    argmin = load_problem(library_dir() / "reduce_argmin")
    ctx = RunContext(task=MpiTask("argmin", argmin))
    pool = ["reduce_dot_product", "dense_gemv", "reduce_argmin", "stencil_jacobi_1d"]
    opt = FunCoderOptimizer(ctx, {"similar_exemplars": 2, "exemplar_pool": pool})
    dot = load_problem(library_dir() / "reduce_dot_product")
    assert opt.shown[0].solution == dot.solution
    assert len(opt.shown) == 2 and argmin.solution not in [e.solution for e in opt.shown]
    messages = opt._guided(divide_messages("", opt._stub(opt.prompt_tree, "index_of_min"), "cpp"))
    assert any(dot.solution.strip() in m["content"] for m in messages)
    whole = FunCoderOptimizer(ctx, {"similar_exemplars": 1, "exemplar_pool": [str(library_dir())]})
    assert whole.shown[0].problem != argmin.prompt  # a folder of problems: never itself
    assert FunCoderOptimizer(ctx, {}).shown == []
    with pytest.raises(ValidationError, match="similar_exemplars needs exemplar_pool"):
        FunCoderOptimizer(ctx, {"similar_exemplars": 1})
