"""YAML for task and problem files: the safe loader, with aliases refused while composing.

An alias (``*name``) makes one node appear again wherever it is used, so a 1 KB file of nested
aliases (a "billion laughs") stands for gigabytes once it is validated or written out again, and
an alias inside its own anchor makes a cycle. A task file never needs one, so the loader stops at
the first alias, before anything is expanded, and says where it is.

Example:
    >>> safe_load("a: 1\\nb: [x, y]")
    {'a': 1, 'b': ['x', 'y']}
    >>> try:
    ...     safe_load("hpo:\\n  args:\\n    x: &v [1, 2]\\n    y: *v\\n")
    ... except AliasRefused as exc:
    ...     print(exc.path, exc.problem_mark.line + 1)
    ('hpo', 'args', 'y') 4
"""

from __future__ import annotations

from typing import Any

import yaml

__all__ = ["AliasRefused", "compose", "load_nodes", "safe_load"]


class AliasRefused(yaml.MarkedYAMLError):
    """The file uses a YAML alias; `path` is where (keys and indices), `problem_mark` the line."""

    def __init__(self, path: tuple[Any, ...], anchor: str, mark: yaml.Mark) -> None:
        problem = (
            f"YAML aliases (*{anchor}) are not allowed here: write the value out in full "
            "(an alias can expand a small file into gigabytes)"
        )
        super().__init__(problem=problem, problem_mark=mark)
        self.path = path

    def __str__(self) -> str:
        mark = self.problem_mark
        return f"line {mark.line + 1}, column {mark.column + 1}: {self.problem}"


class _NoAliasLoader(yaml.SafeLoader):
    """`yaml.SafeLoader` that raises `AliasRefused` at the first alias, tracking the path."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._path: list[Any] = []

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node:
        # a mapping's value is composed with its key node as `index`, a sequence item with its
        # position; a key itself (index None) belongs to its mapping's path
        key = index.value if isinstance(index, yaml.ScalarNode) else index
        pushed = parent is not None and key is not None
        if pushed:
            self._path.append(key if isinstance(key, str | int) else "?")
        try:
            if self.check_event(yaml.AliasEvent):
                event = self.peek_event()
                raise AliasRefused(tuple(self._path), str(event.anchor), event.start_mark)
            return super().compose_node(parent, index)
        finally:
            if pushed:
                self._path.pop()


def load_nodes(text: str) -> tuple[yaml.Node | None, Any]:
    """The node tree (for line numbers) and the data of a single-document YAML text.

    Returns:
        ``(None, None)`` for an empty document.

    Raises:
        AliasRefused: the text uses an alias.
        yaml.YAMLError: the text is not valid YAML (or holds more than one document).
    """
    loader = _NoAliasLoader(text)
    try:
        root = loader.get_single_node()
        return root, (loader.construct_document(root) if root is not None else None)
    finally:
        loader.dispose()


def compose(text: str) -> yaml.Node | None:
    """The node tree of a single-document YAML text (see `load_nodes` for what it raises)."""
    loader = _NoAliasLoader(text)
    try:
        return loader.get_single_node()
    finally:
        loader.dispose()


def safe_load(text: str) -> Any:
    """`yaml.safe_load` without aliases (see `load_nodes` for what it raises)."""
    return load_nodes(text)[1]
