"""Parse OptoPrime's answer into parameter updates; every unusable part is a counted rejection.

The model is asked for ``{"reasoning": ..., "suggestion": {name: value}}``. This module finds
that object in whatever came back (a structured-output dict, plain JSON, JSON in a code fence,
JSON inside prose, a Python-literal dict), then checks each suggestion against the parameter it
names:

- unknown names are rejected (Trace silently ignored them);
- values are converted to the parameter's type with ``ast.literal_eval`` rules, so ``"[1, 2]"``
  becomes the list ``[1, 2]`` for a list parameter (never ``list("[1, 2]")``), and a value that
  does not fit is rejected as a wrong type;
- code must parse, define the same function and keep its signature.

Nothing is dropped silently: each rejection has a kind (see :data:`REJECTION_KINDS`) and a
message that :meth:`ParseResult.problems` turns into feedback for the next call.

Example:
    >>> from workbench.trace import node
    >>> x = node(1.0, trainable=True, name="x")
    >>> r = parse_answer('{"reasoning": "go up", "suggestion": {"x0": "2.5", "y": 1}}', [x])
    >>> r.updates[x], [(j.kind, j.name) for j in r.rejections]
    (2.5, [('unknown_name', 'y')])
"""

from __future__ import annotations

import ast
import difflib
import json
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from workbench.trace import ParameterNode, check_code
from workbench.trace.code import FunctionSource

__all__ = [
    "REJECTION_KINDS",
    "OptoPrimeAnswer",
    "ParseResult",
    "Rejection",
    "convert_value",
    "extract_object",
    "parse_answer",
]

REJECTION_KINDS = (
    "unparseable",  # no JSON object with a suggestion could be found
    "unknown_name",  # a key that is not one of the variables
    "wrong_type",  # a value that cannot become the parameter's type
    "syntax",  # code that does not parse
    "signature",  # code that renames the function or changes its signature
    "empty",  # an empty value for code
    "duplicate",  # the same variable suggested twice (the last one is kept)
)


class OptoPrimeAnswer(BaseModel):
    """The answer's schema (also usable for schema-constrained generation)."""

    model_config = ConfigDict(extra="allow")

    reasoning: str = ""
    suggestion: dict[str, Any] = Field(default_factory=dict)


@dataclass
class Rejection:
    """One part of an answer that could not be used."""

    kind: str
    name: str | None
    message: str
    value: Any = None


@dataclass
class ParseResult:
    """What an answer yields: updates to apply and rejections to feed back.

    Attributes:
        reasoning: The model's reasoning text.
        updates: Parameter -> converted new value (only values that passed every check).
        rejections: What could not be used, and why.
        terminate: The model answered ``TERMINATE`` (nothing to change).
        raw: The answer as received.
    """

    reasoning: str = ""
    updates: dict[ParameterNode, Any] = field(default_factory=dict)
    rejections: list[Rejection] = field(default_factory=list)
    terminate: bool = False
    raw: str = ""

    @property
    def ok(self) -> bool:
        """Whether an answer object was found at all."""
        return not any(r.kind == "unparseable" for r in self.rejections)

    def counts(self) -> dict[str, int]:
        """Rejections by kind."""
        return dict(Counter(r.kind for r in self.rejections))

    def problems(self) -> list[str]:
        """One line per rejection, for the next prompt."""
        return [r.message for r in self.rejections]

    def apply(self) -> None:
        """Set every accepted update on its parameter (an optimizer's ``update`` step)."""
        for param, value in self.updates.items():
            param.set(value)


_FENCE = re.compile(r"```[a-zA-Z0-9_+-]*[ \t]*\n(.*?)```", re.DOTALL)


def _balanced_objects(text: str) -> Iterable[str]:
    """Candidate ``{...}`` spans (outermost first), respecting strings."""
    for start in [m.start() for m in re.finditer(r"\{", text)]:
        depth, in_str, esc, quote = 0, False, False, ""
        for i in range(start, len(text)):
            ch = text[i]
            if in_str:
                if esc:
                    esc = False
                elif ch == "\\":
                    esc = True
                elif ch == quote:
                    in_str = False
            elif ch in "\"'":
                in_str, quote = True, ch
            elif ch == "{":
                depth += 1
            elif ch == "}":
                depth -= 1
                if depth == 0:
                    yield text[start : i + 1]
                    break


def _load(candidate: str, duplicates: list[str]) -> dict[str, Any] | None:
    def hook(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        seen: dict[str, Any] = {}
        for k, v in pairs:
            if k in seen:
                duplicates.append(k)
            seen[k] = v
        return seen

    try:
        value = json.loads(candidate, object_pairs_hook=hook)
    except json.JSONDecodeError:
        try:
            value = ast.literal_eval(candidate)  # a Python dict: single quotes, True, None
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            return None
    return value if isinstance(value, dict) else None


def extract_object(text: str) -> tuple[dict[str, Any] | None, list[str]]:
    """Find the answer object in ``text``: whole text, code fences, then ``{...}`` spans.

    Returns:
        The first dict found that has a ``suggestion`` (else the first dict found, else None),
        and the keys that appeared twice in it.
    """
    candidates = [text.strip()]
    candidates += [m.group(1).strip() for m in _FENCE.finditer(text)]
    candidates += list(_balanced_objects(text))
    first: tuple[dict[str, Any], list[str]] | None = None
    for c in candidates:
        dups: list[str] = []
        obj = _load(c, dups)
        if obj is None:
            continue
        if "suggestion" in obj:
            return obj, dups
        first = first or (obj, dups)
    return first if first else (None, [])


_CODE_FENCE = re.compile(r"^\s*```[a-zA-Z0-9_+-]*[ \t]*\n(.*?)\n?```\s*$", re.DOTALL)


def _literal(value: str) -> Any:
    try:
        return ast.literal_eval(value.strip())
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return value


def convert_value(value: Any, current: Any) -> Any:
    """Convert a suggested value to ``current``'s type.

    Strings are read with ``ast.literal_eval`` when the parameter is not a string; lists and
    tuples convert into each other; ints accept integral floats; floats accept ints; bools
    accept ``true``/``false``; strings accept numbers and bools.

    Raises:
        ValueError: The value cannot be the parameter's type (the message says which).
    """
    if current is None:
        return value
    target = type(current)
    if isinstance(current, str):
        if isinstance(value, str):
            return value
        if isinstance(value, int | float) and not isinstance(value, bool | complex):
            return str(value)
        raise ValueError(f"expected a string, got {type(value).__name__}")
    if isinstance(value, str):
        if isinstance(current, bool) and value.strip().lower() in ("true", "false"):
            return value.strip().lower() == "true"
        value = _literal(value)
    if isinstance(current, bool):
        if isinstance(value, bool):
            return value
    elif isinstance(current, int):
        if isinstance(value, int) and not isinstance(value, bool):
            return target(value)
        if isinstance(value, float) and value.is_integer():
            return target(int(value))
    elif isinstance(current, float):
        if isinstance(value, int | float) and not isinstance(value, bool):
            return target(value)
    elif isinstance(current, list | tuple):
        if isinstance(value, list | tuple):
            return target(value)
    elif isinstance(current, dict | set | frozenset):
        if isinstance(value, target):
            return value
        if isinstance(current, set | frozenset) and isinstance(value, list | tuple):
            return target(value)
    elif isinstance(value, target):
        return value
    raise ValueError(f"expected {target.__name__}, got {type(value).__name__} {value!r:.80}")


def _check_code(name: str, value: Any, param: ParameterNode) -> tuple[str, str] | str:
    """Return the accepted code, or ``(kind, message)`` when rejected."""
    if not isinstance(value, str):
        return "wrong_type", f"{name}: code must be a string, got {type(value).__name__}"
    code = value
    if "\n" not in code and "\\n" in code:  # newlines escaped twice (small models do this)
        code = code.replace("\\n", "\n").replace("\\t", "\t").replace('\\"', '"')
    m = _CODE_FENCE.match(code)
    code = m.group(1) if m else code
    if not code.strip():
        return "empty", f"{name}: the code is empty"
    if not code.endswith("\n"):
        code += "\n"
    source: FunctionSource = param.info["source"]
    problem = check_code(code, source)
    if isinstance(problem, SyntaxError):
        return "syntax", f"{name}: the code does not parse: {problem.msg} (line {problem.lineno})"
    if problem is not None:
        return "signature", f"{name}: {problem}"
    return code


def parse_answer(
    answer: str | Mapping[str, Any], parameters: Iterable[ParameterNode]
) -> ParseResult:
    """Turn a model's answer into updates for ``parameters`` plus counted rejections.

    Args:
        answer: The raw text, or an already-parsed object (structured output).
        parameters: The variables shown to the model; keys must be their ``name`` (``x0``)
            or their stable ``path`` (``agent.prompt``).

    Returns:
        The :class:`ParseResult`.
    """
    params = list(parameters)
    raw = answer if isinstance(answer, str) else json.dumps(dict(answer), default=str)
    result = ParseResult(raw=raw)
    if isinstance(answer, str) and answer.strip() == "TERMINATE":
        result.terminate = True
        return result
    dups: list[str] = []
    if isinstance(answer, str):
        obj, dups = extract_object(answer)
    else:
        obj = dict(answer)
    by_name = {p.name: p for p in params}
    by_name.update({p.path: p for p in params if p.path and p.path not in by_name})
    valid = ", ".join(p.name for p in params)
    if obj is not None and "suggestion" not in obj and set(obj) & set(by_name):
        obj = {"reasoning": obj.pop("reasoning", ""), "suggestion": obj}  # flat answer
    parsed: OptoPrimeAnswer | None = None
    detail = "no JSON object with a `suggestion` field was found"
    if obj is not None and "suggestion" in obj:
        try:
            parsed = OptoPrimeAnswer.model_validate(obj)
        except ValidationError as exc:
            detail = f"`suggestion` must map variable names to values: {exc.errors()[0]['msg']}"
    if parsed is None:
        result.rejections.append(
            Rejection(
                "unparseable",
                None,
                f"the answer could not be read ({detail}); answer with one JSON object "
                '{"reasoning": ..., "suggestion": {<name>: <value>}}',
            )
        )
        return result
    result.reasoning = parsed.reasoning
    for name in dict.fromkeys(dups):
        if name in parsed.suggestion:
            result.rejections.append(
                Rejection(
                    "duplicate",
                    name,
                    f"{name} was suggested more than once; the last value was used",
                )
            )
    for name, value in parsed.suggestion.items():
        param = by_name.get(name)
        if param is None:
            close = difflib.get_close_matches(name, list(by_name), n=1, cutoff=0.5)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            message = f"{name!r} is not a variable{hint}; use one of: {valid}"
            result.rejections.append(Rejection("unknown_name", name, message, value))
            continue
        if param.is_code:
            checked = _check_code(name, value, param)
            if isinstance(checked, tuple):
                result.rejections.append(Rejection(checked[0], name, checked[1], value))
            else:
                result.updates[param] = checked
            continue
        try:
            result.updates[param] = convert_value(value, param._data)
        except ValueError as exc:
            result.rejections.append(Rejection("wrong_type", name, f"{name}: {exc}", value))
    return result
