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
