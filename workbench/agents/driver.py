"""Running the loop graph durably: the SQLite checkpointer and the stream driver."""

from __future__ import annotations

import os

# Checkpoints must never deserialize arbitrary types (langgraph's README warning).
os.environ.setdefault("LANGGRAPH_STRICT_MSGPACK", "true")

import contextlib
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer
from langgraph.checkpoint.sqlite import SqliteSaver

from workbench.agents.graph import Loop

__all__ = ["open_checkpointer", "run_graph"]

Event = dict[str, Any]


@contextlib.contextmanager
def open_checkpointer(path: str | Path) -> Iterator[SqliteSaver]:
    """A `SqliteSaver` on `path` whose serializer only accepts JSON-safe types.

    The saver puts the database in WAL mode; synchronous=NORMAL (SQLite's default is FULL)
    drops the fsync of every commit, 8 a step. A committed checkpoint is in the WAL file when
    the commit returns, so it survives the process being killed (kill -9, the resume tests);
    a power cut or an OS crash can take back the last checkpoints (never corrupt the
    database), and the run resumes from an earlier step.
    """
    conn = sqlite3.connect(str(path), check_same_thread=False)
    try:
        saver = SqliteSaver(conn, serde=JsonPlusSerializer(allowed_msgpack_modules=None))
        saver.setup()
        conn.execute("PRAGMA synchronous=NORMAL")
        yield saver
    finally:
        conn.close()


def run_graph(
    graph: Any,
    loop: Loop,
    thread_id: str,
    on_event: Callable[[Event], None] | None = None,
) -> dict[str, Any]:
    """Run (or resume) the loop to its end; returns the final state.

    A thread with a checkpoint resumes where it stopped (also after an exception, raised by a
    node or by `on_event`); one without starts afresh; a finished one returns its state at once.
    """
    config: dict[str, Any] = {
        "configurable": {"thread_id": thread_id},
        # +1: the stream's queue waiter takes a slot of the executor
        # (max_concurrency=1 would deadlock); a step never has more
        # than `parallel` evaluate tasks anyway.
        "max_concurrency": loop.settings.parallel + 1,
        "recursion_limit": 10_000_000,
    }
    snapshot = graph.get_state(config)
    # Finished means the last checkpoint has no task left. `next` alone is not enough: a run
    # stopped by an exception after a step's tasks had all written (e.g. a callback raising on
    # the stream) has no `next` either, yet its step was never committed.
    if snapshot.values and not snapshot.next and not snapshot.tasks:
        return dict(snapshot.values)
    inp = None if snapshot.values else loop.initial_state()
    # "sync": a node's checkpoint is committed before the next node starts, so a kill can only
    # repeat the node it interrupted. "async" writes it while the next node runs (a kill in an
    # evaluation could then repeat the proposals before it) and is no faster with
    # synchronous=NORMAL (bench/README.md, loop overhead).
    for _mode, chunk in graph.stream(inp, config, stream_mode=["custom"], durability="sync"):
        if on_event is not None:
            on_event(chunk)
    return dict(graph.get_state(config).values)
