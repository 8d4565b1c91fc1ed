"""Graph nodes: plain values, trainable parameters, operation results and exceptions.

A :class:`Node` wraps a Python value. Operators on nodes (``+``, ``<``, ``x[i]``, ``s.upper()``,
``f(x)``) return :class:`MessageNode` results that remember their inputs, so a computation
leaves behind a DAG. :class:`ParameterNode` is a root the optimizer may change;
:class:`ExceptionNode` is what a failing operation produces.

``==``, ``!=``, ``bool()``, ``len()``, ``in``, ``int()`` and ``float()`` must return plain Python
values, so they are *not* traced; use ``x.eq(y)``, ``x.neq(y)``, ``x.len()`` and
``x.contains(y)`` for the traced versions. Any other public attribute is looked up on the value:
``s.upper()`` records one ``upper`` node; a non-callable attribute records a ``getattr`` node. The
node's own attributes (``name``, ``description``, ``inputs``, ``op``, ``info``, ``level``, ...)
take precedence over the value's. Methods that mutate (``append``, ``update``, ``sort``...) act
on a copy and return it as a new node, so recorded values never change after the fact.

Example:
    >>> x = node(3, trainable=True, name="x")
    >>> y = x * 2 + 1
    >>> y.data, [p.name for p in y.parents]
    (7, ['multiply0', 'int1'])
"""

from __future__ import annotations

from collections.abc import Iterator
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any, ClassVar

from workbench.trace.graph import Graph, current_graph, next_seq

if TYPE_CHECKING:
    from workbench.trace.propagation import Feedback

__all__ = [
    "ExceptionNode",
    "MessageNode",
    "Node",
    "ParameterNode",
    "as_input",
    "node",
    "reads_recorder",
]

# While a bundled function runs, every node whose `.data` is read is noted here, so a node the
# function reaches without receiving it as an argument still becomes a parent.
_READS: ContextVar[dict[int, Node] | None] = ContextVar("workbench_trace_reads", default=None)


def reads_recorder() -> ContextVar[dict[int, Node] | None]:
    """The context variable that collects nodes read while a bundled function runs."""
    return _READS


def _short(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


class Node:
    """A traced value.

    Args:
        value: The wrapped Python value.
        name: A readable stem; the graph appends a number (``x`` becomes ``x0``).
        description: Free text shown to the optimizer.
        constraint: Free text the optimizer must respect (shown under #Constraints).
        graph: The graph that names the node; the current one by default.
    """

    __slots__ = (
        "__weakref__",
        "_data",
        "constraint",
        "description",
        "graph",
        "info",
        "inputs",
        "level",
        "name",
        "op",
        "seq",
    )
    trainable: ClassVar[bool] = False
    # `array + node` must defer to `node.__radd__` instead of numpy broadcasting over the node.
    __array_ufunc__: ClassVar[None] = None

    def __init__(
        self,
        value: Any,
        *,
        name: str | None = None,
        description: str | None = None,
        constraint: str | None = None,
        graph: Graph | None = None,
    ) -> None:
        self._data = value
        self.graph = graph if graph is not None else current_graph()
        self.name = self.graph.unique_name(name or type(value).__name__)
        self.description = description
        self.constraint = constraint
        self.inputs: dict[str, Node] = {}
        self.op: str | None = None
        self.info: dict[str, Any] = {}
        self.level = 0
        self.seq = next_seq()

    # -- value access ------------------------------------------------------------------------
    @property
    def data(self) -> Any:
        """The wrapped value (reading it inside a bundled function records a dependency)."""
        reads = _READS.get()
        if reads is not None:
            reads[id(self)] = self
        return self._data

    @property
    def parents(self) -> list[Node]:
        """The distinct input nodes, in argument order."""
        seen: dict[int, Node] = {}
        for parent in self.inputs.values():
            seen.setdefault(id(parent), parent)
        return list(seen.values())

    @property
    def kind(self) -> str:
        """``"parameter"``, ``"message"``, ``"exception"`` or ``"value"``."""
        return "value"

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name}={_short(self._data)})"

    # -- untraced conversions: Python requires plain results here ---------------------------
    def __str__(self) -> str:
        return str(self.data)

    def __format__(self, spec: str) -> str:
        return format(self.data, spec)

    def __bool__(self) -> bool:
        return bool(self.data)

    def __len__(self) -> int:
        return len(self.data)

    def __contains__(self, item: Any) -> bool:
        return (item._data if isinstance(item, Node) else item) in self.data

    def __int__(self) -> int:
        return int(self.data)

    def __float__(self) -> float:
        return float(self.data)

    def __index__(self) -> int:
        return self.data.__index__()

    def __eq__(self, other: object) -> bool:
        return self.data == (other._data if isinstance(other, Node) else other)

    def __ne__(self, other: object) -> bool:
        return not self.__eq__(other)

    __hash__ = object.__hash__  # identity: nodes are graph vertices, not values

    # -- traced operations -------------------------------------------------------------------
    def eq(self, other: Any) -> MessageNode:
        """Traced ``==``."""
        return _ops.binary("eq", self, other)

    def neq(self, other: Any) -> MessageNode:
        """Traced ``!=``."""
        return _ops.binary("neq", self, other)

    def len(self) -> MessageNode:
        """Traced ``len()``."""
        return _ops.unary("len", self)

    def contains(self, item: Any) -> MessageNode:
        """Traced ``item in self``."""
        return _ops.binary("contains", self, item)

    def __getitem__(self, key: Any) -> MessageNode:
        return _ops.binary("getitem", self, key)

    def __iter__(self) -> Iterator[MessageNode]:
        value = self.data
        if isinstance(value, list | tuple | str):
            for i in range(len(value)):
                yield _ops.binary("getitem", self, i)
        else:
            items = _ops.unary("to_list", self)
            for i in range(len(items._data)):
                yield _ops.binary("getitem", items, i)

    def __call__(self, *args: Any, **kwargs: Any) -> MessageNode:
        return _ops.call(self, *args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        attr = getattr(self._data, name)  # AttributeError with Python's own message
        if callable(attr):
            return _ops.TracedMethod(self, name)
        return _ops.get_attr(self, name)

    def backward(self, feedback: Any = None) -> None:
        """Send ``feedback`` on this output to every trainable parameter that produced it."""
        from workbench.trace.propagation import backward

        backward(self, feedback)


class ParameterNode(Node):
    """A trainable root: the optimizer may replace its value.

    Attributes:
        feedback: What :func:`~workbench.trace.propagation.backward` delivered since the last
            ``zero_feedback()``.
        path: A stable name (an attribute path such as ``agent.prompt``) set by ``Module``.
    """

    __slots__ = ("_trainable", "feedback", "path")

    def __init__(
        self,
        value: Any,
        *,
        name: str | None = None,
        description: str | None = None,
        constraint: str | None = None,
        trainable: bool = True,
        graph: Graph | None = None,
    ) -> None:
        super().__init__(
            value, name=name, description=description, constraint=constraint, graph=graph
        )
        self._trainable = trainable
        self.feedback: list[Feedback] = []
        self.path: str | None = None

    @property
    def trainable(self) -> bool:  # type: ignore[override]
        """Whether optimizers may change this parameter."""
        return self._trainable

    @property
    def kind(self) -> str:
        return "parameter"

    @property
    def is_code(self) -> bool:
        """Whether the value is the source code of a bundled function."""
        return "signature" in self.info

    def set(self, value: Any) -> None:
        """Replace the value (what an optimizer's ``update`` does)."""
        self._data = value

    def zero_feedback(self) -> None:
        """Forget the feedback received so far."""
        self.feedback.clear()


class MessageNode(Node):
    """The result of an operation; ``inputs`` maps the operation's argument names to nodes.

    Args:
        value: The result.
        op: The operation's name (``add``, ``getitem``, a bundled function's name).
        inputs: Argument name to node; empty when created under ``stop_tracing()``.
        description: What the operation does (shown under #Documentation).
        info: Extra facts (source code, signature, error details).
        name: Name stem; ``op`` by default.
    """

    __slots__ = ()

    def __init__(
        self,
        value: Any,
        *,
        op: str,
        inputs: dict[str, Node],
        description: str | None = None,
        info: dict[str, Any] | None = None,
        name: str | None = None,
        graph: Graph | None = None,
    ) -> None:
        super().__init__(value, name=name or op, description=description, graph=graph)
        self.op = op
        self.inputs = inputs
        self.info = info or {}
        self.level = 1 + max((p.level for p in inputs.values()), default=-1)

    @property
    def kind(self) -> str:
        return "message"


class ExceptionNode(MessageNode):
    """What a failed operation produces: ``data`` is ``"(Type) message"``.

    ``info["error_comment"]`` holds the failing function's source annotated at the failing line
    (``<--- (ZeroDivisionError) division by zero``), the default feedback of ``backward``.
    """

    __slots__ = ()

    @property
    def kind(self) -> str:
        return "exception"

    @property
    def exception(self) -> BaseException | None:
        """The original exception."""
        return self.info.get("exception")

    @property
    def error_comment(self) -> str:
        """Source annotated at the failing line, or ``data`` when no source is known."""
        return str(self.info.get("error_comment") or self._data)


def node(
    value: Any,
    trainable: bool = False,
    *,
    name: str | None = None,
    description: str | None = None,
    constraint: str | None = None,
) -> Node:
    """Wrap a value as a node; ``trainable=True`` makes it a :class:`ParameterNode`.

    An existing node passes through unchanged unless ``trainable=True`` asks for a parameter
    from a non-trainable node, in which case a new parameter holds the same value.

    Args:
        value: Any Python value, or a node.
        trainable: Whether the optimizer may change it.
        name: A readable stem for prompts (``x`` gives ``x0``).
        description: Free text shown to the optimizer.
        constraint: Free text the optimizer must respect.

    Returns:
        The node.
    """
    if isinstance(value, Node):
        if not trainable or value.trainable:
            return value
        value = value._data
    if trainable:
        return ParameterNode(value, name=name, description=description, constraint=constraint)
    return Node(value, name=name, description=description, constraint=constraint)


def as_input(value: Any, name: str | None = None) -> Node:
    """Wrap a plain value an operation received; ``info["constant"]`` marks it as such.

    Renderers may show such constants inline (``add(x=x0, y=1.0)``) rather than as named inputs.
    """
    if isinstance(value, Node):
        return value
    made = Node(value, name=name)
    made.info["constant"] = True
    return made


from workbench.trace import operators as _ops  # noqa: E402  (operators needs Node defined)
