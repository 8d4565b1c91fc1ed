"""Python function trees with the stdlib `ast` (as FunCoder's ``langrt/py_parse``).

A function is a stub (``implemented=False``) when its last statement is ``...``, ``pass`` or
``raise NotImplementedError`` / ``raise NotImplementedError(...)`` (FunCoder's rule), or when its
body is only a docstring.
"""

from __future__ import annotations

import ast
import re
import textwrap

from workbench.optimizers.codegen.codetree.base import (
    CodeParseError,
    CodeTree,
    FunctionNode,
    Param,
    Sibling,
    extract_code,
)

__all__ = ["parse_python", "parse_python_signature", "render_python_function"]

_CODE_START = re.compile(
    r"^(?:async\s+def\s|def\s|class\s|import\s|from\s+[\w.]+\s+import\s|@|[A-Za-z_]\w*\s*(?::[^=]+)?=)"
)
_MAX_TRIM_LINES = 200  # prose trimming tries at most this many end lines (replies are short)


def parse_python(reply: str, *, extract: bool = True) -> CodeTree:
    """Parse a model reply (or plain code) into a `CodeTree`.

    Args:
        reply: the model's text: fenced Markdown, code with prose around it, or bare code.
        extract: look for fenced blocks and trim prose first (``False`` for known-clean code).

    Returns:
        The tree; `CodeTree.functions` in source order.

    Raises:
        CodeParseError: no code, or a syntax error (message names the line).

    Example:
        >>> tree = parse_python("```python\\ndef f(x):\\n    return g(x)\\n"
        ...                     "def g(x):\\n    ...\\n```")
        >>> (tree.functions["f"].calls, tree.stubs())
        (['g'], ['g'])
    """
    code = _python_code(reply) if extract else reply
    try:
        module = ast.parse(code)
    except SyntaxError as err:
        near = f" in {err.text.strip()!r}" if err.text and err.text.strip() else ""
        raise CodeParseError(
            f"the Python code does not parse: line {err.lineno}: {err.msg}{near}", raw=reply
        ) from err
    lines = code.splitlines()
    tree = CodeTree(language="python", source=code)
    for stmt in module.body:
        if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef):
            fn = _function_node(stmt, lines)
            old = tree.functions.get(fn.name)
            # Python keeps the last definition; a later stub never hides an implementation.
            if old is None or fn.implemented or not old.implemented:
                tree.functions.pop(fn.name, None)
                tree.functions[fn.name] = fn
        else:
            sib = _sibling(stmt, lines, code)
            target = tree.imports if sib.kind == "import" else tree.others
            if all(s.source != sib.source for s in target):
                target.append(sib)
    return tree.relink()


def parse_python_signature(required: str) -> FunctionNode:
    """Parse a required signature such as ``"def f(a: int, b=2) -> int"`` (body optional).

    Raises:
        CodeParseError: the text is not a function header.
    """
    text = textwrap.dedent(required).strip()
    if not text.rstrip().endswith(":") and "\n" not in text:
        text += ":"
    if text.endswith(":"):
        text += "\n    ..."
    tree = parse_python(text, extract=False)
    if not tree.functions:
        raise CodeParseError(f"not a Python function signature: {required!r}", raw=required)
    return next(iter(tree.functions.values()))


def render_python_function(fn: FunctionNode, body: str) -> str:
    """The source of `fn` with its body replaced (decorators, header and docstring kept).

    Args:
        fn: the function to patch.
        body: the new body, any indentation (it is dedented, then indented by four spaces).

    Returns:
        The new definition's source.
    """
    new_body = textwrap.indent(textwrap.dedent(body).strip("\n"), "    ") or "    ..."
    node = ast.parse(fn.source).body[0]
    assert isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
    src_lines = fn.source.splitlines()
    keep_until = node.body[0].lineno - 1  # lines before the first body statement
    if ast.get_docstring(node, clean=False) is not None:
        keep_until = node.body[0].end_lineno or keep_until
    if keep_until < node.lineno:  # a one-line def: rebuild the header
        deco = [f"@{ast.unparse(d)}" for d in node.decorator_list]
        head = [*deco, _signature(node)]
        if ast.get_docstring(node) is not None:
            head.append(textwrap.indent(repr(ast.get_docstring(node)), "    "))
        return "\n".join(head) + "\n" + new_body + "\n"
    return "\n".join(src_lines[:keep_until]) + "\n" + new_body + "\n"


def _python_code(reply: str) -> str:
    fenced = extract_code(reply, "python")
    if fenced is not None:
        return fenced
    text = textwrap.dedent(reply)
    try:
        ast.parse(text)
        return text
    except SyntaxError:
        pass
    lines = text.splitlines()
    starts = [i for i, line in enumerate(lines) if _CODE_START.match(line)]
    for start in starts[:5]:
        last = len(lines)
        for end in range(last, max(start, last - _MAX_TRIM_LINES), -1):
            chunk = "\n".join(lines[start:end]) + "\n"
            if not chunk.strip():
                break
            try:
                ast.parse(chunk)
                return chunk
            except SyntaxError:
                continue
    if not starts:
        raise CodeParseError("the reply holds no Python code (no def/import found)", raw=reply)
    return text  # let ast report the real syntax error


def _signature(node: ast.FunctionDef | ast.AsyncFunctionDef) -> str:
    prefix = "async def" if isinstance(node, ast.AsyncFunctionDef) else "def"
    ret = f" -> {ast.unparse(node.returns)}" if node.returns is not None else ""
    return f"{prefix} {node.name}({ast.unparse(node.args)}){ret}:"


def _params(args: ast.arguments) -> list[Param]:
    out: list[Param] = []
    positional = [*args.posonlyargs, *args.args]
    defaults: list[ast.expr | None] = [None] * (len(positional) - len(args.defaults))
    defaults += list(args.defaults)
    for i, (arg, default) in enumerate(zip(positional, defaults, strict=True)):
        kind = "posonly" if i < len(args.posonlyargs) else "positional"
        out.append(_param(arg, kind, default))
    if args.vararg is not None:
        out.append(_param(args.vararg, "vararg", None))
    for arg, default in zip(args.kwonlyargs, args.kw_defaults, strict=True):
        out.append(_param(arg, "kwonly", default))
    if args.kwarg is not None:
        out.append(_param(args.kwarg, "kwarg", None))
    return out


def _param(arg: ast.arg, kind: str, default: ast.expr | None) -> Param:
    return Param(
        name=arg.arg,
        kind=kind,
        annotation=ast.unparse(arg.annotation) if arg.annotation is not None else None,
        default=ast.unparse(default) if default is not None else None,
    )


def _is_stub(body: list[ast.stmt], has_doc: bool) -> bool:
    if has_doc and len(body) == 1:
        return True
    last = body[-1]
    if isinstance(last, ast.Pass):
        return True
    if isinstance(last, ast.Expr) and isinstance(last.value, ast.Constant):
        return last.value.value is Ellipsis
    if isinstance(last, ast.Raise) and last.exc is not None:
        exc = last.exc.func if isinstance(last.exc, ast.Call) else last.exc
        return isinstance(exc, ast.Name) and exc.id == "NotImplementedError"
    return False


def _free_names(nodes: list[ast.stmt] | list[ast.expr]) -> list[str]:
    seen: dict[str, None] = {}
    for top in nodes:
        for sub in ast.walk(top):
            if isinstance(sub, ast.Name) and isinstance(sub.ctx, ast.Load):
                seen.setdefault(sub.id, None)
    return list(seen)


def _local_names(node: ast.FunctionDef | ast.AsyncFunctionDef) -> set[str]:
    """Parameters and names bound in the body (Python makes them local to the whole function)."""
    args = node.args
    local = {a.arg for a in [*args.posonlyargs, *args.args, *args.kwonlyargs]}
    local |= {a.arg for a in (args.vararg, args.kwarg) if a is not None}
    declared_global: set[str] = set()
    for stmt in node.body:
        for sub in ast.walk(stmt):
            if isinstance(sub, ast.Name) and isinstance(sub.ctx, ast.Store | ast.Del):
                local.add(sub.id)
            elif isinstance(sub, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                local.add(sub.name)
            elif isinstance(sub, ast.Global | ast.Nonlocal):
                declared_global.update(sub.names)
    return local - declared_global


def _function_node(node: ast.FunctionDef | ast.AsyncFunctionDef, lines: list[str]) -> FunctionNode:
    start = min([node.lineno, *(d.lineno for d in node.decorator_list)])
    end = node.end_lineno or node.lineno
    source = "\n".join(lines[start - 1 : end]) + "\n"
    doc = ast.get_docstring(node)
    stmts = node.body[1:] if doc is not None else node.body
    if not stmts:
        body = ""
    elif stmts[0].lineno > node.lineno:
        body = textwrap.dedent("\n".join(lines[stmts[0].lineno - 1 : end])) + "\n"
    else:  # one-line def: the body shares the header's line
        body = "\n".join(ast.unparse(s) for s in stmts) + "\n"
    return FunctionNode(
        name=node.name,
        signature=_signature(node),
        params=_params(node.args),
        returns=ast.unparse(node.returns) if node.returns is not None else None,
        docstring=doc,
        body=body,
        source=source,
        implemented=not _is_stub(node.body, doc is not None),
        refs=[n for n in _free_names(node.body) if n not in _local_names(node)],
        start_line=start,
        end_line=end,
    )


def _sibling(stmt: ast.stmt, lines: list[str], code: str) -> Sibling:
    start = min([stmt.lineno, *(d.lineno for d in getattr(stmt, "decorator_list", []))])
    source = "\n".join(lines[start - 1 : stmt.end_lineno or stmt.lineno]) + "\n"
    if isinstance(stmt, ast.Import | ast.ImportFrom):
        names = [a.asname or a.name.split(".")[0] for a in stmt.names]
        return Sibling(kind="import", source=source, names=names)
    if isinstance(stmt, ast.ClassDef):
        return Sibling(kind="class", source=source, names=[stmt.name], refs=_free_names([stmt]))
    if isinstance(stmt, ast.Assign | ast.AnnAssign | ast.AugAssign):
        targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
        names = [n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)]
        value = [stmt.value] if stmt.value is not None else []
        return Sibling(kind="constant", source=source, names=names, refs=_free_names(value))
    docstring = isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant)
    kind = "other" if docstring else "script"
    return Sibling(kind=kind, source=source, refs=_free_names([stmt]))
