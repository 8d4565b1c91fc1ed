"""The MPI-usage source check and the assembly of candidate.cpp."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.fixtures.needs import missing
from workbench.tasks.mpi import (
    assemble_candidate,
    build_request,
    candidate_header,
    check_source,
    defines_function,
    library_dir,
    load_problem,
    strip_comments_and_strings,
)
from workbench.tasks.mpi.problem import MpiProblem

GOOD = """
#include <mpi.h>
double dot_product(std::vector<double> const& x, std::vector<double> const& y) {
  double s = 0; MPI_Allreduce(MPI_IN_PLACE, &s, 1, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
  return s;
}
"""


@pytest.fixture(scope="module")
def dot() -> MpiProblem:
    return load_problem(library_dir() / "reduce_dot_product")


def test_good_code_has_no_problems() -> None:
    assert check_source(GOOD) == []


@pytest.mark.parametrize(
    ("call", "name"),
    [
        ("MPI_Init(nullptr, nullptr);", "MPI_Init"),
        ("MPI_Init_thread(0, 0, MPI_THREAD_SINGLE, &p);", "MPI_Init_thread"),
        ("MPI_Finalize();", "MPI_Finalize"),
        ("MPI_Abort(MPI_COMM_WORLD, 1);", "MPI_Abort"),
        ("PMPI_Finalize ();", "MPI_Finalize"),
    ],
)
def test_forbidden_mpi_calls_are_caught(call: str, name: str) -> None:
    code = GOOD.replace("return s;", f"{call}\n  return s;")
    problems = check_source(code)
    assert len(problems) == 1
    assert f"calls {name}" in problems[0]


@pytest.mark.parametrize(
    ("call", "name"),
    [
        ('system("ls");', "system"),
        ('std::system("./ref");', "system"),
        ('FILE* f = popen("cat /proc/1/environ", "r");', "popen"),
        ("if (fork() == 0) {}", "fork"),
        ('::execvp("sh", nullptr);', "execvp"),
        ("posix_spawn(&pid, p, 0, 0, a, e);", "posix_spawn"),
        ("MPI_Comm_spawn(c, a, 1, i, 0, MPI_COMM_SELF, &k, e);", "MPI_Comm_spawn"),
    ],
)
def test_starting_processes_is_caught(call: str, name: str) -> None:
    problems = check_source(GOOD.replace("return s;", f"{call}\n  return s;"))
    assert problems == [
        f"the code calls {name}(): starting processes or programs is not allowed; "
        "compute in the ranks you are given"
    ]


def test_names_that_only_contain_a_spawn_call_pass() -> None:
    code = GOOD.replace("return s;", "s += my_system(1) + obj.fork(2) + p->exec(3);\n  return s;")
    assert check_source(code) == []
    assert check_source(GOOD.replace("return s;", '// system("x") is forbidden\n  return s;')) == []


def test_main_is_caught() -> None:
    problems = check_source(GOOD + "\nint main(int argc, char** argv) { return 0; }\n")
    assert problems == [
        "the code defines or calls main(): the driver owns main; write the function"
    ]


def test_code_without_mpi_is_caught() -> None:
    serial = "double dot_product(std::vector<double> const& x, std::vector<double> const& y) {\n"
    serial += "  double s = 0; for (size_t i = 0; i < x.size(); ++i) s += x[i] * y[i];\n"
    serial += "  return s; // no MPI_Allreduce here\n}\n"
    assert check_source(serial) == [
        "the code makes no MPI call (MPI_...); use MPI to compute in parallel"
    ]
    # Naming an MPI constant is not a call.
    assert len(check_source(serial.replace("return s;", "(void)MPI_COMM_WORLD; return s;"))) == 1


def test_comments_and_strings_are_ignored() -> None:
    code = GOOD.replace(
        "return s;",
        "// MPI_Init was called by the driver; never MPI_Finalize() here\n"
        "  /* int main() { MPI_Abort(...); } */\n"
        '  const char* msg = "MPI_Finalize(); main()";\n  return s;',
    )
    assert check_source(code) == []


def test_including_the_reference_is_caught() -> None:
    assert check_source('#include "reference.hpp"\n' + GOOD) == [
        "the code includes reference.hpp, which belongs to the test driver"
    ]
    assert check_source('// #include "reference.hpp"\n' + GOOD) == []


def test_strip_keeps_positions() -> None:
    code = 'a(); // c\n"s\\"q"; /* x\ny */ b();'
    bare = strip_comments_and_strings(code)
    assert len(bare) == len(code)
    assert bare.count("\n") == code.count("\n")
    assert "a();" in bare and "b();" in bare
    assert "c" not in bare.replace("b();", "") and "q" not in bare


def test_defines_function_tells_definition_from_body(dot: MpiProblem) -> None:
    assert defines_function(dot, GOOD)
    body = "double s = 0;\nif (x.size()) { s = 1; }\nMPI_Barrier(MPI_COMM_WORLD);\nreturn s;"
    assert not defines_function(dot, body)
    # A recursive call followed by a block inside a body is not a definition.
    assert not defines_function(dot, "while (dot_product(x, y)) { break; }\nreturn 0;")


def test_assemble_wraps_a_body_and_keeps_line_numbers(dot: MpiProblem) -> None:
    body = "double s = 0;\nMPI_Barrier(MPI_COMM_WORLD);\nreturn s;"
    text = assemble_candidate(dot, body)
    assert '#include "wb_candidate.hpp"' in text
    assert f"{dot.signature} {{" in text
    assert '#line 1 "candidate.cpp"\ndouble s = 0;' in text
    assert text.rstrip().endswith("}")
    full = assemble_candidate(dot, GOOD)
    assert full.count("dot_product(") == 1  # not wrapped a second time


def test_candidate_header_declares_the_signature(dot: MpiProblem) -> None:
    header = candidate_header(dot)
    assert "#include <mpi.h>" in header and "#include <vector>" in header
    assert f"{dot.signature};" in header


@pytest.mark.parametrize("whole", [True, False], ids=["definition", "body"])
def test_compiler_quotes_the_models_own_line(dot: MpiProblem, whole: bool, tmp_path: Path) -> None:
    """The compiler's message and the source line it quotes are both the model's line 3."""
    if shutil.which("mpicxx") is None:
        missing("mpicxx is not installed (apt-get install mpich libmpich-dev)")
    body = "  double s = 0;\n  MPI_Barrier(MPI_COMM_WORLD);\n  s += undefined_name;\n  return s;\n"
    code = f"{dot.signature} {{\n{body}}}\n" if whole else body
    at = 4 if whole else 3
    for name, content in build_request(dot, code).files.items():
        if isinstance(content, str):
            (tmp_path / name).write_text(content)
    proc = subprocess.run(
        ["mpicxx", "-std=c++17", "-I.", "-fsyntax-only", "wb_unit.cpp"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode != 0
    assert f"candidate.cpp:{at}:" in proc.stderr
    assert f"{at} |   s += undefined_name;" in proc.stderr, proc.stderr
