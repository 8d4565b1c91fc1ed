"""The `sample` code generator (n samples at a temperature, best by public tests, repair)."""

from workbench.optimizers.codegen.sample.common import (
    Program,
    calls_left,
    code_problem,
    extract_program,
    sandbox_of,
)
from workbench.optimizers.codegen.sample.generator import SampleOptimizer, SampleSettings
from workbench.optimizers.codegen.sample.prompts import PROMPT_VERSION

__all__ = [
    "PROMPT_VERSION",
    "Program",
    "SampleOptimizer",
    "SampleSettings",
    "calls_left",
    "code_problem",
    "extract_program",
    "sandbox_of",
]
