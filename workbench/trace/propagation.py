"""``backward``: deliver feedback on an output to every trainable parameter that produced it.

Each parameter receives the *minimal subgraph* connecting it to the output — the nodes on some
path from the parameter to the output, plus their direct inputs (so each operation can be shown
with its arguments) — together with the feedback text. Trace merges per-node subgraphs in heaps
(O(N² log N)); here ``backward`` is one walk up from the output marking the nodes that reach it,
and the subgraph of a set of parameters is one forward pass over those nodes in creation order
(a topological order) marking what the parameters reach, plus their direct inputs: linear in
the graph (one O(N log N) sort). A single parameter's subgraph is a walk down from it, linear in
the subgraph's size. Nothing recurses, so 100,000-node chains are fine.

Example:
    >>> x = node(2.0, trainable=True, name="x")
    >>> unrelated = node(5.0, trainable=True, name="u")
    >>> y = x * 3.0
    >>> _ = backward(y, "make it smaller")
    >>> [n.name for n in x.feedback[0].subgraph().nodes], unrelated.feedback
    (['x0', 'float0', 'multiply0'], [])
"""

from __future__ import annotations

import operator
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from workbench.trace.nodes import ExceptionNode, Node, ParameterNode

__all__ = ["BackwardPass", "Feedback", "Subgraph", "backward", "subgraph", "zero_feedback"]

_SEQ = operator.attrgetter("seq")  # creation order is a topological order


class BackwardPass:
    """One ``backward`` call: the nodes that reach ``output``.

    Attributes:
        output: The node the feedback is about.
        feedback: The feedback text.
    """

    __slots__ = ("_children", "_nodes", "_seen", "feedback", "output")

    def __init__(self, output: Node, feedback: str, seen: dict[int, Node]) -> None:
        self.output = output
        self.feedback = feedback
        self._seen = seen
        self._nodes: list[Node] | None = None
        self._children: dict[int, list[Node]] | None = None

    def __repr__(self) -> str:
        return f"BackwardPass(output={self.output.name}, nodes={len(self._seen)})"

    def __contains__(self, item: object) -> bool:
        return id(item) in self._seen and self._seen[id(item)] is item

    @property
    def nodes(self) -> list[Node]:
        """Every node that reaches ``output`` (``output`` included), in topological order."""
        if self._nodes is None:
            self._nodes = sorted(self._seen.values(), key=_SEQ)
        return self._nodes

    @property
    def children(self) -> dict[int, list[Node]]:
        """``id(node)`` -> its children among the nodes that reach ``output`` (built once)."""
        if self._children is None:
            children: dict[int, list[Node]] = {i: [] for i in self._seen}
            for n in self._seen.values():
                for parent in n.inputs.values():
                    kids = children[id(parent)]
                    if not kids or kids[-1] is not n:  # x * x lists `x` once
                        kids.append(n)
            self._children = children
        return self._children


@dataclass(eq=False)
class Subgraph:
    """Nodes connecting some parameters to an output, in topological order.

    Attributes:
        nodes: On-path nodes and their direct inputs, sorted by creation (a topological order).
        on_path: ``id``s of the nodes that lie on a parameter-to-output path.
        output: The output node.
        feedback: The feedback text about the output.
    """

    nodes: list[Node]
    on_path: set[int]
    output: Node
    feedback: str

    def __len__(self) -> int:
        return len(self.nodes)

    def __contains__(self, item: object) -> bool:
        return any(n is item for n in self.nodes)


@dataclass(eq=False, slots=True)
class Feedback:
    """What one parameter received from one ``backward`` call."""

    parameter: ParameterNode
    feedback: str
    output: Node
    backward_pass: BackwardPass = field(repr=False)

    def subgraph(self) -> Subgraph:
        """The minimal subgraph connecting this parameter to the output."""
        return _walk_down(self.backward_pass, self.parameter)


def subgraph(backward_pass: BackwardPass, parameters: Iterable[Node]) -> Subgraph:
    """The union of the minimal subgraphs of ``parameters``.

    One pass over the pass's nodes in topological order marks those reached from a parameter
    (all of them reach the output), then adds their direct inputs. For a few parameters deep in
    a large graph, :meth:`Feedback.subgraph` walks down from the parameter instead.

    Args:
        backward_pass: The pass the parameters received feedback from.
        parameters: Nodes that reach the pass's output (others are ignored).

    Returns:
        The :class:`Subgraph`.
    """
    on = {id(p) for p in parameters if p in backward_pass}
    mark = on.add
    for n in backward_pass.nodes:
        i = id(n)
        if i not in on:
            for parent in n.inputs.values():
                if id(parent) in on:
                    mark(i)
                    break
    return _close(backward_pass, on, backward_pass.nodes)


def _close(backward_pass: BackwardPass, on: set[int], ordered: list[Node]) -> Subgraph:
    """Add the direct inputs of the on-path nodes; keep ``ordered``'s order."""
    members = set(on)
    add = members.add
    seen = backward_pass._seen
    for i in on:
        for parent in seen[i].inputs.values():
            add(id(parent))
    nodes = [n for n in ordered if id(n) in members]
    return Subgraph(nodes, on, backward_pass.output, backward_pass.feedback)


def _walk_down(backward_pass: BackwardPass, parameter: Node) -> Subgraph:
    children = backward_pass.children
    on: dict[int, Node] = {}
    stack = [parameter] if parameter in backward_pass else []
    while stack:
        n = stack.pop()
        if id(n) not in on:
            on[id(n)] = n
            stack.extend(children[id(n)])
    members = dict(on)
    for n in on.values():
        for parent in n.inputs.values():
            members.setdefault(id(parent), parent)
    nodes = sorted(members.values(), key=_SEQ)
    return Subgraph(nodes, set(on), backward_pass.output, backward_pass.feedback)


def _feedback_text(output: Node, feedback: Any) -> str:
    if feedback is None:
        if isinstance(output, ExceptionNode):
            return output.error_comment
        raise ValueError(f"backward({output.name}) needs feedback (a score, a sentence, ...)")
    return feedback if isinstance(feedback, str) else str(feedback)


def backward(output: Node, feedback: Any = None) -> BackwardPass:
    """Give ``feedback`` about ``output`` to every trainable parameter it depends on.

    Appends a :class:`Feedback` to each such parameter's ``feedback`` list; parameters that do
    not reach ``output`` receive nothing.

    Args:
        output: The node the feedback is about (an ExceptionNode too).
        feedback: Text, or anything ``str()`` renders (a score). May be omitted for an
            ExceptionNode: its source annotated at the failing line is used.

    Returns:
        The :class:`BackwardPass` (shared by the parameters' feedback records).

    Raises:
        ValueError: No feedback was given for a non-exception node.
    """
    text = _feedback_text(output, feedback)
    seen: dict[int, Node] = {id(output): output}
    stack = [output]
    while stack:
        for parent in stack.pop().inputs.values():
            if id(parent) not in seen:
                seen[id(parent)] = parent
                stack.append(parent)
    result = BackwardPass(output, text, seen)
    for n in seen.values():
        if isinstance(n, ParameterNode) and n.trainable:
            n.feedback.append(Feedback(n, text, output, result))
    return result


def zero_feedback(parameters: Iterable[ParameterNode]) -> None:
    """Clear the feedback of every given parameter."""
    for p in parameters:
        p.zero_feedback()
