"""``backward``: deliver feedback on an output to every trainable parameter that produced it.

Each parameter receives the *minimal subgraph* connecting it to the output — the nodes on some
path from the parameter to the output (its *on-path* set), plus their direct inputs (so each
operation can be shown with its arguments) — together with the feedback text.

Trace merges per-node subgraphs in heaps (O(N² log N)). Here ``backward`` is one walk up from
the output that visits the operations in reverse creation order (a heap of creation numbers:
every child before its inputs) and, on the way, computes the on-path set of every trainable
parameter at once, sharing the work where paths merge: a node's set is itself plus the union of
its children's, pushed from each child to its inputs. The sets are bitsets (Python ints, one
bit per operation or parameter), so a union is a word-wise OR in C, and each parameter's set is
exact after O(N log N) Python steps (O(N·N/64) machine words at worst, for long chains). Listing
a subgraph's nodes (on-path nodes plus their inputs, sorted by creation) is linear in the
subgraph and done when first read. Nothing recurses.

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
from heapq import heappop, heappush
from itertools import compress
from typing import Any, TypeGuard

from workbench.trace.nodes import ExceptionNode, Node, ParameterNode

__all__ = ["BackwardPass", "Feedback", "Subgraph", "backward", "subgraph", "zero_feedback"]

_SEQ = operator.attrgetter("seq")  # creation order is a topological order
_BITS = bytes.maketrans(b"01", b"\x00\x01")  # bin() digits -> selectors for compress()


def _is_parameter(n: Node) -> TypeGuard[ParameterNode]:
    return isinstance(n, ParameterNode) and n.trainable


class _OnPathIndex:
    """The nodes that reach an output, and the on-path bitsets of some of them.

    Built by one walk up from the output. Operations (nodes with inputs) are taken from a heap
    in decreasing creation number, a reverse topological order, so each one's set is complete
    when it is taken: it is then pushed to the node's inputs. Bit ``i`` is the ``i``-th
    operation taken (nodes near the output have low bits, so their sets are short ints). Nodes
    without inputs get no bit: a kept one (a parameter) is the source of its own paths, so its
    set is its children's union plus itself, said by the :class:`Subgraph` that holds it; the
    others (constants) lie on no path from a kept node.

    Attributes:
        nodes: ``seq`` -> node, for every node that reaches the output.
        parameters: The trainable parameters among them.
        by_bit: The operation of each bit.
        on: ``seq`` -> on-path bitset of the operations, for the parameters and the ``extra``
            nodes (the set of one without inputs lacks the node itself).
    """

    __slots__ = ("by_bit", "nodes", "on", "parameters")

    def __init__(self, output: Node, extra: Iterable[Node] = ()) -> None:
        keep = {n.seq for n in extra}
        nodes: dict[int, Node] = {output.seq: output}
        pending: dict[int, int] = {}  # seq -> the union of the sets of its children so far
        parameters: list[ParameterNode] = []
        ops: list[Node] = []
        on: dict[int, int] = {}
        heap: list[int] = []
        if output.inputs:
            heap.append(-output.seq)
            pending[output.seq] = 0
        elif _is_parameter(output):
            parameters.append(output)
            pending[output.seq] = 0
        elif output.seq in keep:
            pending[output.seq] = 0
        while heap:
            s = -heappop(heap)
            v = nodes[s]
            mine = pending.pop(s) | (1 << len(ops))
            ops.append(v)
            for parent in v.inputs.values():
                t = parent.seq
                if t not in nodes:
                    nodes[t] = parent
                    if parent.inputs:
                        pending[t] = mine
                        heappush(heap, -t)
                    elif isinstance(parent, ParameterNode) and parent.trainable:
                        pending[t] = mine
                        parameters.append(parent)
                    elif t in keep:
                        pending[t] = mine
                elif t in pending:  # not yet taken (or a kept leaf); constants are not there
                    pending[t] |= mine
            if s in keep or (isinstance(v, ParameterNode) and v.trainable):
                on[s] = mine  # rare: a kept node with inputs
                if _is_parameter(v):
                    parameters.append(v)
        pending.update(on)  # left in `pending`: the kept nodes without inputs
        self.nodes = nodes
        self.parameters = parameters
        self.by_bit = ops
        self.on = pending

    def nodes_of(self, mask: int) -> list[Node]:
        """The nodes whose bits are set in ``mask`` (in no particular order)."""
        by_bit = self.by_bit
        if mask.bit_count() * 8 >= mask.bit_length():  # dense: one C pass over the digits
            digits = bin(mask)[2:]  # the highest bit first
            return list(compress(by_bit[len(digits) - 1 :: -1], digits.encode().translate(_BITS)))
        out = []
        while mask:  # sparse: peel the highest bit off
            i = mask.bit_length() - 1
            out.append(by_bit[i])
            mask ^= 1 << i
        return out


class BackwardPass:
    """One ``backward`` call: the nodes that reach ``output``.

    Attributes:
        output: The node the feedback is about.
        feedback: The feedback text.
        parameters: The trainable parameters that reach ``output`` (they received feedback).
    """

    __slots__ = ("_index", "_nodes", "feedback", "output", "parameters")

    def __init__(self, output: Node, feedback: str, index: _OnPathIndex) -> None:
        self.output = output
        self.feedback = feedback
        self.parameters = index.parameters
        self._index = index
        self._nodes: list[Node] | None = None

    def __repr__(self) -> str:
        return f"BackwardPass(output={self.output.name}, nodes={len(self._index.nodes)})"

    def __contains__(self, item: object) -> bool:
        return self._index.nodes.get(getattr(item, "seq", None)) is item  # type: ignore[arg-type]

    @property
    def nodes(self) -> list[Node]:
        """Every node that reaches ``output`` (``output`` included), in topological order."""
        if self._nodes is None:
            self._nodes = sorted(self._index.nodes.values(), key=_SEQ)
        return self._nodes

    def _on_path(self, nodes: Iterable[Node]) -> tuple[_OnPathIndex, int, list[Node]]:
        """The union of the on-path bitsets of ``nodes`` (those not in the pass are ignored).

        The parameters' sets were computed by ``backward``; other nodes (rarely asked for)
        cost one more walk.
        """
        wanted = [n for n in nodes if n in self]
        index = self._index
        missing = [n for n in wanted if n.seq not in index.on]
        if missing:
            extra = [index.nodes[s] for s in index.on] + missing
            index = self._index = _OnPathIndex(self.output, extra)
        mask = 0
        for n in wanted:
            mask |= index.on[n.seq]
        return index, mask, wanted


class Subgraph:
    """Nodes connecting some parameters to an output.

    Its on-path set is an exact bitset, computed when the subgraph is made; the node list is
    built from it when first read (linear in the subgraph).

    Attributes:
        backward_pass: The pass it comes from.
    """

    __slots__ = ("_cache", "_index", "_mask", "_sources", "backward_pass")

    def __init__(
        self,
        backward_pass: BackwardPass,
        index: _OnPathIndex,
        mask: int,
        sources: Iterable[Node],
    ) -> None:
        self.backward_pass = backward_pass
        self._index = index  # the bits of `mask` are this index's (a later walk renumbers)
        self._mask = mask  # the on-path operations
        self._sources = sources  # the nodes the paths start from
        self._cache: tuple[list[Node], frozenset[int], dict[int, Node]] | None = None

    def __repr__(self) -> str:
        return f"Subgraph(output={self.output.name}, on_path={len(self.on_path)})"

    @property
    def output(self) -> Node:
        """The output node."""
        return self.backward_pass.output

    @property
    def feedback(self) -> str:
        """The feedback text about the output."""
        return self.backward_pass.feedback

    def _build(self) -> tuple[list[Node], frozenset[int], dict[int, Node]]:
        if self._cache is None:
            on = self._index.nodes_of(self._mask)
            on += [n for n in self._sources if not n.inputs]  # operations have their bit
            members = {id(n): n for n in on}
            for n in on:
                for parent in n.inputs.values():
                    members[id(parent)] = parent
            nodes = sorted(members.values(), key=_SEQ)
            self._cache = (nodes, frozenset(map(id, on)), members)
        return self._cache

    @property
    def nodes(self) -> list[Node]:
        """On-path nodes and their direct inputs, sorted by creation (a topological order)."""
        return self._build()[0]

    @property
    def on_path(self) -> frozenset[int]:
        """``id``s of the nodes that lie on a parameter-to-output path."""
        return self._build()[1]

    def __len__(self) -> int:
        return len(self._build()[0])

    def __contains__(self, item: object) -> bool:
        return self._build()[2].get(id(item)) is item


@dataclass(eq=False, slots=True)
class Feedback:
    """What one parameter received from one ``backward`` call."""

    parameter: ParameterNode
    feedback: str
    output: Node
    backward_pass: BackwardPass = field(repr=False)

    def subgraph(self) -> Subgraph:
        """The minimal subgraph connecting this parameter to the output."""
        index = self.backward_pass._index
        p = self.parameter
        return Subgraph(self.backward_pass, index, index.on[p.seq], (p,))


def subgraph(backward_pass: BackwardPass, parameters: Iterable[Node]) -> Subgraph:
    """The union of the minimal subgraphs of ``parameters``.

    Args:
        backward_pass: The pass the parameters received feedback from.
        parameters: Nodes that reach the pass's output (others are ignored).

    Returns:
        The :class:`Subgraph`.
    """
    return Subgraph(backward_pass, *backward_pass._on_path(parameters))


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
    result = BackwardPass(output, text, _OnPathIndex(output))
    for p in result.parameters:
        p.feedback.append(Feedback(p, text, output, result))
    return result


def zero_feedback(parameters: Iterable[ParameterNode]) -> None:
    """Clear the feedback of every given parameter."""
    for p in parameters:
        p.zero_feedback()
