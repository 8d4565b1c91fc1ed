"""Render a traced subgraph as OptoPrime's problem: the sections the optimizer LLM reads.

Sections (as in Trace's OptoPrime): #Instruction, #Code (one line per operation,
``y0 = add(x=x0, y=float0)``), #Documentation (what each operation does), #Variables (the
trainable parameters being changed), #Constraints, #Inputs (other roots), #Others (intermediate
values), #Outputs, #Feedback. Long values are cut at a configurable limit, so a 2,000-node graph
does not blow the context. Pure functions: no LLM is involved here.

Example:
    >>> from workbench.trace import node, backward, subgraph
    >>> x = node(-1.0, trainable=True, name="x")
    >>> y = x * 2.0
    >>> problem = summarize(subgraph(backward(y, "y should be 4"), [x]), [x])
    >>> problem.code, problem.variables
    ('multiply0 = multiply(x=x0, y=2.0)', '(float) x0=-1.0')
"""

from __future__ import annotations

import json
import reprlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields
from typing import Any

from workbench.trace import ExceptionNode, Node, ParameterNode, Subgraph

__all__ = [
    "DEFAULT_INSTRUCTION",
    "SECTIONS",
    "SYSTEM_PROMPT",
    "ProblemInstance",
    "format_value",
    "render_messages",
    "render_problem",
    "summarize",
]

SECTIONS = (
    "instruction", "code", "documentation", "variables", "constraints", "inputs", "others",
    "outputs", "feedback",
)  # fmt: skip

DEFAULT_INSTRUCTION = (
    "You need to change the values of the variables in #Variables to improve the output in "
    "accordance with #Feedback."
)

SYSTEM_PROMPT = """\
You're tasked to solve a coding and optimization problem. You will see a computation, the \
feedback on its output, and you must change the values of some variables to improve the output.

The problem has these sections:
#Instruction: what you must do.
#Code: the computation, one operation per line: `result = operation(argument=name, ...)`.
#Documentation: what each operation does.
#Variables: the values you may change, as `(type) name=value`; code variables as \
`(code) name:` followed by the source.
#Constraints: rules the new values must follow.
#Inputs: values used by the computation that you cannot change.
#Others: intermediate values computed by #Code.
#Outputs: the result the feedback is about.
#Feedback: what should improve.

Answer with one JSON object and nothing else:
{"reasoning": "<step by step: how each variable flows through #Code into #Outputs, what \
output #Feedback asks for, then the new values that give it; past feedback shows what \
did not work>",
 "suggestion": {"<variable name>": <new value>, ...}}
Use the exact names listed in #Variables (for example `x0` or `__code_solve0`). Give each new \
value with the variable's type: numbers as numbers, lists and dicts as JSON lists and objects, \
code as a string holding the complete new function with the same signature. Leave out the \
variables you do not change."""


@dataclass
class ProblemInstance:
    """The text of each section (empty string = nothing to show)."""

    instruction: str
    code: str
    documentation: str
    variables: str
    constraints: str
    inputs: str
    others: str
    outputs: str
    feedback: str

    def render(
        self,
        *,
        mask: Iterable[str] = (),
        memory: Sequence[tuple[dict[str, Any], str]] = (),
        problems: Sequence[str] = (),
    ) -> str:
        """Join the sections as ``#Title`` blocks.

        Args:
            mask: Section names to leave empty (e.g. ``["code"]`` for the "masked" ablation).
            memory: Past ``(variables, feedback)`` pairs to show, oldest first.
            problems: Problems with the previous answer (unknown names, wrong types, ...) that
                the model must avoid repeating.

        Returns:
            The user prompt.
        """
        hidden = {m.lstrip("#").lower() for m in mask}
        blocks = []
        for f in fields(self):
            body = "" if f.name in hidden else getattr(self, f.name)
            blocks.append(f"#{f.name.capitalize()}\n{body}".rstrip())
        if memory:
            past = [{"variables": v, "feedback": fb} for v, fb in memory]
            blocks.append(
                "Below are some variables and the feedback you received for them in the past.\n"
                + json.dumps(past, indent=1, default=str)
            )
        if problems:
            blocks.append(
                "Your previous answer could not be used fully:\n"
                + "\n".join(f"- {p}" for p in problems)
            )
        return "\n\n".join(blocks) + "\n"


_CONTAINERS = (list, tuple, set, frozenset, dict)


def _preview() -> reprlib.Repr:
    r = reprlib.Repr()  # Python 3.11's Repr takes no keyword arguments
    r.maxlevel, r.maxstring, r.maxother, r.maxlong = 3, 80, 80, 40
    r.maxlist = r.maxtuple = r.maxset = r.maxfrozenset = r.maxdict = 6
    return r


_PREVIEW = _preview()


def _shape(value: Any, depth: int = 0) -> str:
    """What a container holds: ``list of 398 lists of 30 floats``, ``dict of 4 keys``."""
    name = type(value).__name__
    if not isinstance(value, _CONTAINERS):
        return name
    if isinstance(value, dict):
        return f"{name} of {len(value)} key" + ("" if len(value) == 1 else "s")
    if depth == 2 or not value:
        return f"{name} of {len(value)}"
    if len({type(x) for x in value}) > 1:
        return f"{name} of {len(value)} mixed items"
    first = next(iter(value))
    inner = _shape(first, depth + 1)
    if isinstance(first, _CONTAINERS):
        sizes = sorted({len(x) for x in value})
        if len(sizes) > 1:
            inner = inner.replace(f" of {len(first)}", f" of {sizes[0]}-{sizes[-1]}", 1)
    word, _, rest = inner.partition(" ")
    return f"{name} of {len(value)} {word}s" + (f" {rest}" if rest else "")


def format_value(value: Any, limit: int | None) -> str:
    """A value as prompt text: strings as they are, others ``repr``, within ``limit`` chars.

    A container too long to show whole is previewed (its first items at each level) with its
    shape, so a data table costs a line of the prompt rather than ``limit`` characters of
    digits; anything else too long is cut at ``limit``.
    """
    text = value if isinstance(value, str) else repr(value)
    if limit is None or len(text) <= limit:
        return text
    if isinstance(value, _CONTAINERS):
        shown = f"{_PREVIEW.repr(value)} ({_shape(value)}; {len(text)} characters in full)"
        if len(shown) <= limit:
            return shown
    return f"{text[:limit]}...(truncated; {len(text)} characters in total)"


def _type_name(n: Node) -> str:
    if isinstance(n, ParameterNode) and n.is_code:
        return "code"
    if isinstance(n, ExceptionNode):
        return "error"
    return type(n._data).__name__


def _entry(n: Node, limit: int | None) -> str:
    if isinstance(n, ParameterNode) and n.is_code:
        return f"(code) {n.name}:\n{format_value(str(n._data).rstrip(), limit)}"
    line = f"({_type_name(n)}) {n.name}={format_value(n._data, limit)}"
    if n.description and not n.op:
        line += f"  # {format_value(n.description, 200)}"
    return line


def summarize(
    sub: Subgraph,
    parameters: Iterable[ParameterNode],
    *,
    instruction: str = DEFAULT_INSTRUCTION,
    value_limit: int | None = 2000,
    variable_limit: int | None = None,
    inline_limit: int | None = 40,
) -> ProblemInstance:
    """Turn a subgraph into the problem's sections.

    Args:
        sub: The minimal subgraph (``Feedback.subgraph()`` or ``subgraph(pass, params)``).
        parameters: The parameters being optimized; they are shown under #Variables. Other
            roots (constants, parameters not being optimized) are #Inputs.
        instruction: The #Instruction text (an objective).
        value_limit: Cut inputs, intermediate values and outputs longer than this.
        variable_limit: Cut variables longer than this (None: show them whole).
        inline_limit: Show constants that operations received (``info["constant"]``) inline in
            #Code when their ``repr`` is at most this long (``add0 = add(x=x0, y=1.0)``),
            instead of as named #Inputs; None or 0 turns this off.

    Returns:
        The :class:`ProblemInstance`.

    Raises:
        ValueError: Two nodes share a name (they were made in different graphs), so the model's
            answer could not say which one it means.
    """
    names: dict[str, Node] = {}
    for n in sub.nodes:
        if names.setdefault(n.name, n) is not n:
            raise ValueError(
                f"two nodes are named {n.name!r}; they come from different graphs. "
                "Build the computation in one graph (one `with graph.activate():`)."
            )
    wanted = {id(p) for p in parameters}
    inline: dict[int, str] = {}
    if inline_limit:
        for n in sub.nodes:
            if n.info.get("constant") and not n.inputs and id(n) not in sub.on_path:
                text = repr(n._data)
                if len(text) <= inline_limit:
                    inline[id(n)] = text
    code, docs, variables, constraints, inputs, others, outputs = [], {}, [], [], [], [], []
    for n in sub.nodes:
        if id(n) in inline:
            continue
        is_root = id(n) not in sub.on_path or not n.inputs
        if is_root:
            if isinstance(n, ParameterNode) and id(n) in wanted:
                variables.append(_entry(n, variable_limit))
                if n.constraint:
                    constraints.append(f"({_type_name(n)}) {n.name}: {n.constraint}")
            else:
                inputs.append(_entry(n, value_limit))
            if n is not sub.output:
                continue
        else:
            args = ", ".join(f"{arg}={inline.get(id(p), p.name)}" for arg, p in n.inputs.items())
            code.append(f"{n.name} = {n.op}({args})")
            if n.op and n.op not in docs:
                docs[n.op] = f"[{n.op}] {format_value(n.description or '', 500)}".rstrip()
        entry = _entry(n, value_limit)
        if isinstance(n, ExceptionNode) and n.error_comment != sub.feedback:
            entry += "\n" + format_value(n.error_comment, value_limit)
        (outputs if n is sub.output else others).append(entry)
    return ProblemInstance(
        instruction=instruction,
        code="\n".join(code),
        documentation="\n".join(docs.values()),
        variables="\n".join(variables),
        constraints="\n".join(constraints),
        inputs="\n".join(inputs),
        others="\n".join(others),
        outputs="\n".join(outputs),
        feedback=sub.feedback,
    )


def render_problem(
    sub: Subgraph,
    parameters: Iterable[ParameterNode],
    *,
    instruction: str = DEFAULT_INSTRUCTION,
    value_limit: int | None = 2000,
    variable_limit: int | None = None,
    inline_limit: int | None = 40,
    mask: Iterable[str] = (),
    memory: Sequence[tuple[dict[str, Any], str]] = (),
    problems: Sequence[str] = (),
) -> str:
    """Summarize ``sub`` and render the user prompt (see :func:`summarize`, ``render``)."""
    problem = summarize(
        sub,
        parameters,
        instruction=instruction,
        value_limit=value_limit,
        variable_limit=variable_limit,
        inline_limit=inline_limit,
    )
    return problem.render(mask=mask, memory=memory, problems=problems)


def render_messages(user_prompt: str, *, system: str = SYSTEM_PROMPT) -> list[dict[str, str]]:
    """The chat messages for one OptoPrime call."""
    return [{"role": "system", "content": system}, {"role": "user", "content": user_prompt}]
