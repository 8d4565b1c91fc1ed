"""FunCoder's pure helpers: stubs, context of a function, adopting a reply, test-input parsing."""

from __future__ import annotations

import ast
from collections.abc import Callable

from workbench.optimizers.codegen.codetree import (
    CodeParseError,
    CodeTree,
    FunctionNode,
    assemble,
    check_signature,
    dependency_order,
    extract_code,
    parse_code,
    render_python_function,
)

__all__ = ["adopt", "context_of", "parse_inputs", "program_of", "stub_of"]

STUB_BODY = "raise NotImplementedError()"


def stub_of(tree: CodeTree, name: str) -> str:
    """Function `name` with its header and docstring and the body hidden."""
    return render_python_function(tree.functions[name], STUB_BODY)


def context_of(tree: CodeTree, name: str) -> str:
    """Imports and the functions `name` reaches (children first), without `name` itself."""
    parts = [s.source for s in tree.imports]
    parts += [tree.functions[f].source for f in dependency_order(tree, name) if f != name]
    return "\n\n".join(p.rstrip("\n") for p in parts)


def adopt(
    tree: CodeTree,
    reply: str,
    name: str,
    required: str | None = None,
    *,
    check: Callable[[FunctionNode], list[str]] | None = None,
) -> CodeTree:
    """A new tree with the reply's `name` and the new helpers the reply defines.

    Functions the tree already has are not replaced (except `name`); the reply's imports are
    added. The reply is parsed in the tree's language (Python, or C/C++ with tree-sitter); a
    C/C++ ``main`` in the reply is ignored (an MPI driver owns ``main``).

    Args:
        tree: the current tree.
        reply: the model's answer.
        name: the function the reply must define, implemented.
        required: a signature `name` must keep (the root's, from the prompt; Python).
        check: instead of `required`, a function returning the signature problems of `name`
            (`ProblemView.signature_problems`; any language).

    Raises:
        CodeParseError: no code, a syntax error, `name` missing or left a stub, or a changed
            signature; the message is fit to send back to the model.
    """
    got = parse_code(reply, tree.language)
    if tree.language != "python":
        got.functions.pop("main", None)
    fn = got.functions.get(name)
    if fn is None:
        have = ", ".join(got.functions) or "no function"
        raise CodeParseError(f"the answer does not define {name}() (it has {have})", raw=reply)
    if not fn.implemented:
        raise CodeParseError(f"{name}() is still not implemented in the answer", raw=reply)
    problems = check(fn) if check is not None else []
    if required is not None and check is None:
        problems = check_signature(fn, required, "python")
    if problems:
        raise CodeParseError("; ".join(problems), raw=reply)
    new = tree.copy()
    new.functions[name] = fn
    for fname, f in got.functions.items():
        if fname not in new.functions:
            new.functions[fname] = f
    for imp in got.imports:
        if all(i.source != imp.source for i in new.imports):
            new.imports.append(imp)
    for sib in got.others:  # module constants a helper needs
        if sib.kind in ("constant", "class") and all(s.source != sib.source for s in new.others):
            new.others.append(sib)
    return new.relink()


def program_of(tree: CodeTree, root: str) -> str:
    """The runnable module: every function (root's helpers first), no top-level script lines."""
    return assemble(tree, root, scripts=False)


def _call_part(line: str) -> str:
    text = line.strip()
    for prefix in (">>>", "assert ", "print("):
        if text.startswith(prefix):
            text = text[len(prefix) :].strip()
            if prefix == "print(" and text.endswith(")"):
                text = text[:-1]
    return text


def parse_inputs(reply: str, name: str, limit: int) -> list[str]:
    """The distinct calls of `name` in a reply (one per line; comments and ``== x`` dropped).

    Only expressions that are a call of `name` whose arguments hold no other calls of it are
    kept; they are parsed, never executed here.

    Example:
        >>> parse_inputs("```python\\nf(1)  # 2\\nf(1)\\nassert f(2) == 3\\ng(3)\\n```", "f", 5)
        ['f(1)', 'f(2)']
    """
    code = extract_code(reply, "python") or reply
    found: list[str] = []
    for line in code.splitlines():
        text = _call_part(line)
        if not text.startswith(name):
            continue
        try:
            node = ast.parse(text, mode="eval").body
        except SyntaxError:
            continue
        if isinstance(node, ast.Compare) and len(node.ops) == 1:
            node = node.left
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)):
            continue
        if node.func.id != name:
            continue
        call = ast.unparse(node)
        if call not in found:
            found.append(call)
        if len(found) >= limit:
            break
    return found
