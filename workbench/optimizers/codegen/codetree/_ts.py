"""tree-sitter node helpers for `cfamily` (C/C++ grammar walking, text, types, stubs)."""

from __future__ import annotations

import re

import tree_sitter

from workbench.optimizers.codegen.codetree.base import Param

Node = tree_sitter.Node

_EAST_CONST = re.compile(r"^([\w:<>,]+) ?const([*&]+)$")
_STUB_COMMENT = re.compile(r"todo|implement|stub|fill\s*in|your code", re.IGNORECASE)
_TIGHT = re.compile(r"\s*([*&,<>()\[\]]|::)\s*")


def syntax_errors(root: Node) -> list[str]:
    """``"line N: ..."`` for each ERROR / MISSING node (at most 20)."""
    found: list[str] = []

    def walk(node: Node) -> None:
        if len(found) >= 20:
            return
        if node.type == "ERROR" or node.is_missing:
            what = f"missing {node.type!r}" if node.is_missing else "unexpected text"
            text = (node.text or b"").decode(errors="replace").split("\n")[0][:40]
            found.append(
                f"line {node.start_point.row + 1}: {what}" + (f" near {text!r}" if text else "")
            )
            return
        if node.has_error:
            for child in node.children:
                walk(child)

    walk(root)
    return found


def text_of(node: Node | None, data: bytes) -> str:
    """The source text of `node` (``""`` for ``None``)."""
    return data[node.start_byte : node.end_byte].decode() if node is not None else ""


def norm(text: str) -> str:
    """Collapse spacing in a type (``double * x`` -> ``double* x``); east const first."""
    tight = _TIGHT.sub(r"\1", " ".join(text.split()))
    east = _EAST_CONST.match(tight)  # `T const&` and `const T&` are one type
    return f"const {east.group(1)}{east.group(2)}" if east else tight


def function_definition(node: Node) -> Node | None:
    """The ``function_definition`` a top-level node is (or wraps, for templates)."""
    if node.type == "function_definition":
        return node
    if node.type == "template_declaration":
        for child in node.named_children:
            found = function_definition(child)
            if found is not None:
                return found
    return None


def function_declarator(node: Node | None) -> Node | None:
    """Descend the declarator chain (pointers, references) to the ``function_declarator``."""
    while node is not None and node.type != "function_declarator":
        node = node.child_by_field_name("declarator")
    return node


def innermost_name(node: Node | None, data: bytes) -> Node | None:
    """The name node at the bottom of a declarator chain."""
    while node is not None:
        if node.type in (
            "identifier",
            "field_identifier",
            "qualified_identifier",
            "destructor_name",
            "operator_name",
            "type_identifier",
        ):
            return node
        inner = node.child_by_field_name("declarator")
        if inner is None:  # reference_declarator & co. hold their declarator unnamed
            inner = next(
                (
                    c
                    for c in node.named_children
                    if "declarator" in c.type or c.type in ("identifier", "field_identifier")
                ),
                None,
            )
        node = inner
    return None


def collect_params(plist: Node | None, data: bytes) -> list[Param]:
    """`Param`s of a ``parameter_list`` (``(void)`` is empty)."""
    out: list[Param] = []
    if plist is None:
        return out
    for p in plist.named_children:
        if p.type == "variadic_parameter" or text_of(p, data).strip() == "...":
            out.append(Param(name=None, kind="variadic", annotation="..."))
            continue
        if p.type not in (
            "parameter_declaration",
            "optional_parameter_declaration",
            "variadic_parameter_declaration",
        ):
            continue
        name_node = innermost_name(p.child_by_field_name("declarator"), data)
        default = p.child_by_field_name("default_value")
        end = default.start_byte if default is not None else p.end_byte
        text = data[p.start_byte : end].decode().rstrip().rstrip("=")
        if name_node is not None:
            lo, hi = name_node.start_byte - p.start_byte, name_node.end_byte - p.start_byte
            text = text[:lo] + " " + text[hi:]
        annotation = norm(text)
        if annotation == "void" and name_node is None and len(plist.named_children) == 1:
            continue  # f(void) takes no parameters
        out.append(
            Param(
                name=text_of(name_node, data) or None,
                kind="param",
                annotation=annotation,
                default=text_of(default, data) or None,
            )
        )
    return out


def collect_refs(body: Node, data: bytes) -> list[str]:
    """Identifiers (and qualified names) under `body`, in first-use order."""
    seen: dict[str, None] = {}
    stack = [body]
    while stack:
        node = stack.pop()
        if node.type == "identifier":
            seen.setdefault(text_of(node, data), None)
        elif node.type == "qualified_identifier":
            seen.setdefault(norm(text_of(node, data)), None)
        stack.extend(reversed(node.children))
    return list(seen)


def placeholder(stmt: Node, data: bytes) -> bool:
    """A statement that does no real work (see the stub rule in `cfamily`)."""
    if stmt.type == "throw_statement":
        return True
    if stmt.type == "return_statement":
        value = [c for c in stmt.named_children if c.type != "comment"]
        if not value:
            return True
        v = value[0]
        return v.type in (
            "number_literal",
            "null",
            "true",
            "false",
            "initializer_list",
            "string_literal",
            "char_literal",
        ) or (
            v.type == "call_expression"
            and not text_of(v.child_by_field_name("arguments"), data).strip("() ")
        )
    if stmt.type == "expression_statement" and stmt.named_children:
        expr = stmt.named_children[0]
        if expr.type == "cast_expression" and text_of(expr, data).replace(" ", "").startswith(
            "(void)"
        ):
            return True
        if expr.type == "call_expression":
            callee = text_of(expr.child_by_field_name("function"), data)
            return callee in ("assert", "abort", "std::abort", "exit", "std::exit")
    return False


def is_stub(body: Node, data: bytes) -> bool:
    """The stub rule of `cfamily` applied to a ``compound_statement``."""
    stmts = [c for c in body.named_children if c.type != "comment"]
    if not stmts:
        return True
    if not all(placeholder(s, data) for s in stmts):
        return False
    if stmts[-1].type == "throw_statement":
        return True
    return any(
        c.type == "comment" and _STUB_COMMENT.search(text_of(c, data)) for c in body.named_children
    )


def clean_comment(text: str) -> str:
    """A comment block without ``//``, ``/*``, ``*/`` and leading ``*``."""
    lines = []
    for line in text.splitlines():
        line = line.strip()
        line = re.sub(r"^(/\*+!?|\*+/|//+!?|\*+(?!/))", "", line)
        line = re.sub(r"\*+/$", "", line).strip()
        lines.append(line)
    return "\n".join(lines).strip()
