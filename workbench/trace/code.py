"""Source code of bundled functions: extract, check, compile, and annotate errors.

These are pure functions on strings so the same steps can run in another process (the sandbox):
:func:`compile_code` turns a source string and a namespace into a function, without touching any
frame. :func:`check_code` says why a rewrite is not acceptable (syntax, missing ``def``, changed
signature). :func:`annotate` marks the failing line (``<--- (ZeroDivisionError) division by zero``).

Example:
    >>> f = compile_code("def double(x):\\n    return 2 * x\\n", "double", {})
    >>> f(21)
    42
"""

from __future__ import annotations

import ast
import hashlib
import inspect
import linecache
import textwrap
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from types import FunctionType
from typing import Any

from workbench.trace.errors import CodeError, RemoteError

__all__ = [
    "CodeCall",
    "FunctionSource",
    "annotate",
    "check_code",
    "closure_values",
    "compile_code",
    "error_comment",
    "function_source",
]


@dataclass(frozen=True)
class FunctionSource:
    """Where a function's code comes from.

    Attributes:
        name: The function's name.
        source: The source without decorators, dedented, ending with a newline.
        header: The ``def`` line(s) and docstring a rewrite must start with.
        filename: The file the function was defined in.
        first_line: The file line number of the ``def`` line (1-based).
        is_async: Whether it is ``async def``.
    """

    name: str
    source: str
    header: str
    filename: str
    first_line: int
    is_async: bool


@dataclass(frozen=True)
class CodeCall:
    """One call of a trainable function, self-contained enough to run in another process.

    Attributes:
        name: The function to call after executing ``source``.
        source: The current code (the parameter's value).
        args: Plain positional values (nodes already unwrapped).
        kwargs: Plain keyword values.
        is_async: Whether the function is ``async def``.
    """

    name: str
    source: str
    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    is_async: bool


def _find_def(tree: ast.Module, name: str) -> ast.FunctionDef | ast.AsyncFunctionDef | None:
    found = None
    for stmt in tree.body:
        if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef) and stmt.name == name:
            found = stmt
    return found


def function_source(fn: Callable[..., Any]) -> FunctionSource:
    """Extract a function's own source (decorators removed).

    Args:
        fn: A function defined with ``def`` in a file (not a lambda, not a builtin).

    Returns:
        Its :class:`FunctionSource`.

    Raises:
        TypeError: When the source cannot be found or is not a single ``def``.
    """
    try:
        lines, start = inspect.getsourcelines(fn)
    except (OSError, TypeError) as exc:
        raise TypeError(f"cannot read the source of {fn!r}: {exc}") from exc
    text = textwrap.dedent("".join(lines))
    try:
        tree = ast.parse(text)
    except SyntaxError as exc:
        raise TypeError(f"the source of {fn!r} is not a standalone definition") from exc
    fdef = _find_def(tree, fn.__name__)
    if fdef is None:
        raise TypeError(f"{fn!r} is not defined by a `def {fn.__name__}` statement")
    src_lines = text.splitlines(keepends=True)
    body_start = fdef.body[0].lineno - 1
    doc = fdef.body[0]
    is_doc = isinstance(doc, ast.Expr) and isinstance(doc.value, ast.Constant)
    if is_doc and isinstance(doc.value.value, str):  # type: ignore[attr-defined]
        body_start = doc.end_lineno or doc.lineno
    source = "".join(src_lines[fdef.lineno - 1 : fdef.end_lineno])
    header = "".join(src_lines[fdef.lineno - 1 : body_start])
    if not source.endswith("\n"):
        source += "\n"
    return FunctionSource(
        name=fn.__name__,
        source=source,
        header=header.rstrip("\n"),
        filename=inspect.getsourcefile(fn) or fn.__code__.co_filename,
        first_line=start + fdef.lineno - 1,
        is_async=isinstance(fdef, ast.AsyncFunctionDef),
    )


def _signature_of(fdef: ast.FunctionDef | ast.AsyncFunctionDef) -> list[tuple[str, str]]:
    a = fdef.args
    sig = [(arg.arg, "posonly") for arg in a.posonlyargs]
    sig += [(arg.arg, "arg") for arg in a.args]
    if a.vararg:
        sig.append((a.vararg.arg, "*"))
    sig += [(arg.arg, "kwonly") for arg in a.kwonlyargs]
    if a.kwarg:
        sig.append((a.kwarg.arg, "**"))
    return sig


def check_code(source: str, expected: FunctionSource) -> CodeError | SyntaxError | None:
    """Say why ``source`` cannot replace the function described by ``expected``.

    Args:
        source: The proposed code.
        expected: The original function's source facts.

    Returns:
        None when acceptable; otherwise the ``SyntaxError`` or a :class:`CodeError` naming the
        problem (missing ``def``, ``async`` changed, parameters renamed/added/removed).
    """
    try:
        tree = ast.parse(source, filename=code_filename(expected.name, source))
    except SyntaxError as exc:
        return exc
    fdef = _find_def(tree, expected.name)
    if fdef is None:
        return CodeError(f"the code must define `def {expected.name}(...)` at top level")
    if isinstance(fdef, ast.AsyncFunctionDef) != expected.is_async:
        want = "async def" if expected.is_async else "def"
        return CodeError(f"`{expected.name}` must stay `{want}`", fdef.lineno)
    original = _find_def(ast.parse(expected.source), expected.name)
    assert original is not None  # the expected source defines it by construction
    if _signature_of(fdef) != _signature_of(original):
        return CodeError(
            f"the signature of `{expected.name}` must not change; it must start with:\n"
            f"{expected.header}",
            fdef.lineno,
        )
    return None


def code_filename(name: str, source: str) -> str:
    """The pseudo file name rewritten code is compiled under (unique per source text)."""
    digest = hashlib.sha1(source.encode()).hexdigest()[:10]
    return f"<trace:{name}:{digest}>"


def compile_code(source: str, name: str, namespace: dict[str, Any]) -> FunctionType:
    """Execute ``source`` in ``namespace`` and return the function ``name`` it defines.

    The namespace is used as the code's globals, so pass a fresh dict (for example the original
    function's ``__globals__`` copied, plus :func:`closure_values`). No frame is read or written.

    Args:
        source: Code defining ``def name(...)`` at top level (imports and helpers may precede it).
        name: The function to return.
        namespace: The globals to run the code in (mutated: the definitions land there).

    Returns:
        The function.

    Raises:
        SyntaxError: The code does not parse.
        CodeError: It defines no function called ``name``.
    """
    filename = code_filename(name, source)
    code = compile(source, filename, "exec")
    # So tracebacks and `annotate` can show the rewritten lines like any file's.
    linecache.cache[filename] = (len(source), None, source.splitlines(keepends=True), filename)
    exec(code, namespace)
    fn = namespace.get(name)
    if not isinstance(fn, FunctionType):
        raise CodeError(f"the code must define `def {name}(...)` at top level")
    return fn


def closure_values(fn: Callable[..., Any]) -> dict[str, Any]:
    """Read (never write) the values of a function's closure cells; empty cells are skipped."""
    code = getattr(fn, "__code__", None)
    cells = getattr(fn, "__closure__", None) or ()
    values: dict[str, Any] = {}
    if code is None:
        return values
    for var, cell in zip(code.co_freevars, cells, strict=False):
        try:
            values[var] = cell.cell_contents
        except ValueError:  # not yet assigned
            continue
    return values


def annotate(source: str, lineno: int | None, note: str) -> str:
    """Return ``source`` with ``<--- note`` appended to line ``lineno`` (1-based)."""
    lines = source.rstrip("\n").splitlines()
    if lineno is not None and 1 <= lineno <= len(lines):
        lines[lineno - 1] = f"{lines[lineno - 1]}  <--- {note}"
    else:
        lines.append(f"<--- {note}")
    return "\n".join(lines)


def error_comment(exc: BaseException, source: str, filename: str, first_line: int) -> str:
    """Annotate ``source`` at the deepest traceback line inside it.

    Args:
        exc: The exception (its ``__traceback__`` is walked).
        source: The function's source as shown to the optimizer.
        filename: The file that source was executed from.
        first_line: The file line of ``source``'s first line.

    Returns:
        The annotated source; when the error was raised deeper (in a helper), the note says where.
    """
    note = f"({type(exc).__name__}) {exc}"
    if isinstance(exc, RemoteError):
        return annotate(source, exc.lineno, str(exc))
    if isinstance(exc, SyntaxError) and exc.filename == filename:
        note = f"(SyntaxError) {exc.msg}"
        return annotate(source, (exc.lineno or 0) - first_line + 1, note)
    if isinstance(exc, CodeError):
        return annotate(source, exc.lineno, note)
    frames = traceback.extract_tb(exc.__traceback__)
    ours = [f for f in frames if f.filename == filename]
    n_lines = source.count("\n") + 1
    ours = [f for f in ours if f.lineno is not None and 0 <= f.lineno - first_line < n_lines]
    if not ours:
        return annotate(source, None, note)
    last = ours[-1]
    if frames and frames[-1] is not last:
        deepest = frames[-1]
        note += f" [raised in {deepest.name}() at {deepest.filename}:{deepest.lineno}]"
    return annotate(source, (last.lineno or 0) - first_line + 1, note)
