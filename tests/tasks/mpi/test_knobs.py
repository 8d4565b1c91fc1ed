"""Knobs a candidate declares in its code (`workbench.tasks.mpi.knobs`): read, bounded, and set
at compile time, so a tuner can search them against the judge's times (issue 17)."""

from __future__ import annotations

import pytest

from tests.fixtures.mpi_checks import KNOB_KERNEL as KERNEL
from workbench.contracts import Candidate
from workbench.sandbox import Sandbox
from workbench.tasks import RunContext
from workbench.tasks.mpi import (
    MpiTask,
    build_request,
    evaluate,
    knob_defines,
    knob_space,
    library_dir,
    load_problem,
    parse_knobs,
)

DECLARED = """// @knob CHUNK int 64 65536 log
// @knob ALPHA float 0.5 2.0
  //@knob USE_ALLREDUCE choice 0 1
#ifndef CHUNK
#define CHUNK 4096
#endif
"""


def test_declarations_are_read_with_their_ranges() -> None:
    knobs, problems = parse_knobs(DECLARED)
    assert problems == []
    assert knob_space(knobs) == {
        "CHUNK": {"type": "int", "low": 64, "high": 65536, "log": True},
        "ALPHA": {"type": "float", "low": 0.5, "high": 2.0, "log": False},
        "USE_ALLREDUCE": {"type": "categorical", "choices": [0, 1]},
    }
    # values become -D flags in declaration order; a knob left out keeps the code's default
    assert knob_defines(knobs, {"USE_ALLREDUCE": 0, "CHUNK": 128}) == [
        "-DCHUNK=128",
        "-DUSE_ALLREDUCE=0",
    ]
    assert knob_defines(knobs, {"ALPHA": 1}) == ["-DALPHA=1.0"]
    assert knob_defines(knobs, {}) == []


@pytest.mark.parametrize(
    ("values", "why"),
    [
        ({"CHUNK": 32}, "CHUNK = 32 is outside [64, 65536]"),
        ({"CHUNK": 100.5}, "CHUNK = 100.5 is not an integer"),
        ({"CHUNK": "64; rm -rf /"}, "CHUNK = '64; rm -rf /' is not a number"),
        ({"USE_ALLREDUCE": 2}, "USE_ALLREDUCE = 2 is not one of [0, 1]"),
        ({"ALPHA": float("nan")}, "ALPHA = nan is outside [0.5, 2]"),
        ({"WB_N": 1}, "WB_N is not a knob of this code"),
        ({"CHUNK": True}, "CHUNK = True is not a number"),
    ],
)
def test_a_value_outside_its_knob_is_refused(values: dict, why: str) -> None:
    knobs, _ = parse_knobs(DECLARED)
    with pytest.raises(ValueError, match="^" + why.replace("[", r"\[").replace("]", r"\]")):
        knob_defines(knobs, values)


@pytest.mark.parametrize(
    ("line", "why"),
    [
        ("// @knob WB_N int 1 5", "not starting with WB_"),
        ("// @knob chunk int 1 5", "an upper-case macro name"),
        ("// @knob CHUNK int 5 1", "expected LOW < HIGH"),
        ("// @knob CHUNK int 0 8 log", "LOW > 0 with log"),
        ("// @knob CHUNK int 1", "expected LOW HIGH [log]"),
        ("// @knob CHUNK int 1.5 8", "expected LOW HIGH"),
        ("// @knob MODE choice 1", "2 to 16 different integers"),
        ("// @knob MODE string a b", "a kind: int, float or choice"),
        ("// @knob", "write '// @knob NAME int LOW HIGH [log]'"),
        ("// @knob A int 1 2\n// @knob A int 1 3", "A is declared twice"),
    ],
)
def test_bad_declarations_are_named(line: str, why: str) -> None:
    knobs, problems = parse_knobs(line)
    assert len(problems) == 1 and why in problems[0], problems
    assert len(knobs) == (1 if "twice" in why else 0)


def test_knob_flags_reach_the_compile_line_and_the_request_key() -> None:
    problem = load_problem(library_dir() / "reduce_dot_product")
    plain = build_request(problem, KERNEL)
    tuned = build_request(problem, KERNEL, defines=["-DCHUNK=8"])
    assert "-DCHUNK=8" in tuned.compile_command and "-DCHUNK=8" in str(tuned.files["run.sh"])
    assert tuned.compile_command.index("-DCHUNK=8") < tuned.compile_command.index("-o")
    assert plain.marker != tuned.marker  # one candidate, two programs


@pytest.mark.slow
def test_each_knob_value_builds_its_own_program(mpi_sandbox: Sandbox) -> None:
    problem = load_problem(library_dir() / "reduce_dot_product")
    default = evaluate(problem, KERNEL, mpi_sandbox)
    assert default.passed, default.feedback
    for values in ({"CHUNK": 1, "USE_ALLREDUCE": 0}, {"CHUNK": 100000}):
        tuned = evaluate(problem, KERNEL, mpi_sandbox, knobs=values)
        assert tuned.passed, tuned.feedback
    refused = evaluate(problem, KERNEL, mpi_sandbox, knobs={"CHUNK": 0})
    assert refused.status == "rejected"
    assert refused.source_problems == ["knob values: CHUNK = 0 is outside [1, 100000]"]


@pytest.mark.slow
def test_the_mpi_kind_takes_knobs_in_the_payload(mpi_sandbox: Sandbox) -> None:
    task = MpiTask("dot", load_problem(library_dir() / "reduce_dot_product"))
    ctx = RunContext(open_sandbox=lambda: mpi_sandbox)
    ok = task.evaluate(Candidate("a", {"code": KERNEL, "knobs": {"CHUNK": 7}}), ctx)
    assert ok.status == "ok" and ok.scores["passed"] == 1.0, ok.feedback
    bad = task.evaluate(Candidate("b", {"code": KERNEL, "knobs": {"STRIDE": 2}}), ctx)
    assert bad.status == "error" and "STRIDE is not a knob of this code" in bad.feedback
    bad = task.evaluate(Candidate("c", {"code": KERNEL, "knobs": [1]}), ctx)
    assert bad.status == "error" and "payload.knobs must map" in bad.feedback
