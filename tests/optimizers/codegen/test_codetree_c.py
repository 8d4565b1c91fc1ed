"""C/C++ function trees (tree-sitter) on MPI-style candidates."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.fixtures.needs import missing
from workbench.optimizers.codegen.codetree import (
    CodeParseError,
    assemble,
    check_signature,
    dependency_order,
    merge,
    parse_c,
    parse_code,
    set_body,
)

MPI_REPLY = """Here is an MPI implementation. The work is split in contiguous blocks.

```cpp
#include <mpi.h>
#include <vector>
#include <algorithm>

#define ROOT 0

/* Half-open block [lo, hi) owned by `rank` when `n` items are split over `size` ranks.
 * The first n % size ranks get one extra item. */
static void blockRange(int n, int rank, int size, int *lo, int *hi) {
    int base = n / size, extra = n % size;
    *lo = rank * base + std::min(rank, extra);
    *hi = *lo + base + (rank < extra ? 1 : 0);
}

// Sum of the squares of x[lo..hi).
double localSquares(std::vector<double> const& x, int lo, int hi);

double localSquares(std::vector<double> const& x, int lo, int hi) {
    // TODO: implement
    return 0.0;
}

template <typename T>
T clampTo(T v, T lo, T hi) { return std::max(lo, std::min(v, hi)); }

/* Return the sum of squares of x on every rank.
   x is the full vector on every rank. */
double sumOfSquares(std::vector<double> const& x) {
    int rank, size;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    int lo, hi;
    blockRange((int)x.size(), rank, size, &lo, &hi);
    double local = localSquares(x, lo, hi), total = 0.0;
    MPI_Allreduce(&local, &total, 1, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
    return clampTo(total, 0.0, 1e300);
}
```

Each rank computes its block, then `MPI_Allreduce` combines the partial sums."""


def test_mpi_reply_functions_stub_calls_includes() -> None:
    tree = parse_code(MPI_REPLY, "cpp")
    assert list(tree.functions) == ["blockRange", "localSquares", "clampTo", "sumOfSquares"]
    assert tree.stubs() == ["localSquares"]
    assert tree.functions["sumOfSquares"].calls == ["blockRange", "localSquares", "clampTo"]
    assert tree.functions["blockRange"].calls == []
    assert [s.source.strip() for s in tree.imports] == [
        "#include <mpi.h>",
        "#include <vector>",
        "#include <algorithm>",
    ]
    kinds = [(s.kind, s.names) for s in tree.others]
    assert kinds == [("constant", ["ROOT"]), ("prototype", ["localSquares"])]
    # the MPI calls are references, not module functions
    assert "MPI_Allreduce" in tree.functions["sumOfSquares"].refs


def test_mpi_reply_signatures_params_and_docs() -> None:
    tree = parse_code(MPI_REPLY, "cpp")
    sos = tree.functions["sumOfSquares"]
    assert sos.signature == "double sumOfSquares(std::vector<double> const& x)"
    assert sos.returns == "double"
    assert [(p.name, p.annotation) for p in sos.params] == [("x", "const std::vector<double>&")]
    assert (
        sos.docstring
        == "Return the sum of squares of x on every rank.\nx is the full vector on every rank."
    )
    assert sos.source.startswith("/* Return the sum")
    assert sos.body.startswith("int rank, size;\nMPI_Comm_rank(")
    block = tree.functions["blockRange"]
    assert block.signature == "static void blockRange(int n, int rank, int size, int *lo, int *hi)"
    assert block.returns == "void"  # `static` is not part of the type
    assert [(p.name, p.annotation) for p in block.params][-1] == ("hi", "int*")
    assert block.docstring is not None and block.docstring.startswith("Half-open block")
    assert tree.functions["clampTo"].source.startswith("template <typename T>")
    assert tree.functions["localSquares"].docstring is None  # its comment sits on the prototype


@pytest.mark.parametrize(
    ("body", "implemented"),
    [
        ("", False),
        ("// your code here", False),
        ("/* TODO */ return 0;", False),
        ('throw std::logic_error("not implemented");', False),
        ("(void)n; // implement me\nreturn;", False),
        ("return 0;", True),  # a real `zero()` is not a stub
        ("return n * 2;", True),
        ('if (n < 0) return -1;\nthrow std::runtime_error("bad");', True),
        ("// TODO: faster\nreturn n * 2;", True),
    ],
)
def test_cpp_stub_rule(body: str, implemented: bool) -> None:
    tree = parse_c(f"int f(int n) {{\n{body}\n}}\n", "cpp", extract=False)
    assert tree.functions["f"].implemented is implemented


def test_plain_c_and_void_parameter_list() -> None:
    tree = parse_c(
        "```c\n#include <stdio.h>\nstatic int counter = 0;\nint next(void) { return ++counter; }\n"
        "int *buf(int n, ...) { return 0; }\n```",
        "c",
    )
    assert tree.functions["next"].params == []
    assert [s.kind for s in tree.others] == ["constant"]
    buf = tree.functions["buf"]
    assert buf.returns == "int*"
    assert [p.kind for p in buf.params] == ["param", "variadic"]


def test_reply_without_fences() -> None:
    reply = (
        "The function is:\n\n#include <mpi.h>\n\n"
        "void barrier() {\n    MPI_Barrier(MPI_COMM_WORLD);\n}\n\n"
        "Call it on every rank."
    )
    tree = parse_code(reply, "cpp")
    assert list(tree.functions) == ["barrier"] and tree.functions["barrier"].implemented


def test_malformed_reply_raises_with_the_line() -> None:
    reply = "```cpp\n#include <mpi.h>\nint ok(int a) { return a; }\nvoid broken(int x {\n  x++\n```"
    with pytest.raises(CodeParseError, match="C\\+\\+ code does not parse: line 3") as err:
        parse_code(reply, "cpp")
    assert err.value.raw == reply
    tolerant = parse_c(reply, "cpp", tolerant=True)
    assert list(tolerant.functions) == ["ok"]
    assert tolerant.errors and tolerant.errors[0].startswith("line 3")


def test_reply_without_code_raises() -> None:
    with pytest.raises(CodeParseError, match="no C/C\\+\\+ code"):
        parse_code("I am not sure how to do that with MPI.", "cpp")


@pytest.mark.parametrize(
    ("required", "problems"),
    [
        ("double sumOfSquares(const std::vector<double> &v)", []),  # names are free in C++
        ("double sumOfSquares(std::vector<double> const& x);", []),
        (
            "double sumOfSquares(std::vector<float> const& x)",
            [
                "parameter 1 of 'sumOfSquares' is of type 'const std::vector<double>&', "
                "expected 'const std::vector<float>&'"
            ],
        ),
        (
            "void sumOfSquares(const std::vector<double> &x)",
            ["'sumOfSquares' returns 'double', expected 'void'"],
        ),
        (
            "double sumOfSquares(const std::vector<double> &x, int n)",
            ["'sumOfSquares' takes 1 parameters, expected 2 (x, n)"],
        ),
        (
            "double sumSquares(const std::vector<double> &x)",
            ["function is named 'sumOfSquares', expected 'sumSquares'"],
        ),
    ],
)
def test_check_cpp_signature(required: str, problems: list[str]) -> None:
    fn = parse_code(MPI_REPLY, "cpp").functions["sumOfSquares"]
    assert check_signature(fn, required, "cpp") == problems


def test_set_body_order_and_assembly() -> None:
    tree = parse_code(MPI_REPLY, "cpp")
    tree = set_body(
        tree,
        "localSquares",
        "{\n  double s = 0.0;\n  for (int i = lo; i < hi; ++i) s += x[i] * x[i];\n  return s;\n}",
    )
    fn = tree.functions["localSquares"]
    assert fn.implemented
    assert fn.source.startswith(
        "double localSquares(std::vector<double> const& x, int lo, int hi) {\n"
    )
    assert "    double s = 0.0;\n" in fn.source
    assert dependency_order(tree, "sumOfSquares") == [
        "blockRange",
        "localSquares",
        "clampTo",
        "sumOfSquares",
    ]
    module = assemble(tree, "sumOfSquares")
    assert module.startswith("#include <mpi.h>\n#include <vector>\n#include <algorithm>\n")
    assert module.index("#define ROOT") < module.index("static void blockRange")
    assert module.index("static void blockRange") < module.index("double sumOfSquares")
    again = parse_c(module, "cpp", extract=False)
    assert again.stubs() == [] and list(again.functions)[-1] == "sumOfSquares"


def test_merge_cpp_divide_reply() -> None:
    base = parse_code(
        "```cpp\n#include <mpi.h>\nint solve(int n) { return 0; /* TODO */ }\n```", "cpp"
    )
    divide = parse_code(
        "```cpp\n#include <vector>\nint helper(int n);\n"
        "int solve(int n) { return helper(n) + 1; }\n"
        "int helper(int n) { /* todo */ return 0; }\n```",
        "cpp",
    )
    merged = merge(base, divide)
    assert merged.functions["solve"].calls == ["helper"]
    assert merged.stubs() == ["helper"]
    assert [s.source.strip() for s in merged.imports] == ["#include <mpi.h>", "#include <vector>"]
    assert merged.others == []  # prototypes are not needed once children come first


def test_assembled_module_compiles_with_mpicxx(tmp_path: Path) -> None:
    if shutil.which("mpicxx") is None:
        missing("mpicxx is not installed (apt-get install mpich)")
    tree = set_body(parse_code(MPI_REPLY, "cpp"), "localSquares", "return hi - lo + x[0];")
    source = tmp_path / "candidate.cpp"
    source.write_text(assemble(tree, "sumOfSquares"))
    proc = subprocess.run(
        ["mpicxx", "-std=c++17", "-fsyntax-only", "-Wall", str(source)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr


def test_prose_mentioning_calls_is_not_taken_for_code() -> None:
    reply = (
        "Note that MPI_Allreduce(...) is used below.\n"
        "int twice(int n) {\n    return 2 * n;\n}\n"
        "That is all."
    )
    tree = parse_code(reply, "cpp")
    assert list(tree.functions) == ["twice"]
    assert tree.source.startswith("int twice(int n) {")


def test_types_keep_their_semicolons_and_the_module_compiles(tmp_path: Path) -> None:
    src = (
        "#include <vector>\nusing namespace std;\nstruct Pair { double v; int i; };\n"
        "enum Color { RED, GREEN };\ntypedef struct { int a; } Foo;\n"
        "class K { public: int m() const { return 1; } };\nconst int N = 10;\n"
        "int f() { Pair p{1.0, 2}; K k; Foo foo{3}; return p.i + k.m() + foo.a + N + RED; }\n"
    )
    tree = parse_c(src, "cpp", extract=False)
    assert [s.kind for s in tree.others] == [
        "class",
        "class",
        "class",
        "class",
        "class",
        "constant",
    ]
    assert all(s.source.rstrip().endswith(";") for s in tree.others)
    if shutil.which("g++") is None:
        missing("g++ is not installed")
    source = tmp_path / "types.cpp"
    source.write_text(assemble(tree))
    proc = subprocess.run(
        ["g++", "-std=c++17", "-fsyntax-only", str(source)], capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr
