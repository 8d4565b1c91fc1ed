"""FunCoder (divide, conquer, functional consensus): the pure pieces.

The LLM-driven generator is wired on top of these and of `workbench.agents.codetree`.
"""

from workbench.agents.funcoder.consensus import (
    CRASH_PENALTY,
    FIRM_FAILURE_PENALTY,
    ConsensusResult,
    Outcome,
    consensus_scores,
    outputs_equal,
    select_consensus,
)

__all__ = [
    "CRASH_PENALTY",
    "FIRM_FAILURE_PENALTY",
    "ConsensusResult",
    "Outcome",
    "consensus_scores",
    "outputs_equal",
    "select_consensus",
]
