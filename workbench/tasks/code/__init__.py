"""The `code` task kind's harness: Python problems, their tests, and running candidates.

A `CodeProblem` holds a prompt (signature + docstring), public tests (shown to generators) and
hidden tests (scoring only). `evaluate_code` runs a candidate against them in a
`workbench.sandbox.Sandbox` and returns a `CodeResult` (status, per-test results, pass rate,
feedback for a model); `run_matrix` / `run_on_inputs` collect outputs for FunCoder's consensus.

>>> from workbench.tasks.code import load_humaneval
>>> problem = load_humaneval()[53]
>>> problem.entry_point, [t.source() for t in problem.public_tests]
('add', ['add(2, 3) == 5', 'add(5, 7) == 12'])
"""

from workbench.tasks.base import Kind
from workbench.tasks.code.examples import docstring_examples, entry_docstring
from workbench.tasks.code.files import load_problems_file
from workbench.tasks.code.harness import (
    CodeRequest,
    build_request,
    evaluate_code,
    evaluate_many,
    make_request,
    parse_result,
    pass_at_k,
    run_matrix,
    run_on_inputs,
)
from workbench.tasks.code.humaneval import (
    humaneval_path,
    load_humaneval,
    problem_from_record,
    split_check,
)
from workbench.tasks.code.kind import (
    CodeSection,
    CodeTask,
    InlineProblem,
    code_task_factory,
    load_section_problem,
)
from workbench.tasks.code.problem import (
    CodeProblem,
    ProblemSpec,
    TestCase,
    TestSpec,
    complete_code,
    defines,
    problem_from_dict,
    prompt_context,
)
from workbench.tasks.code.results import CodeResult, CodeStatus, TestResult, feedback_text

KIND = Kind("code", CodeSection, code_task_factory)
"""The ``code`` task kind (named in `workbench.tasks.base.KINDS`)."""

__all__ = [
    "KIND",
    "CodeProblem",
    "CodeRequest",
    "CodeResult",
    "CodeSection",
    "CodeStatus",
    "CodeTask",
    "InlineProblem",
    "ProblemSpec",
    "TestCase",
    "TestResult",
    "TestSpec",
    "build_request",
    "code_task_factory",
    "complete_code",
    "defines",
    "docstring_examples",
    "entry_docstring",
    "evaluate_code",
    "evaluate_many",
    "feedback_text",
    "humaneval_path",
    "load_humaneval",
    "load_problems_file",
    "load_section_problem",
    "make_request",
    "parse_result",
    "pass_at_k",
    "problem_from_dict",
    "problem_from_record",
    "prompt_context",
    "run_matrix",
    "run_on_inputs",
    "split_check",
]
