"""`OptoPrime`: ask an LLM for new values of traced parameters from their feedback subgraph.

Works on :class:`~workbench.trace.ParameterNode` objects directly (the PyTorch-like API):
``zero_feedback()``, ``backward(output, feedback)`` (from :mod:`workbench.trace`), then
``step()`` = ``update(propose())``. ``propose()`` returns suggestions without applying them, so
a caller can evaluate them first; with several temperatures it returns one suggestion per
temperature. Answers are asked for through ``workbench.llm`` as structured output whose schema
lists exactly the variable names (so a schema-constrained answer is always a usable
suggestion); every part that still cannot be used (unknown names, wrong types, code that does
not parse or breaks the signature) is counted, logged and shown to the model on the next call.

Without an ``llm``, the optimizer opens ``workbench.llm``'s default model (``LLMConfig()``: the
embedded ``local`` model) on its first call and closes it with ``close()`` or at the end of a
``with`` block; a model string or ``LLMConfig`` is opened the same way. A client passed in stays
the caller's: the optimizer never closes it.

Example:
    >>> from workbench.llm import ScriptedLLM
    >>> from workbench.trace import backward, node
    >>> x = node(1.0, trainable=True, name="x")
    >>> llm = ScriptedLLM(lambda r: '{"reasoning": "bigger", "suggestion": {"%s": 3.0}}' % x.name)
    >>> opt = OptoPrime([x], llm=llm)
    >>> _ = backward(x * 2.0, "the output should be 6")
    >>> opt.step()["updated"]
    {'x0': 3.0}
    >>> x.data, opt.counters["calls"]
    (3.0, 1)
"""

from __future__ import annotations

import json
import threading
from collections import Counter, deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field, fields
from types import TracebackType
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, create_model

import workbench.llm
from workbench.llm import LLMClient, LLMConfig, parse_model
from workbench.optimizers.optoprime.parse import ParseResult, parse_answer
from workbench.optimizers.optoprime.render import (
    DEFAULT_INSTRUCTION,
    SYSTEM_PROMPT,
    ProblemInstance,
    render_messages,
    summarize,
)
from workbench.trace import BackwardPass, ParameterNode, subgraph

__all__ = ["PROMPT_VERSION", "OptoPrime", "Suggestion", "answer_schema", "jsonable"]

PROMPT_VERSION = "optoprime/2"
REASONING_CHARS = 600


def jsonable(value: Any) -> Any:
    """``value`` as JSON data (tuples become lists, unknown objects their ``repr``)."""
    return json.loads(json.dumps(value, default=repr))


def _json_type(param: ParameterNode) -> Any:
    if param.is_code:
        return str
    value = param._data
    for kind in (bool, int, float, str, list, dict):
        if isinstance(value, kind):
            return kind
    if isinstance(value, tuple):
        return list
    return Any


def answer_schema(parameters: Sequence[ParameterNode]) -> type[BaseModel]:
    """A pydantic model for ``{"reasoning": str, "suggestion": {<each name>: <its type>}}``.

    The suggestion's keys are exactly the parameters' names, all required and nothing else
    allowed, typed after the current values (code as a string): with ``json_schema``-constrained
    decoding any valid answer names every variable with a value of the right JSON type.
    """
    specs: dict[str, Any] = {
        f"v{i}": (_json_type(p), Field(alias=p.name)) for i, p in enumerate(parameters)
    }
    suggestion = create_model(  # type: ignore[call-overload]
        "Suggestion", __config__=ConfigDict(extra="forbid"), **specs
    )
    return create_model(
        "OptoPrimeAnswer",
        __config__=ConfigDict(extra="forbid"),
        reasoning=(str, Field(max_length=REASONING_CHARS)),
        suggestion=(suggestion, ...),
    )


@dataclass
class Suggestion:
    """One answer of the model: the updates it yields (not yet applied) and what was rejected.

    Attributes:
        temperature: The sampling temperature of the call.
        result: The parsed answer (``updates``, ``rejections``, ``reasoning``, ``raw``).
    """

    temperature: float
    result: ParseResult

    @property
    def updates(self) -> dict[ParameterNode, Any]:
        """Parameter -> accepted new value."""
        return self.result.updates

    def named_updates(self) -> dict[str, Any]:
        """Parameter name -> accepted new value (JSON)."""
        return {p.name: jsonable(v) for p, v in self.result.updates.items()}


@dataclass
class _Merged:
    problem: ProblemInstance
    feedback: str
    variables: dict[str, Any] = field(default_factory=dict)


def _merge(problems: list[ProblemInstance]) -> ProblemInstance:
    """One problem from several (outputs with different feedback): sections joined, deduplicated."""
    if len(problems) == 1:
        return problems[0]
    joined: dict[str, str] = {}
    for f in fields(ProblemInstance):
        lines: dict[str, None] = {}
        for p in problems:
            for line in getattr(p, f.name).splitlines():
                lines[line] = None
        joined[f.name] = "\n".join(lines)
    return ProblemInstance(**joined)


class OptoPrime:
    """The OptoPrime optimizer over traced parameters.

    Args:
        parameters: The trainable parameters to change.
        llm: A ``workbench.llm.LLMClient`` (``ScriptedLLM`` in tests), which stays the caller's;
            or a model string (``"local"``, ``"openai:gpt-4o-mini"``, ...) or ``LLMConfig``,
            which the optimizer opens on its first call and closes in ``close()``; or None:
            the same with ``workbench.llm``'s default model, ``LLMConfig()``.
        memory_size: How many past ``(variables, feedback)`` pairs to show (0: none).
        value_limit: Cut inputs/intermediates/outputs longer than this many characters.
        variable_limit: Cut variables longer than this (None: show them whole).
        temperatures: One call per temperature in each ``propose``.
        instruction: The #Instruction text (the objective).
        max_tokens: Answer length limit per call.
        seed: Sent with each call (sample ``i`` gets ``seed + i``), for reproducible sampling.
        mask: Section names to leave empty (``["code"]`` for the "masked" ablation).
        constrain_keys: Ask for a schema whose suggestion keys are the variable names (True) or
            the generic ``{"reasoning", "suggestion": {...}}`` schema.
        remember_on_propose: Push the current ``(variables, feedback)`` into memory at every
            ``propose`` (Trace's behaviour); adapters that remember evaluations set it False.
        on_event: Called with every log event (a JSON dict) as it happens.

    Attributes:
        llm: The client in use; None until the first call when the optimizer opens its own.
        log: Every event so far: ``optoprime_call``, ``optoprime_rejection``, ``optoprime_update``.
        counters: ``calls``, ``steps``, ``updates``, ``rejections`` and ``rejected:<kind>``.
        memory: The remembered ``(variables, feedback)`` pairs, oldest first.
        problems: Rejection messages to show on the next call.
    """

    def __init__(
        self,
        parameters: Iterable[ParameterNode],
        llm: LLMClient | LLMConfig | str | None = None,
        *,
        memory_size: int = 0,
        value_limit: int | None = 2000,
        variable_limit: int | None = None,
        temperatures: Sequence[float] = (0.0,),
        instruction: str = DEFAULT_INSTRUCTION,
        max_tokens: int = 1024,
        seed: int | None = None,
        mask: Sequence[str] = (),
        constrain_keys: bool = True,
        remember_on_propose: bool = True,
        on_event: Callable[[dict[str, Any]], None] | None = None,
    ) -> None:
        self.parameters = [p for p in parameters if p.trainable]
        if not self.parameters:
            raise ValueError("OptoPrime needs at least one trainable parameter")
        if not temperatures:
            raise ValueError("temperatures must name at least one temperature")
        self.llm: Any = None
        self._llm_config: LLMConfig | str = LLMConfig()
        if isinstance(llm, str | LLMConfig):
            parse_model(llm if isinstance(llm, str) else llm.model)  # a bad string fails here
            self._llm_config = llm
        elif llm is not None:
            self.llm = llm
        self._owned: Any = None  # the client this optimizer opened (closed by `close`)
        self._stack = ExitStack()
        self._lock = threading.Lock()
        self.memory_size = memory_size
        self.memory: deque[tuple[dict[str, Any], str]] = deque(maxlen=max(memory_size, 0) or None)
        self.value_limit = value_limit
        self.variable_limit = variable_limit
        self.temperatures = [float(t) for t in temperatures]
        self.instruction = instruction
        self.max_tokens = max_tokens
        self.seed = seed
        self.mask = list(mask)
        self.constrain_keys = constrain_keys
        self.remember_on_propose = remember_on_propose
        self.on_event = on_event
        self.log: list[dict[str, Any]] = []
        self.counters: Counter[str] = Counter()
        self.problems: list[str] = []

    # -- the model -----------------------------------------------------------------------------
    def _client(self) -> Any:
        """``self.llm``, opening the configured (or default) model if no client was given."""
        with self._lock:
            if self.llm is None:
                # looked up on the module at call time, as `RunContext.llm` does, so that
                # patching `workbench.llm.open_llm` substitutes the default model (tests)
                self._owned = self._stack.enter_context(workbench.llm.open_llm(self._llm_config))
                self.llm = self._owned
            return self.llm

    def close(self) -> None:
        """Close the model this optimizer opened (a client passed in is left open)."""
        with self._lock:
            try:
                self._stack.close()
            finally:
                if self._owned is not None and self.llm is self._owned:
                    self.llm = None  # a later call opens the model again
                self._owned = None

    def __enter__(self) -> OptoPrime:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- events --------------------------------------------------------------------------------
    def _emit(self, event: dict[str, Any]) -> None:
        event = jsonable({"optoprime_step": self.counters["steps"], **event})
        self.log.append(event)
        if self.on_event is not None:
            self.on_event(event)

    # -- memory --------------------------------------------------------------------------------
    def remember(self, variables: Mapping[str, Any], feedback: str) -> None:
        """Add a past ``(variables, feedback)`` pair (ignored when ``memory_size`` is 0)."""
        if self.memory_size > 0:
            self.memory.append((jsonable(dict(variables)), str(feedback)))

    def variables(self) -> dict[str, Any]:
        """Name -> current value of every parameter."""
        return {p.name: jsonable(p._data) for p in self.parameters}

    # -- the PyTorch-like API ------------------------------------------------------------------
    def zero_feedback(self) -> None:
        """Forget the feedback the parameters received."""
        for p in self.parameters:
            p.zero_feedback()

    def problem(self) -> _Merged:
        """The current problem: the parameters' feedback subgraphs summarized into sections.

        Raises:
            ValueError: No parameter has received feedback (call ``backward`` first).
        """
        passes: dict[int, BackwardPass] = {}
        for p in self.parameters:
            for fb in p.feedback:
                passes.setdefault(id(fb.backward_pass), fb.backward_pass)
        if not passes:
            raise ValueError(
                "no parameter has feedback; call workbench.trace.backward(output, feedback) first"
            )
        problems, texts = [], []
        for bp in passes.values():
            members = [p for p in self.parameters if p in bp]
            sub = subgraph(bp, members)
            problems.append(
                summarize(
                    sub,
                    members,
                    instruction=self.instruction,
                    value_limit=self.value_limit,
                    variable_limit=self.variable_limit,
                )
            )
            texts.append(bp.feedback)
        merged = _merge(problems)
        return _Merged(merged, "\n".join(dict.fromkeys(texts)), self.variables())

    def messages(self) -> list[dict[str, str]]:
        """The chat messages the next call would send."""
        return self._messages()[0]

    def _messages(self) -> tuple[list[dict[str, str]], _Merged]:
        merged = self.problem()
        now = (merged.variables, merged.feedback)
        past = [m for m in self.memory if m != now]  # the current pair is already shown
        prompt = merged.problem.render(mask=self.mask, memory=past, problems=self.problems)
        return render_messages(prompt, system=SYSTEM_PROMPT), merged

    def _ask(self, messages: list[dict[str, str]], temperature: float, index: int) -> ParseResult:
        llm = self._client()
        schema = answer_schema(self.parameters) if self.constrain_keys else None
        seed = None if self.seed is None else self.seed + index
        if schema is not None:
            res = llm.structured(
                messages, schema, temperature=temperature, seed=seed, max_tokens=self.max_tokens
            )
            answer: Any = res.value.model_dump(by_alias=True) if res.ok else (res.raw or "")
            tokens = (res.prompt_tokens, res.completion_tokens)
            raw = res.raw
        else:
            chat = llm.chat(
                messages, temperature=temperature, seed=seed, max_tokens=self.max_tokens
            )
            answer = raw = chat.texts[0]
            tokens = (chat.prompt_tokens, chat.completion_tokens)
        result = parse_answer(answer, self.parameters)
        result.raw = raw or result.raw
        self.counters["calls"] += 1
        self._emit(
            {
                "type": "optoprime_call",
                "prompt_version": PROMPT_VERSION,
                "temperature": temperature,
                "user_prompt": messages[-1]["content"],
                "raw": result.raw,
                "reasoning": result.reasoning,
                "suggested": {p.name: v for p, v in result.updates.items()},
                "rejections": len(result.rejections),
                "terminate": result.terminate,
                "prompt_tokens": tokens[0],
                "completion_tokens": tokens[1],
            }
        )
        for r in result.rejections:
            self.counters["rejections"] += 1
            self.counters[f"rejected:{r.kind}"] += 1
            self._emit(
                {
                    "type": "optoprime_rejection",
                    "kind": r.kind,
                    "name": r.name,
                    "message": r.message,
                    "value": r.value,
                }
            )
        return result

    def reject(self, kind: str, message: str, name: str | None = None, value: Any = None) -> None:
        """Count and log a rejection found by the caller; its message goes into the next call.

        For checks OptoPrime cannot make itself, e.g. a caller that knows a suggestion repeats
        values already evaluated.
        """
        self.counters["rejections"] += 1
        self.counters[f"rejected:{kind}"] += 1
        self._emit(
            {
                "type": "optoprime_rejection",
                "kind": kind,
                "name": name,
                "message": message,
                "value": value,
            }
        )
        if message not in self.problems:
            self.problems.append(message)

    def propose(self, temperatures: Sequence[float] | None = None) -> list[Suggestion]:
        """Ask the model once per temperature; return the suggestions, applying nothing.

        The rejections of these answers become ``problems`` shown on the next call.

        Args:
            temperatures: Override the optimizer's temperatures for this call.

        Returns:
            One :class:`Suggestion` per temperature, in order.

        Raises:
            ValueError: No parameter has feedback.
            workbench.errors.BudgetExceeded: The run's LLM budget is spent.
        """
        temps = [float(t) for t in (temperatures or self.temperatures)]
        messages, merged = self._messages()
        if len(temps) == 1:
            results = [self._ask(messages, temps[0], 0)]
        else:
            with ThreadPoolExecutor(max_workers=min(len(temps), 8)) as pool:
                results = list(
                    pool.map(lambda it: self._ask(messages, it[1], it[0]), enumerate(temps))
                )
        if self.remember_on_propose:
            self.remember(merged.variables, merged.feedback)
        problems: dict[str, None] = {}
        for r in results:
            problems.update(dict.fromkeys(r.problems()))
        self.problems = list(problems)
        self.counters["steps"] += 1
        return [Suggestion(t, r) for t, r in zip(temps, results, strict=True)]

    def update(
        self, suggestion: Suggestion | Sequence[Suggestion] | Mapping[ParameterNode, Any]
    ) -> dict[str, Any]:
        """Apply updates: a suggestion, the first non-empty one of a list, or a mapping.

        Returns:
            ``{"updated": {name: new value}}`` (also logged as ``optoprime_update``).
        """
        if isinstance(suggestion, Suggestion):
            updates = suggestion.updates
        elif isinstance(suggestion, Mapping):
            updates = dict(suggestion)
        else:
            updates = next((s.updates for s in suggestion if s.updates), {})
        own = {id(p) for p in self.parameters}
        changes: dict[str, Any] = {}
        for param, value in updates.items():
            if id(param) not in own:
                raise ValueError(f"{param.name} is not one of this optimizer's parameters")
            old = param._data
            param.set(value)
            changes[param.name] = {"old": old, "new": value}
        self.counters["updates"] += len(changes)
        self._emit({"type": "optoprime_update", "changes": changes})
        return {"updated": {k: jsonable(v["new"]) for k, v in changes.items()}}

    def step(self) -> dict[str, Any]:
        """``update(propose())``: ask, then apply the first usable suggestion."""
        return self.update(self.propose())

    # -- state ---------------------------------------------------------------------------------
    def state(self) -> dict[str, Any]:
        """JSON: parameter values (by name), memory, pending problems, counters."""
        return {
            "values": self.variables(),
            "memory": [[v, fb] for v, fb in self.memory],
            "problems": list(self.problems),
            "counters": dict(self.counters),
        }

    def load_state(self, state: Mapping[str, Any]) -> None:
        """Restore from :meth:`state` (values are set on the parameters with those names)."""
        by_name = {p.name: p for p in self.parameters}
        for name, value in state.get("values", {}).items():
            if name in by_name:
                current = by_name[name]._data
                by_name[name].set(tuple(value) if isinstance(current, tuple) else value)
        self.memory.clear()
        for v, fb in state.get("memory", []):
            self.memory.append((v, fb))
        self.problems = list(state.get("problems", []))
        self.counters = Counter(state.get("counters", {}))
