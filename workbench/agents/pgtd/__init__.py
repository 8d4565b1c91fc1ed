"""PG-TD: planning-guided token-level tree search (the pure search; the LLM and sandbox plug in)."""

from workbench.agents.pgtd.cache import PrefixIndex
from workbench.agents.pgtd.search import PGTDSearch, SearchResult
from workbench.agents.pgtd.tree import (
    Counters,
    Node,
    Program,
    SearchTree,
    program_key,
    topk_priors,
    var_p_ucb,
)

__all__ = [
    "Counters",
    "Node",
    "PGTDSearch",
    "PrefixIndex",
    "Program",
    "SearchResult",
    "SearchTree",
    "program_key",
    "topk_priors",
    "var_p_ucb",
]
