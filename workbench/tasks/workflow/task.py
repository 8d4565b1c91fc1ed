"""`WorkflowTask`: run a user's traced workflow with a candidate's parameter values and judge it.

A candidate is ``{"params": {<parameter key>: <value>}}`` (keys are the stable attribute paths
listed by :meth:`WorkflowTask.trace_parameters`; code parameters hold the function's source).
`evaluate` sets those values on the user's parameters, runs ``entry(**args)`` (traced), and
judges it with the feedback function or the test command; the Evaluation's ``feedback`` is the
text OptoPrime sends ``backward``. The traced output of each evaluation is kept (the last few,
in memory) so an optimizer can fetch the graph with :meth:`trace_output`; after a resume it is
rebuilt by running the workflow again.
"""

from __future__ import annotations

import contextlib
import hashlib
import inspect
import json
import math
import threading
import time
import traceback
from collections import OrderedDict
from collections.abc import Callable, Collection
from pathlib import Path
from typing import Any

from workbench.contracts import Candidate, Evaluation
from workbench.errors import INFRASTRUCTURE, ConfigError
from workbench.llm import LLMConfig, open_llm
from workbench.sandbox import Limits
from workbench.tasks._resolve import resolve_callable
from workbench.tasks.base import RunContext, Task
from workbench.tasks.workflow.remote import SandboxExecutor, parse_test_output
from workbench.tasks.workflow.section import WorkflowSection, load_module
from workbench.trace import (
    ExceptionNode,
    ExecutionError,
    FunModule,
    Graph,
    Node,
    ParameterNode,
    node,
)
from workbench.trace import named_parameters as find_parameters

__all__ = ["WorkflowTask", "parameter_key"]

KEEP_TRACES = 32
FEEDBACK_CAP = 4000


def _module_parameters(module: Any) -> tuple[dict[str, ParameterNode], list[FunModule]]:
    public = {k: v for k, v in vars(module).items() if not k.startswith("_")}
    functions = [v for v in public.values() if isinstance(v, FunModule)]
    return find_parameters(public), functions


def parameter_key(name: str, keys: Collection[str]) -> str | None:
    """The key of the parameter a task file names: `name` itself (a value, an attribute path)
    or, for a bundled function, its code (``<name>.__code``); None when neither is in `keys`."""
    for key in (name, f"{name}.__code"):
        if key in keys:
            return key
    return None


def _accepts(fn: Callable[..., Any], name: str) -> bool:
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False
    return name in params or any(p.kind is p.VAR_KEYWORD for p in params.values())


class WorkflowTask(Task):
    """Evaluates parameter values of a traced workflow (the ``workflow`` task kind).

    Args:
        name: The task's name.
        section: The validated ``workflow:`` section.
        workdir: The task file's folder (for ``module:function`` feedback).
        llm: A client for the workflow's own calls, overriding ``section.llm`` (tests).
    """

    def __init__(
        self, name: str, section: WorkflowSection, workdir: Path, *, llm: Any = None
    ) -> None:
        self.name = name
        self.section = section
        self.workdir = workdir
        self.direction = section.direction
        self.primary = section.metric
        self.graph = Graph(name)
        try:
            with self.graph.activate():
                self.module = load_module(Path(section.module))
        except ValueError as exc:
            raise ConfigError(f"workflow.module: {exc}") from None
        # Each run names its nodes from the counters the import left (multiply0, add0, ...):
        # the same values give the same prompt text, and no name collides with the module's.
        self._names_at_import = dict(self.graph._counters)
        found, self._functions = _module_parameters(self.module)
        remote = self._remote_functions()
        # only functions move to the sandbox (trainable ones and `sandboxed`); values need none;
        # an entry taking the run's `context` may run generators, whose code runs there too
        self._entry = self._resolve(section.entry, "entry") if section.entry else None
        takes_context = self._entry is not None and _accepts(self._entry, "context")
        self.needs_sandbox = section.command is not None or bool(remote) or takes_context
        self._params = self._select(found)
        self.initial = {k: p._data for k, p in self._params.items()}
        self._check_space()
        self._feedback = self._resolve(section.feedback, "feedback") if section.feedback else None
        self._lock = threading.RLock()
        self._traces: OrderedDict[str, Node] = OrderedDict()
        self._ctx: RunContext | None = None
        self._llm = llm
        self._llm_stack = contextlib.ExitStack()
        self._llm_opened = False
        self._entry_ctx: tuple[RunContext, RunContext] | None = None
        if remote:
            executor = SandboxExecutor(self._sandbox, section.timeout_s)
            for fn in remote:
                try:
                    fn.executor = executor
                except TypeError as exc:  # no readable source to ship
                    raise ConfigError(f"workflow.sandboxed: {exc}") from None

    # -- set-up --------------------------------------------------------------------------------
    def _select(self, found: dict[str, ParameterNode]) -> dict[str, ParameterNode]:
        if not found:
            raise ConfigError(
                f"workflow.module {self.section.module} defines no trainable parameter; mark "
                "values with node(v, trainable=True) or functions with @bundle(trainable=True)"
            )
        if not self.section.parameters:
            return found
        chosen: dict[str, ParameterNode] = {}
        for want in self.section.parameters:
            key = parameter_key(want, found)
            if key is None:
                raise ConfigError(
                    f"workflow.parameters: {want!r} is not a trainable parameter of "
                    f"{self.section.module}; found: {', '.join(found)}"
                )
            chosen[key] = found[key]
        return chosen

    def _remote_functions(self) -> list[FunModule]:
        """The functions whose calls run in the sandbox: the trainable ones and `sandboxed`."""
        if self.section.run_in != "sandbox":
            return []
        remote = [fn for fn in self._functions if fn.parameter is not None]
        for name in self.section.sandboxed:
            fn = getattr(self.module, name, None)
            if not isinstance(fn, FunModule):
                raise ConfigError(
                    f"workflow.sandboxed: {name!r} is not a @bundle function of "
                    f"{self.section.module}"
                )
            if fn.parameter is None:  # a trained one is in the list already
                remote.append(fn)
        return remote

    def _check_space(self) -> None:
        """`workflow.space` names trained values; numeric ranges belong to numeric values."""
        for key, spec in self.section.space.items():
            if key not in self._params:
                raise ConfigError(
                    f"workflow.space.{key}: not a trained parameter of {self.section.module}; "
                    f"trained: {', '.join(self._params)}"
                )
            if key.endswith(".__code"):
                raise ConfigError(
                    f"workflow.space.{key}: a function's code has no range; leave it to "
                    "optoprime or a code generator"
                )
            value = self.initial[key]
            numeric = isinstance(value, int | float) and not isinstance(value, bool)
            if spec.type in ("float", "int") and not numeric:
                raise ConfigError(
                    f"workflow.space.{key}: type {spec.type} for a parameter whose value is "
                    f"{type(value).__name__} ({value!r})"
                )

    def search_space(self) -> dict[str, Any]:
        """`workflow.space`: the parameters ask/tell optimizers search, with their ranges."""
        if not self.section.space:
            raise NotImplementedError(
                "a workflow task needs `workflow.space` (ranges of its numeric or categorical "
                "parameters) for an ask/tell optimizer"
            )
        return dict(self.section.space)

    def _resolve(self, spec: str, what: str) -> Callable[..., Any]:
        if ":" in spec:
            try:
                return resolve_callable(spec, self.workdir)
            except ValueError as exc:
                raise ConfigError(f"workflow.{what}: {exc}") from None
        fn = getattr(self.module, spec, None)
        if not callable(fn):
            raise ConfigError(f"workflow.{what}: {self.section.module} has no function {spec!r}")
        return fn

    def _sandbox(self) -> Any:
        if self._ctx is None:
            raise ConfigError("this workflow runs code in the sandbox, but no run context is set")
        return self._ctx.sandbox()

    def _llm_config(self) -> LLMConfig | str | None:
        """``workflow.llm`` as a config (a model string stays one); None when not set."""
        spec = self.section.llm
        return LLMConfig.model_validate(spec) if isinstance(spec, dict) else spec

    def _context(self, ctx: RunContext) -> RunContext:
        """The run's context as the entry gets it: its model is ``workflow.llm`` when set."""
        config = self._llm_config()
        if config is None:
            return ctx
        if self._entry_ctx is None or self._entry_ctx[0] is not ctx:
            self._entry_ctx = (ctx, ctx.child(llm_config=config))
        return self._entry_ctx[1]

    def workflow_llm(self) -> Any:
        """The client for the workflow's own calls (``workflow.llm``), opened on first use."""
        config = self._llm_config()
        if self._llm is None and config is not None:
            self._llm = self._llm_stack.enter_context(open_llm(config))
            self._llm_opened = True
        return self._llm

    def close(self) -> None:
        """Close the workflow's LLM client, if this task opened one."""
        self._llm_stack.close()
        if self._llm_opened:
            self._llm, self._llm_opened = None, False

    # -- what optimizers use -------------------------------------------------------------------
    def trace_parameters(self) -> dict[str, ParameterNode]:
        """The parameters being trained, by stable key (the keys of ``payload["params"]``)."""
        return dict(self._params)

    def describe(self) -> str:
        """The goal, for LLM optimizers."""
        judge = "unit tests" if self.section.command is not None else "a feedback function"
        doc = (inspect.getdoc(self.module) or "").strip()
        text = (
            f"{self.direction} {self.primary!r} of the workflow {self.name!r}, judged by {judge}."
        )
        return f"{text}\n{doc}" if doc else text

    def config(self) -> dict[str, Any]:
        """The section plus the hashes of the module and the copied files."""
        conf = {"kind": "workflow", **self.section.model_dump(mode="json")}
        sources = [self.section.module, *self.section.files]
        conf["sources"] = {s: hashlib.sha256(Path(s).read_bytes()).hexdigest() for s in sources}
        return conf

    def set_values(self, values: dict[str, Any]) -> None:
        """Set parameters from ``values`` (missing keys keep their initial value)."""
        unknown = sorted(set(values) - set(self._params))
        if unknown:
            raise ValueError(f"unknown parameters {unknown}; known: {sorted(self._params)}")
        for key, param in self._params.items():
            value = values.get(key, self.initial[key])
            if isinstance(self.initial[key], tuple) and isinstance(value, list):
                value = tuple(value)
            param.set(value)

    def forward(self, values: dict[str, Any]) -> Node:
        """Run the workflow with ``values``; returns the output (an ExceptionNode on failure).

        Without an ``entry`` the output is the parameter itself (the first one when several).
        """
        run_graph = Graph(self.name, _counters=dict(self._names_at_import))
        with self._lock, run_graph.activate():
            self.set_values(values)
            if self._entry is None:
                return next(iter(self._params.values()))
            kwargs = dict(self.section.args)
            if _accepts(self._entry, "llm") and self.workflow_llm() is not None:
                kwargs["llm"] = self.workflow_llm()
            if _accepts(self._entry, "context") and self._ctx is not None:
                kwargs["context"] = self._context(self._ctx)
            try:
                out = self._entry(**kwargs)
            except ExecutionError as exc:
                return exc.exception_node
            return out if isinstance(out, Node) else node(out, name="output")

    def trace_output(self, candidate_id: str | None, values: dict[str, Any]) -> Node:
        """The traced output of a candidate: kept from its evaluation, else run again."""
        with self._lock:
            if candidate_id is not None and candidate_id in self._traces:
                return self._traces[candidate_id]
            return self.forward(values)

    def _keep(self, candidate_id: str, output: Node) -> None:
        self._traces[candidate_id] = output
        self._traces.move_to_end(candidate_id)
        while len(self._traces) > KEEP_TRACES:
            self._traces.popitem(last=False)

    # -- evaluation ----------------------------------------------------------------------------
    def evaluate(self, candidate: Candidate, ctx: RunContext) -> Evaluation:
        """Set the candidate's values, run the workflow, judge it."""
        base = {"candidate_id": candidate.id, "primary": self.primary, "direction": self.direction}
        params = candidate.payload.get("params", {})
        start = time.perf_counter()
        with self._lock:
            self._ctx = ctx
            try:
                self.set_values(dict(params))
            except (ValueError, TypeError) as exc:
                return Evaluation(status="error", feedback=f"invalid parameters: {exc}", **base)
            try:
                output = self.forward(dict(params))
            except (KeyboardInterrupt, *INFRASTRUCTURE):
                raise  # a sandbox or a budget failed: the run handles it, not a verdict
            except BaseException as exc:  # the user's workflow failed (sys.exit() too)
                took = {"eval_s": time.perf_counter() - start}
                msg = f"the workflow raised {type(exc).__name__}: {exc}"
                out = traceback.format_exc()
                return Evaluation(status="error", output=out, timings=took, feedback=msg, **base)
            self._keep(candidate.id, output)
            if self.section.command is not None:
                ev = self._run_tests(params, ctx, base)
                if isinstance(output, ExceptionNode):
                    note = (
                        f"Running the workflow failed with {output.data}:\n{output.error_comment}"
                    )
                    ev.feedback = f"{note}\n{ev.feedback}"[:FEEDBACK_CAP]
            else:
                ev = self._judge(output, base)
        ev.timings = {"eval_s": time.perf_counter() - start}
        return ev

    def _judge(self, output: Node, base: dict[str, Any]) -> Evaluation:
        if isinstance(output, ExceptionNode):
            text = f"The workflow failed with {output.data}:\n{output.error_comment}"
            return Evaluation(status="error", feedback=text[:FEEDBACK_CAP], **base)
        assert self._feedback is not None
        kwargs = {}
        if _accepts(self._feedback, "llm") and self.workflow_llm() is not None:
            kwargs["llm"] = self.workflow_llm()
        try:
            result = self._feedback(output.data, **kwargs)
            score, text = result
            score = float(score)
        except KeyboardInterrupt:
            raise
        except BaseException as exc:  # sys.exit() too: it ends this evaluation, not the run
            msg = f"the feedback function raised or returned no (score, text): {exc!r}"
            return Evaluation(status="error", output=traceback.format_exc(), feedback=msg, **base)
        if not math.isfinite(score):
            return Evaluation(status="failed", feedback=str(text)[:FEEDBACK_CAP], **base)
        return Evaluation(
            status="ok",
            scores={self.primary: score},
            feedback=str(text)[:FEEDBACK_CAP],
            output=repr(output.data),
            **base,
        )

    def _run_tests(
        self, params: dict[str, Any], ctx: RunContext, base: dict[str, Any]
    ) -> Evaluation:
        codes = [str(p._data).rstrip() + "\n" for p in self._params.values() if p.is_code]
        files: dict[str, bytes | str] = {
            Path(f).name: Path(f).read_bytes() for f in self.section.files
        }
        files[self.section.solution_file] = "\n\n".join(codes)
        values = {k: p._data for k, p in self._params.items()}
        files["params.json"] = json.dumps(values, default=repr)
        limits = Limits(timeout_s=self.section.timeout_s)
        res = ctx.sandbox().run(files, self.section.command_args(), limits)
        output = (res.stdout or "") + (f"\n{res.stderr}" if res.stderr else "")
        if res.status in ("timeout", "oom"):
            text = f"the tests ended with {res.status}; output:\n{output[-FEEDBACK_CAP:]}"
            return Evaluation(status=res.status, output=output, feedback=text, **base)
        passed, total, tests = parse_test_output(output, res.exit_code)
        score = passed / total if total else 0.0
        head = f"{passed} of {total} tests passed."
        tail = output.strip()[-FEEDBACK_CAP:]
        text = head if passed == total else f"{head} Test output:\n{tail}"
        return Evaluation(
            status="ok",
            scores={self.primary: score, "passed": float(passed), "total": float(total)},
            tests=tests,
            output=output,
            feedback=text,
            **base,
        )
