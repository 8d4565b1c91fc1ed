"""Data model shared by the Python and C/C++ function-tree parsers.

A model reply is turned into a `CodeTree`: the top-level functions (`FunctionNode`, in source
order) plus the module's other top-level pieces (`Sibling`: imports / includes, constants, classes,
prototypes), kept so that an assembled module still compiles. The dependency edges used by
FunCoder's divide/conquer are `FunctionNode.calls`: the *other* functions of the module a function
references (a call, or a name passed along such as ``key=helper`` or an ``MPI_Op`` callback).
"""

from __future__ import annotations

import re
import textwrap
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from workbench.errors import ModelAnswerError

__all__ = [
    "CodeParseError",
    "CodeTree",
    "FunctionNode",
    "Param",
    "Sibling",
    "extract_code",
    "normalize_language",
]

_LANGUAGE_ALIASES = {
    "python": "python",
    "py": "python",
    "python3": "python",
    "c": "c",
    "h": "c",
    "cpp": "cpp",
    "c++": "cpp",
    "cxx": "cpp",
    "cc": "cpp",
    "hpp": "cpp",
    "mpi": "cpp",
}


class CodeParseError(ModelAnswerError):
    """A model reply holds no code, or code that does not parse.

    This is model feedback (STYLE habit 10): generators catch it, count it and send `str(err)`
    back to the model. `raw` is the reply as received.
    """


def normalize_language(language: str) -> str:
    """Map a language name or Markdown fence tag to ``"python"``, ``"c"`` or ``"cpp"``.

    Args:
        language: e.g. ``"py"``, ``"C++"``, ``"cpp"``, ``"mpi"``.

    Returns:
        The canonical name.

    Raises:
        ValueError: for a language the code tree does not support.
    """
    key = language.strip().lower()
    if key not in _LANGUAGE_ALIASES:
        raise ValueError(f"unsupported language {language!r}: use python, c or cpp")
    return _LANGUAGE_ALIASES[key]


@dataclass
class Param:
    """One parameter of a function.

    Attributes:
        name: the parameter name (``None`` for an unnamed C/C++ parameter).
        kind: Python: ``"posonly"``, ``"positional"``, ``"vararg"``, ``"kwonly"``, ``"kwarg"``;
            C/C++: ``"param"`` or ``"variadic"``.
        annotation: Python annotation text, or the C/C++ type with the name removed and spacing
            normalised (``const double * x`` gives ``"const double*"``).
        default: default value text, if any.
    """

    name: str | None
    kind: str
    annotation: str | None = None
    default: str | None = None


@dataclass
class FunctionNode:
    """One top-level function definition.

    Attributes:
        name: function name (C++: qualified names such as ``ns::f`` are kept whole).
        signature: the header: Python ``"def f(a: int) -> int:"`` (normalised by `ast.unparse`),
            C/C++ the definition text before the body with whitespace collapsed
            (``"static double sum(const double *x, int n)"``).
        params: the parameters in order.
        returns: the return annotation (Python) or return type (C/C++), if any.
        docstring: Python docstring, or the C/C++ comment block right above the definition
            (comment markers stripped).
        body: the body source, dedented, without the docstring (C/C++: without the braces).
        source: the whole definition as written (decorators / ``template<>`` / leading comment
            included), ready to be pasted into a module.
        implemented: ``False`` for a stub (see the language modules for the exact rule).
        refs: every free name the body references, in first-use order.
        calls: the other functions of the module among `refs` (the divide/conquer edges).
        start_line: first line (1-based) in the parsed code.
        end_line: last line (1-based) in the parsed code.
    """

    name: str
    signature: str
    params: list[Param]
    returns: str | None
    docstring: str | None
    body: str
    source: str
    implemented: bool
    refs: list[str] = field(default_factory=list)
    calls: list[str] = field(default_factory=list)
    start_line: int = 0
    end_line: int = 0


@dataclass
class Sibling:
    """A top-level piece that is not a function definition.

    Attributes:
        kind: ``"import"`` (Python imports, C/C++ ``#include``), ``"constant"`` (assignments,
            ``#define``, global variables), ``"class"`` (classes, structs, enums, typedefs,
            ``using``), ``"prototype"`` (C/C++ function declarations), ``"script"`` (Python
            top-level statements that run: calls, ``if __name__ == ...``, loops, asserts) or
            ``"other"`` (module docstrings, C/C++ namespaces and the rest).
        source: the text as written.
        names: the names it defines.
        refs: free names it references; one that names a module function is assembled after
            the functions (e.g. ``if __name__ == "__main__": main()``).
    """

    kind: str
    source: str
    names: list[str] = field(default_factory=list)
    refs: list[str] = field(default_factory=list)


@dataclass
class CodeTree:
    """A parsed module: functions in source order and the siblings around them.

    Attributes:
        language: ``"python"``, ``"c"`` or ``"cpp"``.
        functions: name -> `FunctionNode`, in source order.
        imports: imports / ``#include`` lines (deduplicated, in order).
        others: the other siblings in order.
        source: the code the tree was parsed from.
        errors: parse problems tolerated in tolerant mode (C/C++ only), as ``"line N: ..."``.
    """

    language: str
    functions: dict[str, FunctionNode] = field(default_factory=dict)
    imports: list[Sibling] = field(default_factory=list)
    others: list[Sibling] = field(default_factory=list)
    source: str = ""
    errors: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON form (for run logs)."""
        return asdict(self)

    def stubs(self) -> list[str]:
        """Names of the functions that are not implemented, in source order."""
        return [name for name, fn in self.functions.items() if not fn.implemented]

    def children(self, name: str) -> list[str]:
        """The functions `name` depends on (its `calls`)."""
        return list(self.functions[name].calls)

    def relink(self) -> CodeTree:
        """Recompute every `FunctionNode.calls` from its `refs` and the current function names.

        Returns:
            self (mutated), so callers can chain.
        """
        names = set(self.functions)
        for fn_name, fn in self.functions.items():
            fn.calls = [r for r in fn.refs if r in names and r != fn_name]
        return self

    def copy(self) -> CodeTree:
        """A copy whose containers (not the node texts) can be changed independently."""
        return CodeTree(
            language=self.language,
            functions={
                k: replace(v, refs=list(v.refs), calls=list(v.calls))
                for k, v in self.functions.items()
            },
            imports=[replace(s) for s in self.imports],
            others=[replace(s) for s in self.others],
            source=self.source,
            errors=list(self.errors),
        )


_FENCE_RE = re.compile(
    r"^[ \t]*(?P<fence>```+|~~~+)[ \t]*(?P<tag>[\w+#.-]*)[^\n]*\n"
    r"(?P<code>.*?)(?:^[ \t]*(?P=fence)[ \t]*$|\Z)",
    re.MULTILINE | re.DOTALL,
)


def extract_code(reply: str, language: str) -> str | None:
    """Pull the code out of a model reply.

    Fenced Markdown blocks win: the blocks tagged with `language` (``python``/``py``,
    ``c``, ``cpp``/``c++``...) are joined in order; without such tags, the untagged blocks; without
    those, every block. An unterminated fence (a reply cut by ``max_tokens``) runs to the end.
    Without fences the caller's language module trims prose (see `python.parse_python`).

    Args:
        reply: the model's text.
        language: the language wanted.

    Returns:
        The code, or ``None`` when the reply has no fenced block.

    Example:
        >>> extract_code("Here:\\n```python\\nx = 1\\n```\\nDone.", "python")
        'x = 1\\n'
    """
    lang = normalize_language(language)
    blocks: list[tuple[str, str]] = []
    for m in _FENCE_RE.finditer(reply):
        tag = m.group("tag").strip().lower()
        blocks.append((tag, m.group("code")))
    if not blocks:
        return None
    tagged = [code for tag, code in blocks if tag and _LANGUAGE_ALIASES.get(tag) == lang]
    if not tagged and lang in ("c", "cpp"):  # a C reply fenced as cpp (or the reverse) is fine
        tagged = [code for tag, code in blocks if _LANGUAGE_ALIASES.get(tag) in ("c", "cpp")]
    untagged = [code for tag, code in blocks if not tag]
    chosen = tagged or untagged or [code for _, code in blocks]
    return "\n\n".join(textwrap.dedent(c).rstrip() + "\n" for c in chosen).rstrip() + "\n"
