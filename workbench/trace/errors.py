"""Errors raised by traced operations.

A failure inside a traced operation or a bundled function is not lost: it becomes an
:class:`~workbench.trace.nodes.ExceptionNode` in the graph, and the :class:`ExecutionError`
that carries it lets user code send feedback from that node
(``backward(err.exception_node, feedback)``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from workbench.trace.nodes import ExceptionNode

__all__ = ["CodeError", "ExecutionError", "RemoteError"]


class ExecutionError(Exception):
    """A traced operation failed; ``exception_node`` is its node in the graph.

    Attributes:
        exception_node: The node whose ``data`` is ``"(Type) message"`` and whose
            ``error_comment`` is the source annotated at the failing line.
        exception: The original exception.
    """

    def __init__(self, exception_node: ExceptionNode) -> None:
        self.exception_node = exception_node
        self.exception = exception_node.exception
        super().__init__(f"{exception_node.data}\n{exception_node.error_comment}")


class CodeError(ValueError):
    """Rewritten source code cannot become the function it replaces (no such def, bad signature).

    Attributes:
        lineno: The 1-based line of the source the problem is on, when known.
    """

    def __init__(self, message: str, lineno: int | None = None) -> None:
        self.lineno = lineno
        super().__init__(message)


class RemoteError(Exception):
    """An error raised by code that ran elsewhere (a sandbox), described by its parts.

    An executor passed to ``@bundle(executor=...)`` raises this when the code failed in another
    process, so the failure still becomes an ExceptionNode annotated at the failing line.

    Attributes:
        type_name: The remote exception's class name (``"ZeroDivisionError"``).
        message: Its message.
        lineno: The failing line, 1-based in the executed source, when known.
    """

    def __init__(self, type_name: str, message: str, lineno: int | None = None) -> None:
        self.type_name = type_name
        self.message = message
        self.lineno = lineno
        super().__init__(f"({type_name}) {message}")
