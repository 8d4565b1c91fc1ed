"""``@bundle``: a Python function becomes one traced operation.

The function runs on plain values; its result becomes a :class:`MessageNode` whose inputs are
the arguments (named after the signature). With ``trainable=True`` the function's *source code*
is a :class:`ParameterNode` the optimizer may rewrite; the signature is a constraint it must keep.
Rewritten code is compiled by :func:`~workbench.trace.code.compile_code` into a fresh namespace
(the function's globals copied, plus its closure values read through ``__closure__``) on each
call — no frame is read or written, so this works the same on Python 3.11-3.13.

Example:
    >>> @bundle(trainable=True)
    ... def double(x):
    ...     return 2 * x
    >>> y = double(node(4))
    >>> y.data, sorted(y.inputs)
    (8, ['__code', 'x'])
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, overload

from workbench.errors import INFRASTRUCTURE
from workbench.trace.code import (
    CodeCall,
    FunctionSource,
    check_code,
    closure_values,
    code_filename,
    compile_code,
    error_comment,
    function_source,
)
from workbench.trace.errors import ExecutionError, RemoteError
from workbench.trace.graph import is_tracing
from workbench.trace.nodes import (
    ExceptionNode,
    MessageNode,
    Node,
    ParameterNode,
    as_input,
    reads_recorder,
)

__all__ = ["FunModule", "bundle"]

_BOUND_KEY = "__trace_bound__"


@dataclass
class _Spec:
    """What every binding of one bundled function shares."""

    fn: Callable[..., Any]
    name: str
    description: str
    trainable: bool
    catch_execution_error: bool
    signature: inspect.Signature
    is_async: bool
    source: FunctionSource | None
    executor: Callable[[CodeCall], Any] | None = None
    attr_name: str | None = None
    compiled: dict[str, Callable[..., Any]] = field(default_factory=dict)


def _code_parameter(spec: _Spec, value: str | None = None) -> ParameterNode:
    assert spec.source is not None
    param = ParameterNode(
        value if value is not None else spec.source.source,
        name=f"__code_{spec.name}",
        description=f"The code of the function {spec.name}.",
        constraint=f"The code should start with:\n{spec.source.header}",
    )
    param.info.update(signature=spec.source.header, fun_name=spec.name, source=spec.source)
    return param


class FunModule:
    """A bundled function (see :func:`bundle`); a descriptor, so methods bind per instance.

    Attributes:
        parameter: The code parameter when trainable (each instance of a class that has a
            trainable bundled method gets its own), else None.
    """

    def __init__(self, spec: _Spec, instance: Any = None, parameter: ParameterNode | None = None):
        self._spec = spec
        self._instance = instance
        self.parameter = parameter
        if parameter is None and spec.trainable and instance is None:
            self.parameter = _code_parameter(spec)
        self.__name__ = spec.name
        self.__doc__ = spec.fn.__doc__
        self.__wrapped__ = spec.fn

    def __repr__(self) -> str:
        return f"<bundle {self._spec.name}{' (trainable)' if self._spec.trainable else ''}>"

    # -- descriptor: per-instance parameters ------------------------------------------------
    def __set_name__(self, owner: type, name: str) -> None:
        self._spec.attr_name = name

    def __get__(self, instance: Any, owner: type | None = None) -> FunModule:
        if instance is None:
            return self
        store = getattr(instance, "__dict__", None)
        key = self._spec.attr_name or self._spec.name
        if store is None:  # __slots__ class: the class-level parameter is shared
            return FunModule(self._spec, instance, self.parameter)
        bound = store.setdefault(_BOUND_KEY, {})
        if key not in bound:
            param = None
            if self.parameter is not None:
                param = _code_parameter(self._spec, self.parameter._data)
            bound[key] = FunModule(self._spec, instance, param)
        return bound[key]

    @property
    def executor(self) -> Callable[[CodeCall], Any] | None:
        """Where the code runs: None in process, else the executor given ``CodeCall``s.

        Setting it (e.g. a task setting that sends trainable functions to a sandbox) changes
        every binding of the function, as ``@bundle(executor=...)`` would have.
        """
        return self._spec.executor

    @executor.setter
    def executor(self, executor: Callable[[CodeCall], Any] | None) -> None:
        if executor is not None and self._spec.source is None:
            raise TypeError(f"{self._spec.name}: an executor needs a function with readable source")
        self._spec.executor = executor

    def parameters(self) -> list[ParameterNode]:
        """The trainable code parameter, if any, as a list."""
        return [self.parameter] if self.parameter is not None else []

    # -- calling ----------------------------------------------------------------------------
    def _inputs(
        self, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> tuple[dict[str, Any], list[Any], dict[str, Any]]:
        """Bind the call: (argument label -> node or value, raw args, raw kwargs)."""
        spec = self._spec
        if self._instance is not None:
            args = (self._instance, *args)
        bound = spec.signature.bind(*args, **kwargs)
        labels: dict[str, Any] = {}
        skip = next(iter(spec.signature.parameters)) if self._instance is not None else None
        for pname, value in bound.arguments.items():
            if pname == skip:
                continue
            kind = spec.signature.parameters[pname].kind
            if kind is inspect.Parameter.VAR_POSITIONAL:
                bound.arguments[pname] = tuple(
                    _unwrap(f"{pname}_{i}", v, labels) for i, v in enumerate(value)
                )
            elif kind is inspect.Parameter.VAR_KEYWORD:
                bound.arguments[pname] = {k: _unwrap(k, v, labels) for k, v in value.items()}
            else:
                bound.arguments[pname] = _unwrap(pname, value, labels)
        return labels, list(bound.args), dict(bound.kwargs)

    def _target(self) -> Callable[..., Any]:
        """The function to run: the original, the rewritten code compiled, or the executor."""
        spec = self._spec
        if spec.executor is not None and spec.source is not None:
            code = self.parameter._data if self.parameter is not None else spec.source.source
            problem = check_code(code, spec.source)
            if problem is not None:
                raise problem
            executor = spec.executor
            return lambda *a, **kw: executor(CodeCall(spec.name, code, a, kw, spec.is_async))
        if self.parameter is None or spec.source is None:
            return spec.fn
        code = self.parameter._data
        if code == spec.source.source:
            return spec.fn
        problem = check_code(code, spec.source)
        if problem is not None:
            raise problem
        namespace = dict(getattr(spec.fn, "__globals__", {}))
        namespace.update(closure_values(spec.fn))
        return compile_code(code, spec.name, namespace)

    def _output(self, labels: dict[str, Any], result: Any, reads: dict[int, Node]) -> MessageNode:
        spec = self._spec
        inputs = self._parents(labels, reads, result)
        value = result._data if isinstance(result, Node) else result
        return MessageNode(
            value,
            op=spec.name,
            inputs=inputs,
            description=spec.description,
            info={"fun_name": spec.name},
        )

    def _parents(
        self, labels: dict[str, Any], reads: dict[int, Node], result: Any = None
    ) -> dict[str, Node]:
        """The output's inputs: arguments, a returned node, nodes read inside, the code."""
        if not is_tracing():
            return {}
        inputs = {k: as_input(v, k) for k, v in labels.items()}
        known = {id(n) for n in inputs.values()}
        if isinstance(result, Node) and id(result) not in known:
            inputs["__result"] = result  # the function built a traced value: keep its history
            known.add(id(result))
        for n in reads.values():  # nodes the function read without receiving them
            if id(n) not in known:
                inputs[f"__ext_{n.name}"] = n
                known.add(id(n))
        if self.parameter is not None:
            inputs["__code"] = self.parameter
        return inputs

    def _failure(
        self, labels: dict[str, Any], exc: Exception, reads: dict[int, Node]
    ) -> ExecutionError:
        """An ExceptionNode for ``exc`` (annotated source as its comment), wrapped to raise."""
        spec = self._spec
        inputs = self._parents(labels, reads)
        original = exc.exception if isinstance(exc, ExecutionError) else exc
        if isinstance(exc, ExecutionError):  # a traced op inside failed: keep its node
            inputs["__error"] = exc.exception_node
        if isinstance(original, RemoteError):
            headline = str(original)
        else:
            headline = f"({type(original).__name__}) {original}"
        comment = headline
        if spec.source is not None:
            code = self.parameter._data if self.parameter is not None else spec.source.source
            if code == spec.source.source:
                where, first = spec.source.filename, spec.source.first_line
            else:
                where, first = code_filename(spec.name, code), 1
            comment = error_comment(original or exc, code, where, first)
        enode = ExceptionNode(
            headline,
            op=spec.name,
            inputs=inputs,
            description=spec.description,
            info={"exception": original, "error_comment": comment, "fun_name": spec.name},
            name=f"exception_{spec.name}",
        )
        return ExecutionError(enode)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if self._spec.is_async:
            return self._acall(args, kwargs)
        labels, raw_args, raw_kwargs = self._inputs(args, kwargs)
        recorder = reads_recorder()
        reads: dict[int, Node] = {}
        token = recorder.set(reads)
        try:
            result = self._target()(*raw_args, **raw_kwargs)
        except INFRASTRUCTURE:
            raise  # the run could not go on (a sandbox, a budget): not the code's doing
        except Exception as exc:
            if not self._spec.catch_execution_error:
                raise
            raise self._failure(labels, exc, reads) from exc
        finally:
            recorder.reset(token)
        return self._output(labels, result, reads)

    async def _acall(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> MessageNode:
        labels, raw_args, raw_kwargs = self._inputs(args, kwargs)
        recorder = reads_recorder()
        reads: dict[int, Node] = {}
        token = recorder.set(reads)
        try:
            result = self._target()(*raw_args, **raw_kwargs)
            if inspect.isawaitable(result):
                result = await result
        except INFRASTRUCTURE:
            raise  # the run could not go on (a sandbox, a budget): not the code's doing
        except Exception as exc:
            if not self._spec.catch_execution_error:
                raise
            raise self._failure(labels, exc, reads) from exc
        finally:
            recorder.reset(token)
        return self._output(labels, result, reads)


def _unwrap(label: str, value: Any, labels: dict[str, Any]) -> Any:
    """Record ``value`` under ``label`` and return its plain value (nodes in lists/dicts too)."""
    if isinstance(value, Node):
        labels[label] = value
        return value._data
    if isinstance(value, list | tuple) and any(isinstance(v, Node) for v in value):
        items = [_unwrap(f"{label}_{i}", v, labels) for i, v in enumerate(value)]
        return type(value)(items) if isinstance(value, list) else tuple(items)
    if isinstance(value, dict) and any(isinstance(v, Node) for v in value.values()):
        return {k: _unwrap(f"{label}_{k}", v, labels) for k, v in value.items()}
    labels[label] = value
    return value


@overload
def bundle(fn: Callable[..., Any], /) -> FunModule: ...
@overload
def bundle(
    fn: None = None,
    /,
    *,
    description: str | None = None,
    trainable: bool = False,
    catch_execution_error: bool = True,
    executor: Callable[[CodeCall], Any] | None = None,
) -> Callable[[Callable[..., Any]], FunModule]: ...
def bundle(
    fn: Callable[..., Any] | None = None,
    /,
    *,
    description: str | None = None,
    trainable: bool = False,
    catch_execution_error: bool = True,
    executor: Callable[[CodeCall], Any] | None = None,
) -> FunModule | Callable[[Callable[..., Any]], FunModule]:
    """Turn a function (sync or ``async``) into one traced operation.

    Usable as ``@bundle`` or ``@bundle(...)``.

    Args:
        fn: The function (when used without parentheses).
        description: Shown under #Documentation; the docstring (or a default) otherwise.
        trainable: Make the source code a parameter the optimizer may rewrite. Needs a ``def``
            whose source ``inspect`` can read.
        catch_execution_error: Turn exceptions into an ExceptionNode + ExecutionError; when
            False they propagate unchanged. The run's own failures
            (`workbench.errors.INFRASTRUCTURE`: a sandbox that failed, a budget that ran out)
            always propagate: they are not the code's doing.
        executor: Run the code elsewhere (e.g. a sandbox): called with a
            :class:`~workbench.trace.code.CodeCall` (source, plain arguments), it returns the
            result (or an awaitable of it) or raises; :class:`~workbench.trace.errors.RemoteError`
            carries a remote failure's type, message and line.

    Returns:
        A :class:`FunModule` (or a decorator making one).

    Raises:
        TypeError: ``trainable=True`` on a function whose source cannot be read.
    """

    def wrap(f: Callable[..., Any]) -> FunModule:
        try:
            source = function_source(f)
        except TypeError:
            if trainable or executor is not None:
                raise
            source = None
        doc = inspect.getdoc(f)
        spec = _Spec(
            fn=f,
            name=f.__name__,
            description=description or doc or f"The function {f.__name__}.",
            trainable=trainable,
            catch_execution_error=catch_execution_error,
            signature=inspect.signature(f),
            is_async=inspect.iscoroutinefunction(f),
            source=source,
            executor=executor,
        )
        return FunModule(spec)

    return wrap(fn) if fn is not None else wrap
