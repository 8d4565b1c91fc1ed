"""The `mpi` task kind's harness: ParEval-style MPI problems, evaluation and metrics.

A problem (``tasks/mpi/<name>/``) asks for one C++ function; its driver makes each trial's inputs
and calls the candidate. `evaluate` compiles a candidate once and runs it at every np in one
sandbox call, beside a judge out of the candidate's reach (``_judge.py``) that compares every
rank's outputs with the driver's serial reference and measures the time itself.

>>> from workbench.tasks.mpi import load_problem, library_dir, check_source
>>> problem = load_problem(library_dir() / "reduce_dot_product")
>>> problem.np
[1, 2, 3, 4]
>>> check_source("double dot_product(...) { MPI_Init(0, 0); return 0; }")[0]
'the code calls MPI_Init: MPI is already initialized by the driver; do not call MPI_Init'
"""

from workbench.tasks.base import Kind
from workbench.tasks.mpi.kind import MpiSection, MpiTask, mpi_task_factory
from workbench.tasks.mpi.knobs import Knob, knob_defines, knob_space, parse_knobs
from workbench.tasks.mpi.metrics import pass_at_k, speedup_at_k, summarize
from workbench.tasks.mpi.parse import ParsedOutput, RawRun, np_status, parse_output, parse_run
from workbench.tasks.mpi.prebuild import DriverCache
from workbench.tasks.mpi.problem import (
    MpiProblem,
    MpiProblemSpec,
    MpiTimeouts,
    SpeedGate,
    library_dir,
    load_library,
    load_problem,
    render_prompt,
)
from workbench.tasks.mpi.results import MpiResult, MpiStatus, NpResult, NpStatus
from workbench.tasks.mpi.runner import (
    MpiRequest,
    build_request,
    compile_flags,
    default_limits,
    evaluate,
    evaluate_many,
    interpret,
    problem_files,
)
from workbench.tasks.mpi.source import (
    assemble_candidate,
    candidate_header,
    check_source,
    defines_function,
    strip_comments_and_strings,
)

__all__ = [
    "KIND",
    "DriverCache",
    "Knob",
    "MpiProblem",
    "MpiProblemSpec",
    "MpiRequest",
    "MpiResult",
    "MpiSection",
    "MpiStatus",
    "MpiTask",
    "MpiTimeouts",
    "NpResult",
    "NpStatus",
    "ParsedOutput",
    "RawRun",
    "SpeedGate",
    "assemble_candidate",
    "build_request",
    "candidate_header",
    "check_source",
    "compile_flags",
    "default_limits",
    "defines_function",
    "evaluate",
    "evaluate_many",
    "interpret",
    "knob_defines",
    "knob_space",
    "library_dir",
    "load_library",
    "load_problem",
    "mpi_task_factory",
    "np_status",
    "parse_knobs",
    "parse_output",
    "parse_run",
    "pass_at_k",
    "problem_files",
    "render_prompt",
    "speedup_at_k",
    "strip_comments_and_strings",
    "summarize",
]

KIND = Kind("mpi", MpiSection, mpi_task_factory)
"""The ``mpi`` task kind (named in `workbench.tasks.base.KINDS`)."""
