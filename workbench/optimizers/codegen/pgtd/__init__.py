"""PG-TD: planning-guided token-level tree search, and the `pgtd` generator built on it.

The pure search (`SearchTree`, `PGTDSearch`) takes plain callables; `llm.TokenModel` adapts an
`LLMClient` to them and the problem view's `PublicReward` the harness; `assembly.assemble_program`
turns a rollout's text into the program the `sample` generator would build from the same code;
`PGTDOptimizer` runs the search on the loop.
"""

from workbench.optimizers.codegen.pgtd.assembly import assemble_program, raw_program
from workbench.optimizers.codegen.pgtd.cache import PrefixIndex
from workbench.optimizers.codegen.pgtd.llm import TokenModel
from workbench.optimizers.codegen.pgtd.optimizer import PGTDOptimizer, PGTDSettings
from workbench.optimizers.codegen.pgtd.prompts import PROMPT_VERSION
from workbench.optimizers.codegen.pgtd.search import PGTDSearch, SearchResult
from workbench.optimizers.codegen.pgtd.tree import (
    Counters,
    Node,
    Program,
    SearchTree,
    program_key,
    topk_priors,
    var_p_ucb,
)

__all__ = [
    "PROMPT_VERSION",
    "Counters",
    "Node",
    "PGTDOptimizer",
    "PGTDSearch",
    "PGTDSettings",
    "PrefixIndex",
    "Program",
    "SearchResult",
    "SearchTree",
    "TokenModel",
    "assemble_program",
    "program_key",
    "raw_program",
    "topk_priors",
    "var_p_ucb",
]
