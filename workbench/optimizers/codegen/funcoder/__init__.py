"""FunCoder (divide, conquer, functional consensus): the pure pieces and the generator."""

from workbench.optimizers.codegen.funcoder.consensus import (
    CRASH_PENALTY,
    FIRM_FAILURE_PENALTY,
    ConsensusResult,
    Outcome,
    consensus_scores,
    outputs_equal,
    select_consensus,
)
from workbench.optimizers.codegen.funcoder.generator import FunCoderOptimizer, FunCoderSettings
from workbench.optimizers.codegen.funcoder.prompts import PROMPT_VERSION
from workbench.optimizers.codegen.funcoder.steps import (
    adopt,
    context_of,
    parse_inputs,
    program_of,
    stub_of,
)

__all__ = [
    "CRASH_PENALTY",
    "FIRM_FAILURE_PENALTY",
    "PROMPT_VERSION",
    "ConsensusResult",
    "FunCoderOptimizer",
    "FunCoderSettings",
    "Outcome",
    "adopt",
    "consensus_scores",
    "context_of",
    "outputs_equal",
    "parse_inputs",
    "program_of",
    "select_consensus",
    "stub_of",
]
