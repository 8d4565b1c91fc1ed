"""Function trees of generated code: Python via `ast`, C/C++ via tree-sitter.

Used by FunCoder (divide: the stubs a reply introduces; conquer: children before parents) and
by the MPI task kind (one function in a C++ file).
"""

from workbench.optimizers.codegen.codetree.base import (
    CodeParseError,
    CodeTree,
    FunctionNode,
    Param,
    Sibling,
    extract_code,
    normalize_language,
)
from workbench.optimizers.codegen.codetree.cfamily import (
    parse_c,
    parse_c_signature,
    render_c_function,
)
from workbench.optimizers.codegen.codetree.ops import (
    assemble,
    check_signature,
    dependency_order,
    merge,
    parse_code,
    parse_signature,
    replace_function,
    set_body,
)
from workbench.optimizers.codegen.codetree.python import (
    parse_python,
    parse_python_signature,
    render_python_function,
)

__all__ = [
    "CodeParseError",
    "CodeTree",
    "FunctionNode",
    "Param",
    "Sibling",
    "assemble",
    "check_signature",
    "dependency_order",
    "extract_code",
    "merge",
    "normalize_language",
    "parse_c",
    "parse_c_signature",
    "parse_code",
    "parse_python",
    "parse_python_signature",
    "parse_signature",
    "render_c_function",
    "render_python_function",
    "replace_function",
    "set_body",
]
