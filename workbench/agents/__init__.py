"""agents layer: the loop as a langgraph graph, and its run store (see DESIGN.md)."""

from workbench.agents.driver import open_checkpointer, run_graph
from workbench.agents.graph import Loop, LoopSettings, LoopState
from workbench.agents.store import RunStore, cache_key

__all__ = [
    "Loop",
    "LoopSettings",
    "LoopState",
    "RunStore",
    "cache_key",
    "open_checkpointer",
    "run_graph",
]

# The code generators are optimizers that live in this layer (they use the code tree and the
# sandbox); importing them registers their names (`sample`, `funcoder`, `pgtd`) with
# make_optimizer.
import workbench.agents.funcoder
import workbench.agents.pgtd
import workbench.agents.sample  # noqa: F401
