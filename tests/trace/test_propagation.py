"""backward: minimal subgraphs, unrelated parameters excluded, exception feedback, scaling."""

from __future__ import annotations

import random

import pytest

from workbench.trace import (
    ExecutionError,
    Graph,
    backward,
    bundle,
    node,
    subgraph,
    use_graph,
    zero_feedback,
)


def names(nodes: list) -> list[str]:
    return [n.name for n in nodes]


def test_minimal_subgraph_excludes_unrelated_parameters() -> None:
    with use_graph(Graph()):
        x = node(1.0, trainable=True, name="x")
        y = node(2.0, trainable=True, name="y")
        unrelated = node(3.0, trainable=True, name="u")
        a = x + 1.0  # on x's path
        b = y * 2.0  # on y's path
        _side = unrelated * a  # uses x's value but does not reach the output
        out = a - b
        backward(out, "should be 10")
    assert unrelated.feedback == []
    sub_x = x.feedback[0].subgraph()
    assert names(sub_x.nodes) == ["x0", "float0", "add0", "multiply0", "subtract0"]
    assert {n.name for n in sub_x.nodes if id(n) in sub_x.on_path} == {"x0", "add0", "subtract0"}
    assert y not in sub_x and unrelated not in sub_x and _side not in sub_x
    sub_y = y.feedback[0].subgraph()
    assert x not in sub_y and a in sub_y  # a is an input of the output, not on y's path
    assert sub_y.feedback == "should be 10" and sub_y.output is out


def test_non_trainable_parameters_and_plain_nodes_get_nothing() -> None:
    frozen = node(1, trainable=True)
    frozen._trainable = False
    plain = node(2)
    out = frozen + plain
    backward(out, "fb")
    assert frozen.feedback == []


def test_diamond_and_repeated_inputs() -> None:
    x = node(3, trainable=True)
    a = x * x
    b = x + a
    out = a * b
    backward(out, "fb")
    sub = x.feedback[0].subgraph()
    assert sub.nodes == [x, a, b, out]  # topological order, x listed once
    assert set(map(id, sub.nodes)) == {id(x), id(a), id(b), id(out)}


def test_union_of_parameters_is_one_subgraph() -> None:
    x = node(1, trainable=True)
    y = node(2, trainable=True)
    z = node(3, trainable=True)
    out = (x + y) * 2
    pass_ = backward(out, "fb")
    both = subgraph(pass_, [x, y])
    assert x in both and y in both and z not in both
    assert len({id(n) for n in both.nodes}) == len(both.nodes)


def test_feedback_accumulates_and_zero_feedback_clears() -> None:
    x = node(1, trainable=True)
    o1, o2 = x + 1, x * 5
    backward(o1, "first")
    backward(o2, 0.25)
    assert [f.feedback for f in x.feedback] == ["first", "0.25"]
    assert x.feedback[1].output is o2
    zero_feedback([x])
    assert x.feedback == []


def test_feedback_directly_on_a_parameter() -> None:
    x = node("draft", trainable=True)
    backward(x, "rewrite it")
    assert names(x.feedback[0].subgraph().nodes) == [x.name]


def test_backward_needs_feedback_except_for_exception_nodes() -> None:
    with pytest.raises(ValueError, match="needs feedback"):
        backward(node(1, trainable=True) + 1)


def test_exception_node_feedback_reaches_the_code_only() -> None:
    other = node(5, trainable=True)

    @bundle(trainable=True)
    def solve(xs):
        return xs[0] / xs[1]

    with pytest.raises(ExecutionError) as info:
        solve([1, 0])
    _ = other + 1
    backward(info.value.exception_node)
    assert other.feedback == []
    (fb,) = solve.parameter.feedback
    assert "<--- (ZeroDivisionError) division by zero" in fb.feedback
    assert solve.parameter in fb.subgraph()


@pytest.mark.parametrize("n", [5000])
def test_deep_chain_needs_no_recursion(n: int) -> None:
    x = node(0, trainable=True)
    y = x
    for _ in range(n):
        y = y + 1
    backward(y, "fb")
    assert len(x.feedback[0].subgraph().nodes) == 2 * n + 1  # chain + one constant per step


def is_ancestor(a: object, b: object) -> bool:
    """Whether ``a`` is ``b`` or one of its ancestors (plain recursion: small graphs only)."""
    return a is b or any(is_ancestor(a, p) for p in b.inputs.values())  # type: ignore[attr-defined]


def random_dag(rng: random.Random, roots: int, operations: int, same: float = 0.0) -> list:
    """``roots`` nodes (about half trainable), then ``operations`` sums and products of earlier
    nodes (with probability ``same`` of one node with itself, ``a + a``), in creation order."""
    pool = [node(rng.random(), trainable=rng.random() < 0.5) for _ in range(roots)]
    for _ in range(operations):
        a = rng.choice(pool)
        b = a if rng.random() < same else rng.choice([n for n in pool if n is not a])
        pool.append(a + b if rng.random() < 0.5 else a * b)
    return pool


@pytest.mark.parametrize("seed", range(5))
def test_union_equals_each_parameters_subgraph_on_random_dags(seed: int) -> None:
    rng = random.Random(seed)
    with use_graph(Graph()):
        pool = random_dag(rng, 8, 60)
        out = pool[-1] + pool[-2]
        bpass = backward(out, "fb")
    params = [p for p in pool[:8] if p.trainable]
    reached = [p for p in params if p.feedback]
    expected: set[int] = set()
    for p in reached:
        sub = p.feedback[0].subgraph()
        assert sub.nodes == sorted(sub.nodes, key=lambda n: n.seq)
        assert id(p) in sub.on_path and id(out) in sub.on_path
        # on-path = exactly the nodes between the parameter and the output (brute force)
        between = {id(n) for n in [*pool, out] if is_ancestor(p, n) and is_ancestor(n, out)}
        assert sub.on_path == between
        expected |= {id(n) for n in sub.nodes}
    union = subgraph(bpass, params)
    assert {id(n) for n in union.nodes} == expected
    assert all(id(p) in union.on_path for p in reached)


def brute_force_subgraph(start: list, out: object, pool: list) -> tuple[set[int], list]:
    """On-path ids and the node list of the minimal subgraph of ``start``, by brute force."""
    on = [n for n in pool if any(is_ancestor(s, n) for s in start) and is_ancestor(n, out)]
    members = {id(n): n for n in on}
    for n in on:
        for parent in n.inputs.values():
            members[id(parent)] = parent
    return {id(n) for n in on}, sorted(members.values(), key=lambda n: n.seq)


@pytest.mark.parametrize("seed", range(8))
def test_each_parameter_gets_exactly_its_minimal_subgraph_with_several_outputs(seed: int) -> None:
    """Diamonds, repeated inputs (a + a), shared subexpressions and three outputs of one DAG."""
    rng = random.Random(seed)
    with use_graph(Graph()):
        pool = random_dag(rng, 10, 80, same=0.1)
        outputs = [pool[-1], pool[-5] * 2.0, pool[40] - pool[-3]]
    params = [p for p in pool[:10] if p.trainable]
    everything = [*pool, *outputs, *(p for o in outputs for p in o.inputs.values())]
    everything = list({id(n): n for n in everything}.values())
    for k, out in enumerate(outputs):
        bpass = backward(out, f"feedback {k}")
        reached = [p for p in params if is_ancestor(p, out)]
        assert [p for p in params if p.feedback and p.feedback[-1].output is out] == reached
        for p in reached:
            sub = p.feedback[-1].subgraph()
            on, nodes = brute_force_subgraph([p], out, everything)
            assert sub.on_path == on
            assert sub.nodes == nodes and len(sub) == len(nodes)
            assert all(n in sub for n in nodes)
            assert sub.output is out and sub.feedback == f"feedback {k}"
            assert not any(q in sub for q in params if id(q) not in {id(n) for n in nodes})
        union = subgraph(bpass, params)  # unreached parameters are ignored
        on, nodes = brute_force_subgraph(reached, out, everything)
        assert union.on_path == on and union.nodes == nodes


def test_subgraph_of_an_intermediate_node_and_of_nodes_outside_the_pass() -> None:
    with use_graph(Graph()):
        x = node(1.0, trainable=True, name="x")
        a = x * 2.0
        b = a + x  # diamond: x reaches b directly and through a
        out = b - 1.0
        stray = node(7.0, trainable=True, name="stray")
    bpass = backward(out, "fb")
    early = x.feedback[0].subgraph()  # made before the extra sweep renumbers the bits
    from_a = subgraph(bpass, [a])  # not a parameter: one more sweep, same rules
    assert names(early.nodes) == [x.name, "float0", a.name, b.name, "float1", out.name]
    assert names(from_a.nodes) == [x.name, "float0", a.name, b.name, "float1", out.name]
    assert {n.name for n in from_a.nodes if id(n) in from_a.on_path} == {a.name, b.name, out.name}
    assert x.feedback[0].subgraph().on_path == {id(x), id(a), id(b), id(out)}
    empty = subgraph(bpass, [stray])
    assert empty.nodes == [] and stray not in empty and len(empty) == 0


def test_two_outputs_share_a_subexpression_but_not_their_subgraphs() -> None:
    with use_graph(Graph()):
        x = node(1.0, trainable=True, name="x")
        y = node(2.0, trainable=True, name="y")
        shared = x * y
        first = shared + 1.0
        second = shared * x
    backward(first, "first")
    backward(second, "second")
    sub_first, sub_second = x.feedback[0].subgraph(), x.feedback[1].subgraph()
    assert first in sub_first and second not in sub_first
    assert second in sub_second and first not in sub_second
    assert sub_second.on_path == {id(x), id(shared), id(second)}
    assert [f.feedback for f in y.feedback] == ["first", "second"]
