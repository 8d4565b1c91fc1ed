"""Operator tracing: results equal plain Python, inputs are recorded, failures become nodes."""

from __future__ import annotations

import math
import operator
from typing import Any

import pytest

from workbench.trace import ExceptionNode, ExecutionError, MessageNode, Node, node, stop_tracing

BINARY_CASES: list[tuple[str, Any, Any, Any]] = [
    # (symbol, operator, left, right) over ints, floats, bools, strings, lists, tuples, sets
    ("+", operator.add, 3, 4),
    ("+", operator.add, 2.5, -1),
    ("+", operator.add, "ab", "cd"),
    ("+", operator.add, [1], [2, 3]),
    ("+", operator.add, (1,), (2,)),
    ("-", operator.sub, 10, 3.5),
    ("-", operator.sub, {1, 2, 3}, {2}),
    ("*", operator.mul, 6, 7),
    ("*", operator.mul, "ab", 3),
    ("*", operator.mul, [0], 4),
    ("/", operator.truediv, 7, 2),
    ("//", operator.floordiv, 7, 2),
    ("//", operator.floordiv, -7.5, 2),
    ("%", operator.mod, 17, 5),
    ("**", operator.pow, 2, 10),
    ("**", operator.pow, 2.0, 0.5),
    ("<<", operator.lshift, 1, 5),
    (">>", operator.rshift, 256, 3),
    ("&", operator.and_, 12, 10),
    ("&", operator.and_, {1, 2}, {2, 3}),
    ("|", operator.or_, 12, 3),
    ("|", operator.or_, {"a": 1}, {"b": 2}),
    ("^", operator.xor, 12, 10),
    ("^", operator.xor, True, False),
    ("<", operator.lt, 1, 2),
    ("<", operator.lt, "b", "a"),
    ("<=", operator.le, 2, 2),
    (">", operator.gt, [1, 2], [1]),
    (">=", operator.ge, 1.5, 2),
]


@pytest.mark.parametrize(("symbol", "op", "left", "right"), BINARY_CASES)
@pytest.mark.parametrize("wrap", ["both", "left", "right"])
def test_binary_operators_equal_plain_python(
    symbol: str, op: Any, left: Any, right: Any, wrap: str
) -> None:
    a = node(left) if wrap in ("both", "left") else left
    b = node(right) if wrap in ("both", "right") else right
    result = op(a, b)
    assert isinstance(result, MessageNode), symbol
    assert result.data == op(left, right)
    assert type(result.data) is type(op(left, right))
    recorded = [n.data for n in result.inputs.values()]
    if wrap == "right" and symbol in ("<", "<=", ">", ">="):
        # Python asks the node for the mirrored comparison: 1 < x runs x > 1.
        assert recorded == [right, left]
    else:
        assert recorded == [left, right]
    assert list(result.inputs) == ["x", "y"]


def test_string_formatting_with_percent() -> None:
    # str % node cannot defer to the node (str.__mod__ accepts any object), so wrap the format.
    result = node("%s-%d") % ("a", 3)
    assert result.data == "a-3" and result.op == "mod"


@pytest.mark.parametrize(
    ("fn", "value"),
    [
        (operator.neg, 5),
        (operator.neg, -2.5),
        (operator.pos, -3),
        (operator.invert, 6),
        (abs, -4.25),
        (round, 2.5),
        (round, 3.7),
        (math.floor, -1.5),
        (math.ceil, 1.2),
        (math.trunc, -7.9),
    ],
)
def test_unary_operators_equal_plain_python(fn: Any, value: Any) -> None:
    result = fn(node(value))
    assert isinstance(result, MessageNode)
    assert result.data == fn(value)
    assert result.parents[0].data == value


def test_round_with_digits() -> None:
    assert round(node(3.14159), 2).data == 3.14


@pytest.mark.parametrize(
    ("value", "method", "args", "kwargs"),
    [
        ("Hello World", "upper", (), {}),
        ("Hello World", "lower", (), {}),
        ("  pad  ", "strip", (), {}),
        ("a,b,,c", "split", (",",), {}),
        ("a b c", "split", (), {"maxsplit": 1}),
        ("banana", "replace", ("an", "AN"), {}),
        ("banana", "count", ("a",), {}),
        ("banana", "find", ("nan",), {}),
        ("banana", "startswith", ("ban",), {}),
        ("{} and {x}", "format", (1,), {"x": 2}),
        ("-", "join", (["a", "b"],), {}),
        ("title me", "title", (), {}),
        ([3, 1, 2], "index", (2,), {}),
        ([3, 1, 2], "count", (1,), {}),
        ([3, 1, 2], "copy", (), {}),
        ({"a": 1, "b": 2}, "get", ("b",), {}),
        ({"a": 1, "b": 2}, "get", ("z", 0), {}),
        ({"a": 1}, "keys", (), {}),
        ({"a": 1}, "items", (), {}),
        ({1, 2}, "union", ({3},), {}),
    ],
)
def test_methods_equal_plain_python(value: Any, method: str, args: tuple, kwargs: dict) -> None:
    expected = getattr(value, method)(*args, **kwargs)
    result = getattr(node(value), method)(*args, **kwargs)
    assert isinstance(result, MessageNode)
    assert result.op == method
    assert result.data == expected
    assert result.inputs["self"].data == value


def test_method_arguments_named_after_the_signature() -> None:
    result = node("banana").replace("an", node("AN"))
    assert list(result.inputs) == ["self", "old", "new"]
    assert result.inputs["new"].data == "AN"


@pytest.mark.parametrize(
    ("value", "method", "args", "expected"),
    [
        ([1, 2], "append", (3,), [1, 2, 3]),
        ([1, 2], "extend", ([3, 4],), [1, 2, 3, 4]),
        ([3, 1, 2], "sort", (), [1, 2, 3]),
        ([1, 2], "reverse", (), [2, 1]),
        ({"a": 1}, "update", ({"b": 2},), {"a": 1, "b": 2}),
        ({1}, "add", (2,), {1, 2}),
    ],
)
def test_mutating_methods_return_changed_copy_and_keep_input(
    value: Any, method: str, args: tuple, expected: Any
) -> None:
    original = node(value)
    before = (
        list(value)
        if isinstance(value, list)
        else dict(value)
        if isinstance(value, dict)
        else set(value)
    )
    result = getattr(original, method)(*args)
    assert result.data == expected
    assert original.data == before


@pytest.mark.parametrize(
    ("value", "key"),
    [
        ([10, 20, 30], 1),
        ([10, 20, 30], -1),
        ("hello", 4),
        ({"k": "v"}, "k"),
        ((1, 2, 3), slice(0, 2)),
    ],
)
def test_getitem_equals_plain_python(value: Any, key: Any) -> None:
    result = node(value)[key]
    assert result.data == value[key]
    assert result.op == "getitem"


def test_getitem_with_node_key_records_both() -> None:
    table, key = node({"a": 1}), node("a")
    result = table[key]
    assert result.data == 1
    assert result.inputs["x"] is table and result.inputs["y"] is key


@pytest.mark.parametrize("value", [[1, 2, 3], "abc", (4, 5), {"a": 1, "b": 2}, {7}])
def test_iteration_yields_traced_items(value: Any) -> None:
    items = list(node(value))
    assert [i.data for i in items] == list(value)
    assert all(isinstance(i, MessageNode) for i in items)


def test_untraced_conversions_return_plain_values() -> None:
    x = node(3)
    assert (x == 3) is True and (x != 3) is False
    assert bool(node(0)) is False
    assert len(node([1, 2])) == 2
    assert 2 in node([1, 2])
    assert int(node(2.9)) == 2 and float(node(2)) == 2.0
    assert [10, 20, 30][node(1)] == 20
    assert f"{node(3.14159):.2f}" == "3.14"
    assert str(node("s")) == "s"


def test_traced_versions_of_untraced_operations() -> None:
    x = node([1, 2])
    assert x.eq([1, 2]).data is True and x.neq([1, 2]).data is False
    assert x.len().data == 2 and x.len().op == "len"
    assert x.contains(2).data is True


def test_calls_and_attributes_are_traced() -> None:
    fn = node(max)
    result = fn(node(3), 9, key=None)
    assert result.data == 9
    assert result.op == "call" and result.inputs["fn"] is fn
    real = node(3 + 4j).real
    assert real.data == 3.0 and real.op == "getattr"


def test_operations_chain_into_a_dag() -> None:
    x = node(2, trainable=True, name="x")
    y = (x + 1) * x
    assert y.data == 6
    add = y.inputs["x"]
    assert add.inputs["x"] is x and y.inputs["y"] is x
    assert y.level == 2 and add.level == 1 and x.level == 0


def test_stop_tracing_records_no_parents() -> None:
    x = node(2, trainable=True)
    with stop_tracing():
        y = x * 5
    assert y.data == 10 and y.inputs == {}
    assert (x * 5).inputs["x"] is x


@pytest.mark.parametrize(
    ("make", "error"),
    [
        (lambda: node(1) / 0, ZeroDivisionError),
        (lambda: node("a") + 1, TypeError),
        (lambda: node([1])[5], IndexError),
        (lambda: node({})["missing"], KeyError),
    ],
)
def test_operator_failures_become_exception_nodes(make: Any, error: type) -> None:
    with pytest.raises(ExecutionError) as info:
        make()
    enode = info.value.exception_node
    assert isinstance(enode, ExceptionNode)
    assert isinstance(info.value.exception, error)
    assert enode.data.startswith(f"({error.__name__})")
    assert len(enode.inputs) == 2


def test_missing_attribute_is_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no_such"):
        _ = node("s").no_such
    with pytest.raises(AttributeError):
        _ = node("s")._private


def test_nodes_hash_by_identity() -> None:
    a, b = node(1), node(1)
    assert a == b
    assert len({a, b}) == 2
    assert isinstance(a, Node)


def test_numpy_arrays_on_either_side() -> None:
    import numpy as np

    arr = np.array([1.0, 2.0])
    for result in (node(arr) * 2, arr * node(2), arr + node(arr)):
        assert isinstance(result, MessageNode)
    assert np.array_equal((arr * node(2)).data, arr * 2)
    assert np.array_equal((node(arr) @ arr).data, arr @ arr)
    assert [float(v.data) for v in node(arr)] == [1.0, 2.0]
