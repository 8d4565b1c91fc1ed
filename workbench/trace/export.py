"""Export a traced graph to Graphviz DOT, and to SVG when the ``dot`` program is installed.

Example:
    >>> x = node(1, trainable=True, name="x")
    >>> "x0 -> add0" in to_dot(x + 1)
    True
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterable

from workbench.errors import NotSetUp
from workbench.trace.nodes import Node

__all__ = ["to_dot", "to_svg"]

_STYLE = {
    "parameter": 'shape=box, style=filled, fillcolor="#ffe7a3"',
    "message": 'shape=ellipse, style=filled, fillcolor="#dcecff"',
    "exception": 'shape=octagon, style=filled, fillcolor="#ffc9c9"',
    "value": 'shape=ellipse, style=filled, fillcolor="#eeeeee"',
}


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\l")


def _ancestors(outputs: Iterable[Node]) -> list[Node]:
    seen: dict[int, Node] = {}
    stack = list(outputs)
    while stack:
        n = stack.pop()
        if id(n) not in seen:
            seen[id(n)] = n
            stack.extend(n.inputs.values())
    return sorted(seen.values(), key=lambda n: n.seq)


def to_dot(outputs: Node | Iterable[Node], *, value_chars: int = 40, name: str = "trace") -> str:
    """Render the graph above ``outputs`` as DOT text.

    Args:
        outputs: One or more nodes; everything they depend on is drawn.
        value_chars: Values longer than this are cut in labels.
        name: The digraph's name.

    Returns:
        DOT source.
    """
    roots = [outputs] if isinstance(outputs, Node) else list(outputs)
    lines = [f'digraph "{_escape(name)}" {{', "  rankdir=TB;"]
    for n in _ancestors(roots):
        value = repr(n._data)
        if len(value) > value_chars:
            value = value[: value_chars - 3] + "..."
        label = f"{n.name}\\n{_escape(value)}"
        lines.append(f'  {n.name} [label="{label}", {_STYLE[n.kind]}];')
        for arg, parent in n.inputs.items():
            lines.append(f'  {parent.name} -> {n.name} [label="{_escape(arg)}"];')
    lines.append("}")
    return "\n".join(lines) + "\n"


def to_svg(outputs: Node | Iterable[Node], **kwargs: object) -> str:
    """Render with Graphviz's ``dot -Tsvg``.

    Raises:
        NotSetUp: The ``dot`` program is not installed.
    """
    exe = shutil.which("dot")
    if exe is None:
        raise NotSetUp("graph export to SVG needs Graphviz: apt-get install graphviz")
    dot = to_dot(outputs, **kwargs)  # type: ignore[arg-type]
    done = subprocess.run([exe, "-Tsvg"], input=dot, capture_output=True, text=True, check=True)
    return done.stdout
