"""Language-independent operations on `CodeTree`s: parse, check, order, assemble, patch, merge.

Each function dispatches on `CodeTree.language` to `python.py` or `cfamily.py`; the trees
they return are new objects (the input tree is not changed).
"""

from __future__ import annotations

from workbench.optimizers.codegen.codetree.base import CodeTree, FunctionNode, normalize_language
from workbench.optimizers.codegen.codetree.cfamily import (
    parse_c,
    parse_c_signature,
    render_c_function,
)
from workbench.optimizers.codegen.codetree.python import (
    parse_python,
    parse_python_signature,
    render_python_function,
)

__all__ = [
    "assemble",
    "check_signature",
    "dependency_order",
    "merge",
    "parse_code",
    "parse_signature",
    "replace_function",
    "set_body",
]


def parse_code(reply: str, language: str, *, extract: bool = True) -> CodeTree:
    """Parse a model reply in `language` (``"python"``, ``"c"``, ``"cpp"``) into a `CodeTree`.

    Args:
        reply: the model's text (fences and surrounding prose are removed when `extract`).
        language: the language name (aliases such as ``"py"``, ``"c++"`` and ``"mpi"`` work).
        extract: strip fences / prose first.

    Returns:
        The tree.

    Raises:
        CodeParseError: no code, or code that does not parse (model feedback).

    Example:
        >>> parse_code("def f():\\n    pass\\n", "python").stubs()
        ['f']
    """
    lang = normalize_language(language)
    if lang == "python":
        return parse_python(reply, extract=extract)
    return parse_c(reply, lang, extract=extract)


def parse_signature(required: str, language: str) -> FunctionNode:
    """Parse a bare signature (``"def f(x: int) -> int"``, ``"int f(const int *x)"``)."""
    lang = normalize_language(language)
    if lang == "python":
        return parse_python_signature(required)
    return parse_c_signature(required, lang)


def check_signature(
    fn: FunctionNode, required: FunctionNode | str, language: str, *, strict: bool = False
) -> list[str]:
    """Compare a function against a required signature.

    Names, parameter count, order and kinds must match. Python parameter names must match;
    C/C++ names are free, their types must match. Annotations, defaults and the return type are
    compared when the requirement states them (with `strict`, a missing one in `fn` is a problem).

    Args:
        fn: the candidate function.
        required: the required signature (a node or text for `parse_signature`).
        language: ``"python"``, ``"c"`` or ``"cpp"``.
        strict: also require the annotations/return type the requirement states to be present.

    Returns:
        One message per mismatch (empty when the function complies); fit to send to the model.

    Example:
        >>> fn = parse_code("def f(a, b):\\n    return a\\n", "python").functions["f"]
        >>> check_signature(fn, "def f(a, c)", "python")
        ["parameter 2 of 'f' is named 'b', expected 'c'"]
    """
    lang = normalize_language(language)
    req = parse_signature(required, lang) if isinstance(required, str) else required
    problems: list[str] = []
    if fn.name != req.name:
        problems.append(f"function is named {fn.name!r}, expected {req.name!r}")
    if len(fn.params) != len(req.params):
        problems.append(
            f"{req.name!r} takes {len(fn.params)} parameters, expected {len(req.params)}"
            f" ({_plist(req)})"
        )
        return problems
    for i, (got, want) in enumerate(zip(fn.params, req.params, strict=True), start=1):
        where = f"parameter {i} of {req.name!r}"
        if lang == "python" and got.name != want.name:
            problems.append(f"{where} is named {got.name!r}, expected {want.name!r}")
        if got.kind != want.kind:
            problems.append(f"{where} is {got.kind}, expected {want.kind}")
        stated = got.annotation is not None or strict or lang != "python"
        if want.annotation is not None and stated and got.annotation != want.annotation:
            kind = "annotated" if lang == "python" else "of type"
            problems.append(f"{where} is {kind} {got.annotation!r}, expected {want.annotation!r}")
        if want.default is not None and got.default != want.default:
            problems.append(f"{where} defaults to {got.default!r}, expected {want.default!r}")
    stated = fn.returns is not None or strict or lang != "python"
    if req.returns is not None and stated and fn.returns != req.returns:
        problems.append(f"{req.name!r} returns {fn.returns!r}, expected {req.returns!r}")
    return problems


def dependency_order(tree: CodeTree, root: str | None = None) -> list[str]:
    """Function names with every function after the functions it calls (children first).

    Args:
        tree: the tree.
        root: start from this function and list only what it reaches; ``None`` walks every
            function in source order. Mutual recursion is cut where it closes (first seen first).

    Returns:
        The post-order of the call graph.

    Raises:
        KeyError: `root` is not a function of the tree.
    """
    if root is not None and root not in tree.functions:
        raise KeyError(f"no function {root!r} in the tree (have {sorted(tree.functions)})")
    order: list[str] = []
    state: dict[str, int] = {}  # 1 = on the stack, 2 = done

    def visit(name: str) -> None:
        if state.get(name):
            return
        state[name] = 1
        for child in tree.functions[name].calls:
            visit(child)
        state[name] = 2
        order.append(name)

    for name in [root] if root is not None else list(tree.functions):
        visit(name)
    return order


def assemble(
    tree: CodeTree, root: str | None = None, *, only_reachable: bool = False, scripts: bool = True
) -> str:
    """Write the module back: imports, siblings, functions children-first, then trailing siblings.

    Args:
        tree: the tree.
        root: order the functions from this one (its helpers first, it last among them).
        only_reachable: drop the functions `root` does not reach.
        scripts: keep top-level statements that run (``"script"`` siblings such as a reply's
            example ``print(f(3))``); ``False`` drops them, e.g. before running tests.

    Returns:
        The module source.
    """
    order = dependency_order(tree, root) if root is not None else []
    if not only_reachable or root is None:
        order += [n for n in dependency_order(tree) if n not in order]
    names = set(tree.functions)
    others = [s for s in tree.others if scripts or s.kind != "script"]
    before = [s for s in others if not names.intersection(s.refs)]
    after = [s for s in others if names.intersection(s.refs)]
    parts: list[str] = []
    if tree.imports:
        parts.append("".join(s.source for s in tree.imports))
    parts += [s.source for s in before]
    parts += [tree.functions[n].source for n in order]
    parts += [s.source for s in after]
    sep = "\n\n" if tree.language == "python" else "\n"
    return sep.join(p.rstrip("\n") + "\n" for p in parts)


def replace_function(tree: CodeTree, source: str, name: str | None = None) -> CodeTree:
    """A new tree where the function defined in `source` replaces (or joins) the tree's one.

    Args:
        tree: the tree.
        source: code defining the function (may also bring imports, which are added).
        name: which function of `source` to take; by default its last function.

    Returns:
        The new tree.

    Raises:
        CodeParseError: `source` does not parse.
        KeyError: `source` defines no function (or not `name`).
    """
    other = parse_code(source, tree.language)
    pick = name or (list(other.functions)[-1] if other.functions else None)
    if pick is None or pick not in other.functions:
        wanted = f"function {name!r}" if name else "function"
        raise KeyError(f"the code defines no {wanted} (it has {sorted(other.functions)})")
    new = tree.copy()
    new.functions[pick] = other.functions[pick]
    for imp in other.imports:
        if all(i.source != imp.source for i in new.imports):
            new.imports.append(imp)
    return new.relink()


def set_body(tree: CodeTree, name: str, body: str) -> CodeTree:
    """A new tree where function `name` keeps its header and docstring and gets `body`.

    Raises:
        KeyError: no function `name`.
    """
    fn = tree.functions[name]
    if tree.language == "python":
        source = render_python_function(fn, body)
    else:
        source = render_c_function(fn, body, tree.language)
    return replace_function(tree, source, name)


def merge(base: CodeTree, update: CodeTree) -> CodeTree:
    """Fold `update` (e.g. a divide reply) into `base`.

    `update`'s functions replace `base`'s, except that a stub never replaces an implemented
    function (a reply that re-declares a finished helper as a stub does not undo it). New
    imports and siblings are appended.

    Returns:
        The new tree.

    Raises:
        ValueError: the trees are in different languages.
    """
    if base.language != update.language:
        raise ValueError(f"cannot merge {update.language} into {base.language}")
    new = base.copy()
    for fname, fn in update.functions.items():
        old = new.functions.get(fname)
        if old is None or fn.implemented or not old.implemented:
            new.functions[fname] = fn
    for imp in update.imports:
        if all(i.source != imp.source for i in new.imports):
            new.imports.append(imp)
    for sib in update.others:
        if sib.kind == "prototype":
            continue
        if all(s.source != sib.source for s in new.others):
            new.others.append(sib)
    return new.relink()


def _plist(fn: FunctionNode) -> str:
    return ", ".join(p.name or (p.annotation or "?") for p in fn.params)
