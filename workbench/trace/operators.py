"""Traced operators: each records a :class:`MessageNode` whose inputs are its arguments.

:func:`apply_op` is the one place an operation is run and recorded; the dunder methods of
:class:`~workbench.trace.nodes.Node` (``+``, ``<``, ``[]``, calls) and the str/list/dict methods
reached through ``node.method(...)`` all go through it. A failure becomes an ExceptionNode and
an :class:`~workbench.trace.errors.ExecutionError`.

Example:
    >>> s = node("a,b", name="s")
    >>> parts = s.split(",")
    >>> parts.data, parts.op, sorted(parts.inputs)
    (['a', 'b'], 'split', ['self', 'sep'])
"""

from __future__ import annotations

import copy
import inspect
import math
import operator
from collections.abc import Callable
from functools import lru_cache
from typing import Any

from workbench.trace.errors import ExecutionError
from workbench.trace.graph import is_tracing
from workbench.trace.nodes import ExceptionNode, MessageNode, Node, as_input

__all__ = [
    "BINARY",
    "MUTATING_METHODS",
    "UNARY",
    "TracedMethod",
    "apply_op",
    "binary",
    "call",
    "get_attr",
    "unary",
]

BINARY: dict[str, tuple[Callable[[Any, Any], Any], str]] = {
    "add": (operator.add, "This is an add operator of x and y."),
    "subtract": (operator.sub, "This is a subtract operator of x and y."),
    "multiply": (operator.mul, "This is a multiply operator of x and y."),
    "divide": (operator.truediv, "This is a divide operator of x and y."),
    "floor_divide": (operator.floordiv, "This is a floor divide operator of x and y."),
    "mod": (operator.mod, "This is a mod operator of x and y."),
    "power": (operator.pow, "This is a power operator of x and y."),
    "matmul": (operator.matmul, "This is a matrix multiply operator of x and y."),
    "lshift": (operator.lshift, "This is a left shift operator of x and y."),
    "rshift": (operator.rshift, "This is a right shift operator of x and y."),
    "bitwise_and": (operator.and_, "This is a bitwise and (&) operator of x and y."),
    "bitwise_or": (operator.or_, "This is a bitwise or (|) operator of x and y."),
    "bitwise_xor": (operator.xor, "This is a bitwise xor (^) operator of x and y."),
    "lt": (operator.lt, "This is a less than (<) operator of x and y."),
    "le": (operator.le, "This is a less than or equal (<=) operator of x and y."),
    "gt": (operator.gt, "This is a greater than (>) operator of x and y."),
    "ge": (operator.ge, "This is a greater than or equal (>=) operator of x and y."),
    "eq": (operator.eq, "This is an equality (==) operator of x and y."),
    "neq": (operator.ne, "This is a not-equal (!=) operator of x and y."),
    "getitem": (operator.getitem, "This is an indexing operator: x[y]."),
    "contains": (lambda x, y: y in x, "This is a membership operator: y in x."),
}

UNARY: dict[str, tuple[Callable[[Any], Any], str]] = {
    "neg": (operator.neg, "This is a negation operator of x."),
    "pos": (operator.pos, "This is a unary plus operator of x."),
    "invert": (operator.invert, "This is a bitwise invert (~) operator of x."),
    "abs": (abs, "This is an absolute value operator of x."),
    "len": (len, "This is a length operator of x."),
    "to_list": (list, "This converts x to a list."),
    "round": (round, "This rounds x to an integer."),
    "floor": (math.floor, "This is the floor of x."),
    "ceil": (math.ceil, "This is the ceiling of x."),
    "trunc": (math.trunc, "This truncates x to an integer."),
}

# Methods that change their receiver in place. On a node they act on a shallow copy and the
# result node holds that changed copy, so the input node keeps its value (the graph stays a DAG).
MUTATING_METHODS = frozenset(
    {
        "append",
        "extend",
        "insert",
        "remove",
        "clear",
        "update",
        "sort",
        "reverse",
        "add",
        "discard",
        "difference_update",
        "intersection_update",
        "symmetric_difference_update",
    }
)


def apply_op(
    op: str,
    fn: Callable[..., Any],
    inputs: dict[str, Any],
    *,
    description: str | None = None,
) -> MessageNode:
    """Run ``fn(**raw inputs)`` and record the result as a node.

    Args:
        op: The operation's name (the node's name stem and the function shown in #Code).
        fn: Called with the inputs' values, positionally in the order of ``inputs``.
        inputs: Argument name to node or plain value (plain values become constant nodes).
        description: What the operation does.

    Returns:
        The result node (no parents inside ``stop_tracing()``).

    Raises:
        ExecutionError: ``fn`` raised; its ``exception_node`` has the inputs as parents.
    """
    raw = {k: (v._data if isinstance(v, Node) else v) for k, v in inputs.items()}
    tracing = is_tracing()
    try:
        value = fn(*raw.values())
    except Exception as exc:
        nodes = {k: as_input(v) for k, v in inputs.items()} if tracing else {}
        shown = ", ".join(f"{k}={v!r}"[:80] for k, v in raw.items())
        enode = ExceptionNode(
            f"({type(exc).__name__}) {exc}",
            op=op,
            inputs=nodes,
            description=description,
            info={
                "exception": exc,
                "error_comment": f"{op}({shown}) raised ({type(exc).__name__}) {exc}",
            },
            name=f"exception_{op}",
        )
        raise ExecutionError(enode) from exc
    nodes = {k: as_input(v) for k, v in inputs.items()} if tracing else {}
    return MessageNode(value, op=op, inputs=nodes, description=description)


def binary(op: str, x: Any, y: Any) -> MessageNode:
    """Apply the binary operator ``op`` (a key of :data:`BINARY`) to ``x`` and ``y``."""
    fn, doc = BINARY[op]
    return apply_op(op, fn, {"x": x, "y": y}, description=doc)


def unary(op: str, x: Any) -> MessageNode:
    """Apply the unary operator ``op`` (a key of :data:`UNARY`) to ``x``."""
    fn, doc = UNARY[op]
    return apply_op(op, fn, {"x": x}, description=doc)


def get_attr(x: Node, name: str) -> MessageNode:
    """Traced ``getattr(x, name)`` for a non-callable attribute."""
    return apply_op(
        "getattr", getattr, {"x": x, "name": name}, description="This is getattr(x, name)."
    )


def call(fn: Any, *args: Any, **kwargs: Any) -> MessageNode:
    """Traced ``fn(*args, **kwargs)`` where ``fn`` is a node holding a callable."""
    labels = [f"args_{i}" for i in range(len(args))]
    inputs: dict[str, Any] = {"fn": fn, **dict(zip(labels, args, strict=True))}
    kw_labels = {k: f"kwargs_{k}" for k in kwargs}
    inputs.update({kw_labels[k]: v for k, v in kwargs.items()})

    keys = list(inputs)

    def run(*values: Any) -> Any:
        raw = dict(zip(keys, values, strict=True))
        return raw["fn"](
            *(raw[label] for label in labels), **{k: raw[label] for k, label in kw_labels.items()}
        )

    return apply_op("call", run, inputs, description="This calls fn with the arguments.")


@lru_cache(maxsize=1024)
def _param_names(cls: type, name: str) -> tuple[str, ...]:
    """Names of a method's positional parameters after ``self`` (empty when unknown)."""
    try:
        sig = inspect.signature(getattr(cls, name))
    except (TypeError, ValueError, AttributeError):
        return ()
    names = []
    for p in list(sig.parameters.values())[1:]:
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD):
            names.append(p.name)
        else:
            break
    return tuple(names)


class TracedMethod:
    """A method of a node's value; calling it records one node (``upper0 = upper(self=s0)``)."""

    __slots__ = ("name", "node")

    def __init__(self, node: Node, name: str) -> None:
        self.node = node
        self.name = name

    def __repr__(self) -> str:
        return f"<traced method {self.name} of {self.node!r}>"

    def __call__(self, *args: Any, **kwargs: Any) -> MessageNode:
        name = self.name
        known = _param_names(type(self.node._data), name)
        labels = [known[i] if i < len(known) else f"args_{i}" for i in range(len(args))]
        inputs: dict[str, Any] = {"self": self.node, **dict(zip(labels, args, strict=True))}
        kw_labels = {k: k if k not in inputs else f"kwargs_{k}" for k in kwargs}
        inputs.update({kw_labels[k]: v for k, v in kwargs.items()})

        keys = list(inputs)

        def run(*values: Any) -> Any:
            raw = dict(zip(keys, values, strict=True))
            receiver = raw["self"]
            if isinstance(receiver, list | dict | set | bytearray):
                receiver = copy.copy(receiver)
            result = getattr(receiver, name)(
                *(raw[label] for label in labels),
                **{k: raw[label] for k, label in kw_labels.items()},
            )
            if result is None and name in MUTATING_METHODS:
                return receiver
            return result

        doc = getattr(getattr(type(self.node._data), name, None), "__doc__", None)
        summary = (doc or "").strip().split("\n\n")[0].replace("\n", " ")[:200]
        return apply_op(name, run, inputs, description=summary or f"The method {name}.")


def _binary_dunder(op: str) -> Callable[[Node, Any], MessageNode]:
    def method(self: Node, other: Any) -> MessageNode:
        return binary(op, self, other)

    return method


def _reflected_dunder(op: str) -> Callable[[Node, Any], MessageNode]:
    def method(self: Node, other: Any) -> MessageNode:
        return binary(op, other, self)

    return method


def _unary_dunder(op: str) -> Callable[..., MessageNode]:
    def method(self: Node, *args: Any) -> MessageNode:
        if args and args[0] is not None:  # round(x, ndigits)
            return apply_op(
                "round",
                round,
                {"x": self, "ndigits": args[0]},
                description="This rounds x to ndigits decimals.",
            )
        return unary(op, self)

    return method


_ARITHMETIC = {
    "add": "add", "sub": "subtract", "mul": "multiply", "truediv": "divide",
    "floordiv": "floor_divide", "mod": "mod", "pow": "power", "matmul": "matmul",
    "lshift": "lshift", "rshift": "rshift", "and": "bitwise_and", "or": "bitwise_or",
    "xor": "bitwise_xor",
}  # fmt: skip
for _dunder, _op in _ARITHMETIC.items():
    setattr(Node, f"__{_dunder}__", _binary_dunder(_op))
    setattr(Node, f"__r{_dunder}__", _reflected_dunder(_op))
for _op in ("lt", "le", "gt", "ge"):
    setattr(Node, f"__{_op}__", _binary_dunder(_op))
for _op in ("neg", "pos", "invert", "abs", "round", "floor", "ceil", "trunc"):
    setattr(Node, f"__{_op}__", _unary_dunder(_op))
