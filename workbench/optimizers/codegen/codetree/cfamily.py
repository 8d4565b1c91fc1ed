"""C / C++ function trees with tree-sitter (the C and C++ grammars), for MPI candidates.

Top-level ``function_definition`` nodes (also inside ``template<...>``) become `FunctionNode`s;
the comment block right above a definition is its docstring and part of its `source`.
``#include`` lines are imports; ``#define``, globals, types, ``using`` and prototypes are the
other siblings. Functions inside ``namespace`` / ``extern "C"`` blocks stay inside that sibling.

A function is a stub (``implemented=False``) when its body has no statement, or when every
statement is a placeholder (``throw``, ``return`` of nothing / a literal / ``{}`` / ``T()``,
``(void)x;``, ``assert(...)``, ``abort()``) and either the last one is a ``throw`` or the body
has a comment saying TODO / implement / stub / fill in. ``int zero() { return 0; }`` therefore
stays implemented.
"""

from __future__ import annotations

import re
import textwrap
from functools import cache

import tree_sitter
import tree_sitter_c
import tree_sitter_cpp

from workbench.optimizers.codegen.codetree._ts import (
    Node,
    clean_comment,
    collect_params,
    collect_refs,
    function_declarator,
    function_definition,
    innermost_name,
    is_stub,
    norm,
    syntax_errors,
    text_of,
)
from workbench.optimizers.codegen.codetree.base import (
    CodeParseError,
    CodeTree,
    FunctionNode,
    Sibling,
    extract_code,
    normalize_language,
)

__all__ = ["parse_c", "parse_c_signature", "render_c_function"]

_CODE_START = re.compile(
    r"^\s*(#\s*(include|define|if|pragma)|template\s*<|using\s|namespace\s|struct\s|class\s|"
    r"typedef\s|enum\s|extern\s|"
    # a definition or prototype: `type name(` ... ending the line with `{ ) , } ;`
    r"(?:[A-Za-z_][\w:<>,]*[\s*&]+)+[A-Za-z_][\w:]*\s*\(.*[{),};]\s*$)"
)
_STORAGE = {
    "storage_class_specifier",
    "attribute_specifier",
    "attribute_declaration",
    "virtual",
    "explicit_function_specifier",
    "ms_declspec_modifier",
}


@cache
def _parser(language: str) -> tree_sitter.Parser:
    grammar = tree_sitter_cpp.language() if language == "cpp" else tree_sitter_c.language()
    return tree_sitter.Parser(tree_sitter.Language(grammar))


def parse_c(
    reply: str, language: str = "cpp", *, extract: bool = True, tolerant: bool = False
) -> CodeTree:
    """Parse a model reply (or plain code) holding C or C++ into a `CodeTree`.

    Args:
        reply: the model's text: fenced Markdown, code with prose around it, or bare code.
        language: ``"c"`` or ``"cpp"`` (``"c++"``, ``"mpi"`` ... accepted).
        extract: look for fenced blocks and trim prose first.
        tolerant: keep the definitions that parsed and list the syntax errors in
            `CodeTree.errors` instead of raising.

    Returns:
        The tree; `CodeTree.functions` in source order.

    Raises:
        CodeParseError: no code, or (unless `tolerant`) a syntax error, naming the lines.

    Example:
        >>> tree = parse_c("```cpp\\n#include <mpi.h>\\nint g(int x);\\n"
        ...                "int f(int x) { return g(x); }\\nint g(int x) { return x; }\\n```")
        >>> (tree.functions["f"].calls, [s.source.strip() for s in tree.imports])
        (['g'], ['#include <mpi.h>'])
    """
    lang = normalize_language(language)
    if lang == "python":
        raise ValueError("parse_c parses C or C++; use parse_python for Python")
    code = _c_code(reply, lang) if extract else reply
    data = code.encode()
    root = _parser(lang).parse(data).root_node
    errors = syntax_errors(root)
    if errors and not tolerant:
        raise CodeParseError(
            f"the {'C++' if lang == 'cpp' else 'C'} code does not parse: " + "; ".join(errors[:5]),
            raw=reply,
        )
    tree = CodeTree(language=lang, source=code, errors=errors)
    run: list[Node] = []  # the current block of adjacent comments
    for child in root.named_children:
        if child.type == "comment":
            if run and child.start_point.row > run[-1].end_point.row + 1:
                run = []
            run.append(child)
            continue
        doc = (
            (run[0], run[-1])
            if run and run[-1].end_point.row + 1 >= child.start_point.row
            else None
        )  # a blank line separates a comment from the definition
        run = []
        if child.has_error or child.type == "ERROR":
            continue
        definition = function_definition(child)
        if definition is not None:
            fn = _function_node(child, definition, doc, data)
            old = tree.functions.get(fn.name)
            if old is None or fn.implemented or not old.implemented:
                tree.functions.pop(fn.name, None)
                tree.functions[fn.name] = fn
            continue
        sib = _sibling(child, data, doc)
        target = tree.imports if sib.kind == "import" else tree.others
        if all(s.source != sib.source for s in target):
            target.append(sib)
    if not tree.functions and not tree.imports and not tree.others:
        raise CodeParseError("the reply holds no C/C++ code", raw=reply)
    return tree.relink()


def parse_c_signature(required: str, language: str = "cpp") -> FunctionNode:
    """Parse a required C/C++ signature such as ``"void f(const int *x, int n)"``.

    Raises:
        CodeParseError: the text is not a function header.
    """
    text = required.strip().rstrip(";").strip()
    if not text.endswith("}"):
        text += " {}"
    tree = parse_c(text, language, extract=False)
    if not tree.functions:
        raise CodeParseError(f"not a C/C++ function signature: {required!r}", raw=required)
    return next(iter(tree.functions.values()))


def render_c_function(fn: FunctionNode, body: str, language: str = "cpp") -> str:
    """The source of `fn` with its body replaced (leading comment and header kept).

    Args:
        fn: the function to patch.
        body: the statements of the new body, with or without the enclosing braces.
        language: ``"c"`` or ``"cpp"``.

    Returns:
        The new definition's source.
    """
    inner = textwrap.dedent(body).strip("\n")
    stripped = inner.strip()
    if stripped.startswith("{") and stripped.endswith("}"):
        inner = textwrap.dedent(stripped[1:-1]).strip("\n")
    data = fn.source.encode()
    root = _parser(normalize_language(language)).parse(data).root_node
    brace = None
    for child in root.named_children:
        definition = function_definition(child)
        body_node = definition.child_by_field_name("body") if definition is not None else None
        if body_node is not None:
            brace = body_node.start_byte
            break
    if brace is None:
        raise ValueError(f"no function body in {fn.name!r}'s source")
    head = data[:brace].decode().rstrip() + " {"
    return f"{head}\n{textwrap.indent(inner, '    ')}\n}}\n" if inner else f"{head}\n}}\n"


def _c_code(reply: str, lang: str) -> str:
    fenced = extract_code(reply, lang)
    if fenced is not None:
        return fenced
    lines = textwrap.dedent(reply).splitlines()
    starts = [i for i, line in enumerate(lines) if _CODE_START.match(line)]
    if not starts:
        raise CodeParseError("the reply holds no C/C++ code (no #include or definition)", raw=reply)
    ends = [
        i
        for i, line in enumerate(lines)
        if line.rstrip().endswith(("}", ";", "};")) or line.lstrip().startswith("#")
    ]
    end = max([e for e in ends if e >= starts[0]], default=len(lines) - 1)
    return "\n".join(lines[starts[0] : end + 1]) + "\n"


def _function_node(
    top: Node, definition: Node, doc: tuple[Node, Node] | None, data: bytes
) -> FunctionNode:
    fdecl = function_declarator(definition.child_by_field_name("declarator"))
    body = definition.child_by_field_name("body")
    name_node = innermost_name(fdecl.child_by_field_name("declarator") if fdecl else None, data)
    name = norm(text_of(name_node, data)) if name_node is not None else "?"
    header_end = body.start_byte if body is not None else definition.end_byte
    signature = " ".join(data[definition.start_byte : header_end].decode().split())
    ret_parts = [
        c
        for c in definition.children
        if c.end_byte <= (fdecl.start_byte if fdecl else header_end) and c.type not in _STORAGE
    ]
    returns = norm(" ".join(text_of(c, data) for c in ret_parts))
    if fdecl is not None:  # `int *f(...)`: the pointer belongs to the return type
        outer = data[definition.child_by_field_name("declarator").start_byte : fdecl.start_byte]
        returns = norm(returns + outer.decode())
    start = doc[0] if doc is not None else top
    body_text = ""
    if body is not None:
        inner = data[body.start_byte + 1 : body.end_byte - 1].decode()
        body_text = textwrap.dedent(inner.strip("\n")).strip() + "\n" if inner.strip() else ""
    return FunctionNode(
        name=name,
        signature=signature,
        params=collect_params(fdecl.child_by_field_name("parameters") if fdecl else None, data),
        returns=returns or None,
        docstring=clean_comment(data[doc[0].start_byte : doc[1].end_byte].decode())
        if doc is not None
        else None,
        body=body_text,
        source=data[start.start_byte : top.end_byte].decode() + "\n",
        implemented=body is not None and not is_stub(body, data),
        refs=collect_refs(body, data) if body is not None else [],
        start_line=start.start_point.row + 1,
        end_line=top.end_point.row + 1,
    )


def _sibling(node: Node, data: bytes, doc: tuple[Node, Node] | None) -> Sibling:
    start = doc[0].start_byte if doc is not None else node.start_byte
    end = node.end_byte
    after = node.next_sibling
    if after is not None and after.type == ";":  # `struct S {...};`: the `;` is its own node
        end = after.end_byte
    source = data[start:end].decode().rstrip() + "\n"
    kind = "other"
    names: list[str] = []
    if node.type == "preproc_include":
        kind = "import"
    elif node.type in ("preproc_def", "preproc_function_def"):
        kind = "constant"
        names = [text_of(node.child_by_field_name("name"), data)]
    elif node.type == "declaration":
        decl = node.child_by_field_name("declarator")
        kind = "prototype" if function_declarator(decl) is not None else "constant"
        named = innermost_name(decl, data)
        names = [norm(text_of(named, data))] if named is not None else []
    elif node.type in (
        "struct_specifier",
        "class_specifier",
        "enum_specifier",
        "union_specifier",
        "type_definition",
        "alias_declaration",
        "using_declaration",
    ):
        kind = "class"
    refs = collect_refs(node, data) if kind != "prototype" else []
    return Sibling(kind=kind, source=source, names=names, refs=refs)
