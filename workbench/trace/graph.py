"""The graph object that names nodes, and the context that says which graph is current.

There is no registry of nodes: a :class:`Graph` is an object you can make two of, and it holds
no nodes — it only hands out unique, readable names (``x0``, ``add3``). The current graph lives in
a :class:`contextvars.ContextVar` (``with graph.activate():``), so a thread or asyncio task can use
its own; code that activates none shares one default graph. Whether tracing is on is a context
variable too (:func:`stop_tracing`).

Example:
    >>> g = Graph()
    >>> with g.activate():
    ...     g is current_graph()
    True
"""

from __future__ import annotations

import itertools
import keyword
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field

__all__ = ["Graph", "current_graph", "is_tracing", "next_seq", "stop_tracing", "use_graph"]

_CURRENT: ContextVar[Graph | None] = ContextVar("workbench_trace_graph", default=None)
_TRACING: ContextVar[bool] = ContextVar("workbench_trace_tracing", default=True)
# Creation order is a topological order (a node's parents exist before it); a process-wide
# counter lets nodes of two graphs be ordered too. It is a counter, not a registry.
_SEQ = itertools.count()


def next_seq() -> int:
    """Return the next creation number (monotonic across graphs and threads)."""
    return next(_SEQ)


_NOT_IDENT = re.compile(r"\W")


@dataclass
class Graph:
    """Hands out unique node names; one per experiment, test or thread if you like.

    Attributes:
        name: A label used in exports.
    """

    name: str = "trace"
    _counters: dict[str, int] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def unique_name(self, base: str) -> str:
        """Return ``base`` plus the next free number for it, e.g. ``x0``, ``x1``.

        Args:
            base: A readable stem; characters that are not valid in identifiers become ``_``.

        Returns:
            A Python identifier unique within this graph.
        """
        stem = _NOT_IDENT.sub("_", base) or "node"
        if stem[0].isdigit() or keyword.iskeyword(stem):
            stem = "_" + stem
        with self._lock:  # threads may share a graph
            k = self._counters.get(stem, 0)
            self._counters[stem] = k + 1
        return f"{stem}{k}"

    @contextmanager
    def activate(self) -> Iterator[Graph]:
        """Make this graph current for the ``with`` block (nested uses restore the outer one)."""
        token = _CURRENT.set(self)
        try:
            yield self
        finally:
            _CURRENT.reset(token)


_DEFAULT: list[Graph] = []  # the process's default graph, made on first use
_DEFAULT_LOCK = threading.Lock()


def current_graph() -> Graph:
    """Return the graph activated in this context, else the process's default graph.

    Threads and tasks that activate no graph share the default one, so the names of nodes
    they create never collide; activate a :class:`Graph` to keep a computation apart.
    """
    graph = _CURRENT.get()
    if graph is not None:
        return graph
    if not _DEFAULT:
        with _DEFAULT_LOCK:
            if not _DEFAULT:
                _DEFAULT.append(Graph("default"))
    return _DEFAULT[0]


@contextmanager
def use_graph(graph: Graph) -> Iterator[Graph]:
    """Same as ``graph.activate()``; reads well at call sites."""
    with graph.activate() as g:
        yield g


def is_tracing() -> bool:
    """Whether operations record their parents (False inside :func:`stop_tracing`)."""
    return _TRACING.get()


@contextmanager
def stop_tracing() -> Iterator[None]:
    """Inside this block operations still compute, but their results have no parents."""
    token = _TRACING.set(False)
    try:
        yield
    finally:
        _TRACING.reset(token)
