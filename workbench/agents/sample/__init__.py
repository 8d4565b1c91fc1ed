"""The `sample` code generator (n samples at a temperature, best by public tests, repair)."""

from workbench.agents.sample.common import (
    Program,
    calls_left,
    code_problem,
    extract_program,
    sandbox_of,
)
from workbench.agents.sample.generator import SampleOptimizer, SampleSettings
from workbench.agents.sample.prompts import PROMPT_VERSION

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
