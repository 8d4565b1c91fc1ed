"""Public tests from a prompt's docstring examples (FunCoder's "sys tests").

Two shapes are recognised: doctest blocks (``>>> f(1)`` then the value on the next line) and
one-line examples written as ``f(1) == 2``, ``f(1) ➞ 2``, ``f(1) -> 2``, ``f(1) => 2`` or
``f(1) should return 2``. An example becomes a test only when its call mentions the entry point
and its expected value is a Python literal (``ast.literal_eval``); everything is parsed, nothing
is executed.
"""

from __future__ import annotations

import ast
import builtins
import doctest
import re

from workbench.tasks.code.problem import TestCase, top_level_names

__all__ = ["docstring_examples", "entry_docstring"]

JSON_WORDS = {"true": "True", "false": "False", "null": "None"}

_ARROWS = re.compile(
    r"^\s*#?\s*(?:==>|-->|==|➞|→|->|=>|⇒|should\s+return|should\s+be|returns?|gives)"
    r"\s*(.+)$",
    re.IGNORECASE,
)


def entry_docstring(prompt: str, entry_point: str) -> str | None:
    """The docstring of `entry_point` in `prompt`, or None."""
    try:
        tree = ast.parse(prompt)
    except (SyntaxError, ValueError):
        return None
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name == entry_point:
            return ast.get_docstring(node)
    return None


def _mentions(expr: str, name: str, known: frozenset[str] = frozenset()) -> bool:
    """Whether `expr` calls `name` and uses no other unknown names (``f(abc)`` is prose)."""
    try:
        tree = ast.parse(expr, mode="eval")
    except SyntaxError:
        return False
    names = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
    return name in names and names <= {name, *known, *dir(builtins)}


def _literal(text: str) -> str | None:
    """`text` (or `text` without a trailing period/comma) when it is a Python literal."""
    text = text.strip()
    js = re.sub(r"\b(true|false|null)\b", lambda m: JSON_WORDS[m.group(1)], text)
    bare = re.sub(r"\s+\([^()]*\)\s*\.?$", "", text)  # "'No' (because ...)"
    for cand in (text.rstrip(".,;").strip(), text, js.rstrip(".,;").strip(), js, bare):
        if not cand:
            continue
        try:
            ast.literal_eval(cand)
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            continue
        return cand
    return None


def _clean(source: str) -> str:
    """The expression without comments or surrounding space ("" if it is not one)."""
    try:
        tree = ast.parse(source.strip(), mode="eval")
    except SyntaxError:
        return ""
    return source.strip() if "#" not in source else ast.unparse(tree)


def _split_comparison(expr: str) -> tuple[str, str | None]:
    """``"f(1) == 2"`` -> ``("f(1)", "2")`` when the right side is a literal."""
    tree = ast.parse(expr, mode="eval").body
    if isinstance(tree, ast.Compare) and len(tree.ops) == 1 and isinstance(tree.ops[0], ast.Eq):
        return ast.unparse(tree.left), _literal(ast.unparse(tree.comparators[0]))
    return expr, None


def _doctests(doc: str, entry_point: str, known: frozenset[str]) -> list[tuple[str, str]]:
    try:
        examples = doctest.DocTestParser().get_examples(doc)
    except ValueError:  # inconsistent indentation in the docstring
        return []
    found = []
    for ex in examples:
        call, lines = _clean(ex.source), ex.want.strip().splitlines()
        # the whole output, else its first line (prose may follow without a blank line)
        want = (_literal(ex.want) or _literal(lines[0])) if lines else None
        if want is None and call:  # ">>> f(1) == 2" with no usable output below
            call, want = _split_comparison(call)
        if want is not None and _mentions(call, entry_point, known):
            found.append((call, want))
    return found


def _call_end(line: str, start: int) -> int | None:
    """End index of the balanced call starting at `start` (the name), or None."""
    depth, quote = 0, ""
    i = line.find("(", start)
    if i < 0:
        return None
    while i < len(line):
        ch = line[i]
        if quote:
            if ch == "\\":
                i += 1
            elif ch == quote:
                quote = ""
        elif ch in "'\"":
            quote = ch
        elif ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    return None


def _inline(doc: str, entry_point: str, known: frozenset[str]) -> list[tuple[str, str]]:
    found = []
    pattern = re.compile(rf"(?<![\w.]){re.escape(entry_point)}\s*\(")
    for line in doc.splitlines():
        if line.lstrip().startswith(">>>"):
            continue
        for m in pattern.finditer(line):
            end = _call_end(line, m.start())
            if end is None:
                continue
            call = line[m.start() : end]
            arrow = _ARROWS.match(line[end:])
            if not arrow or not _mentions(call, entry_point, known):
                continue
            want = _literal(arrow.group(1))
            if want is None:  # "f(1) == 2, f(2) == 3": try up to the next example
                head = re.split(r"[,;]\s*(?=" + re.escape(entry_point) + r"\s*\()", arrow.group(1))
                want = _literal(head[0]) if len(head) > 1 else None
            if want is not None:
                found.append((call, want))
    return found


def docstring_examples(prompt: str, entry_point: str, *, prefix: str = "public") -> list[TestCase]:
    """Tests from the examples in the entry point's docstring.

    Args:
        prompt: signature + docstring (may hold other definitions).
        entry_point: the function whose docstring is read.
        prefix: test names are ``{prefix}_{i}``.

    Returns:
        One `TestCase` (call + expected) per distinct example, in docstring order.

    Example:
        >>> doc = "def inc(x):\\n    '''Add one.\\n    >>> inc(1)\\n    2\\n"
        >>> doc += "    inc(5) ➞ 6\\n    '''\\n"
        >>> [t.source() for t in docstring_examples(doc, "inc")]
        ['inc(1) == 2', 'inc(5) == 6']
    """
    doc = entry_docstring(prompt, entry_point)
    if not doc:
        return []
    seen: set[str] = set()
    tests: list[TestCase] = []
    known = frozenset(top_level_names(ast.parse(prompt)))
    for call, want in _doctests(doc, entry_point, known) + _inline(doc, entry_point, known):
        if call in seen:
            continue
        seen.add(call)
        tests.append(TestCase(f"{prefix}_{len(tests)}", call=call, expected=want))
    return tests
