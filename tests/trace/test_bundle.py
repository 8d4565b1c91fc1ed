"""@bundle: traced functions, trainable code, errors as nodes, async, per-instance methods."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest

from workbench.errors import ModelAnswerError, SandboxFailure
from workbench.trace import (
    CodeCall,
    ExceptionNode,
    ExecutionError,
    MessageNode,
    Module,
    ParameterNode,
    RemoteError,
    backward,
    bundle,
    node,
)

SCALE = 10


@bundle(description="Adds and scales.")
def add_scaled(a, b=1):
    return (a + b) * SCALE


def test_bundle_records_inputs_named_after_the_signature() -> None:
    x = node(2, name="x")
    out = add_scaled(x, b=3)
    assert isinstance(out, MessageNode)
    assert out.data == 50
    assert out.op == "add_scaled" and out.description == "Adds and scales."
    assert out.inputs["a"] is x
    assert out.inputs["b"].data == 3


def test_bundle_without_parentheses_uses_docstring() -> None:
    @bundle
    def inc(v):
        """Add one."""
        return v + 1

    out = inc(node(1))
    assert out.data == 2 and out.description == "Add one."


def test_varargs_kwargs_and_nodes_inside_lists() -> None:
    @bundle
    def total(items, *more, **named):
        return sum(items) + sum(more) + sum(named.values())

    a, b, c = node(1), node(2), node(3)
    out = total([a, b], c, 4, k=node(5))
    assert out.data == 15
    assert out.inputs["items_0"] is a and out.inputs["items_1"] is b
    assert out.inputs["more_0"] is c and out.inputs["more_1"].data == 4
    assert out.inputs["k"].data == 5


def test_nodes_read_inside_but_not_passed_become_parents() -> None:
    hidden = node(7, trainable=True, name="hidden")

    @bundle
    def uses_global(v):
        return v + hidden.data

    out = uses_global(node(1))
    assert out.data == 8
    assert any(p is hidden for p in out.parents)
    backward(out, "too small")
    assert hidden.feedback and hidden.feedback[0].feedback == "too small"


def test_returned_traced_value_keeps_its_history() -> None:
    w = node(3, trainable=True, name="w")

    @bundle
    def build(v):
        return w * v

    out = build(node(2))
    assert out.data == 6
    assert out.inputs["__result"].inputs["x"] is w


def test_trainable_code_is_a_parameter_with_signature_constraint() -> None:
    @bundle(trainable=True)
    def solve(xs):
        """Sum the list."""
        return sum(xs)

    param = solve.parameter
    assert isinstance(param, ParameterNode) and param.trainable and param.is_code
    assert param.data.startswith("def solve(xs):")
    assert "@bundle" not in param.data
    assert param.constraint.startswith("The code should start with:\ndef solve(xs):")
    assert '"""Sum the list."""' in param.constraint
    out = solve(node([1, 2, 3]))
    assert out.data == 6 and out.inputs["__code"] is param
    assert solve.parameters() == [param]


def test_rewritten_code_runs_with_globals_and_closure_values() -> None:
    offset = 100

    @bundle(trainable=True)
    def f(x):
        return x + offset

    assert f(1).data == 101
    f.parameter.set("def f(x):\n    return x * SCALE + offset\n")
    assert f(2).data == 120
    f.parameter.set("import math\n\ndef f(x):\n    return math.isqrt(x) + offset\n")
    assert f(16).data == 104


def test_rewritten_code_can_recurse() -> None:
    @bundle(trainable=True)
    def fact(n):
        return 1

    fact.parameter.set("def fact(n):\n    return 1 if n <= 1 else n * fact(n - 1)\n")
    assert fact(5).data == 120


def test_runtime_error_becomes_exception_node_with_annotated_source() -> None:
    @bundle(trainable=True)
    def ratio(a, b):
        total = a + b
        return total / b

    with pytest.raises(ExecutionError) as info:
        ratio(node(1), node(0))
    enode = info.value.exception_node
    assert isinstance(enode, ExceptionNode)
    assert enode.data == "(ZeroDivisionError) division by zero"
    assert enode.inputs["__code"] is ratio.parameter
    assert enode.inputs["a"].data == 1
    lines = enode.error_comment.splitlines()
    assert lines[2] == "    return total / b  <--- (ZeroDivisionError) division by zero"
    assert "<---" not in lines[1]


def test_error_in_rewritten_code_is_annotated_at_its_line() -> None:
    @bundle(trainable=True)
    def g(xs):
        return xs[0]

    g.parameter.set("def g(xs):\n    first = xs[0]\n    return first[99]\n")
    with pytest.raises(ExecutionError) as info:
        g(["ab"])
    comment = info.value.exception_node.error_comment
    assert "    return first[99]  <--- (IndexError) string index out of range" in comment
    # backward on the exception node needs no text: the annotated source is the feedback
    backward(info.value.exception_node)
    assert g.parameter.feedback[-1].feedback == comment


def test_syntax_error_in_rewritten_code_becomes_exception_node() -> None:
    @bundle(trainable=True)
    def h(x):
        return x

    h.parameter.set("def h(x):\n    return (x +\n")
    with pytest.raises(ExecutionError) as info:
        h(node(1))
    enode = info.value.exception_node
    assert enode.data.startswith("(SyntaxError)")
    assert isinstance(info.value.exception, SyntaxError)
    assert "<--- (SyntaxError)" in enode.error_comment
    assert enode.inputs["__code"] is h.parameter


def test_changed_signature_becomes_exception_node() -> None:
    @bundle(trainable=True)
    def k(x):
        return x

    k.parameter.set("def k(x, y):\n    return x + y\n")
    with pytest.raises(ExecutionError) as info:
        k(1)
    assert info.value.exception_node.data.startswith("(CodeError) the signature of `k`")
    k.parameter.set("def other(x):\n    return x\n")
    with pytest.raises(ExecutionError, match="must define `def k"):
        k(1)


def test_error_in_nested_traced_op_keeps_inner_node() -> None:
    @bundle
    def outer(v):
        return (node(v) / 0).data

    with pytest.raises(ExecutionError) as info:
        outer(node(3))
    enode = info.value.exception_node
    assert isinstance(enode.inputs["__error"], ExceptionNode)
    assert isinstance(info.value.exception, ZeroDivisionError)


def test_catch_execution_error_false_propagates_the_original() -> None:
    @bundle(catch_execution_error=False)
    def boom(x):
        raise KeyError(x)

    with pytest.raises(KeyError):
        boom(node(1))


def test_the_runs_own_failures_pass_through_a_bad_answer_is_feedback() -> None:
    @bundle()
    def call(kind):
        if kind == "sandbox":
            raise SandboxFailure("no answer from the supervisor")
        raise ModelAnswerError("the answer did not validate", raw="{")

    with pytest.raises(SandboxFailure):  # the infrastructure: never an exception node
        call(node("sandbox"))
    with pytest.raises(ExecutionError) as info:  # the model's answer: feedback for the graph
        call(node("answer"))
    assert info.value.exception_node.data.startswith("(ModelAnswerError)")


def test_async_bundles_with_gather_and_errors() -> None:
    @bundle(trainable=True)
    async def slow_double(x):
        await asyncio.sleep(0.01)
        return 2 * x

    async def main() -> list[MessageNode]:
        return await asyncio.gather(*(slow_double(node(i)) for i in range(5)))

    outs = asyncio.run(main())
    assert [o.data for o in outs] == [0, 2, 4, 6, 8]
    assert all(o.inputs["__code"] is slow_double.parameter for o in outs)

    slow_double.parameter.set("async def slow_double(x):\n    return 1 / (x - x)\n")
    with pytest.raises(ExecutionError) as info:
        asyncio.run(slow_double(node(1)))
    assert info.value.exception_node.data == "(ZeroDivisionError) division by zero"
    assert "return 1 / (x - x)  <---" in info.value.exception_node.error_comment
    slow_double.parameter.set("def slow_double(x):\n    return x\n")
    with pytest.raises(ExecutionError, match="must stay `async def`"):
        asyncio.run(slow_double(node(1)))


class Agent(Module):
    def __init__(self, greeting: str) -> None:
        self.greeting = node(greeting, trainable=True, name="greeting")

    @bundle(trainable=True)
    def reply(self, name):
        return f"Hello {name}"


def test_bundled_methods_have_per_instance_parameters() -> None:
    a, b = Agent("hi"), Agent("yo")
    assert a.reply is a.reply
    assert a.reply.parameter is not b.reply.parameter
    assert a.reply.parameter is not Agent.reply.parameter
    a.reply.parameter.set("def reply(self, name):\n    return f'Bye {name}'\n")
    assert a.reply("Ann").data == "Bye Ann"
    assert b.reply("Ann").data == "Hello Ann"
    out = b.reply(node("Bo"))
    assert "self" not in out.inputs and out.inputs["name"].data == "Bo"


def test_trainable_bundle_needs_readable_source() -> None:
    with pytest.raises(TypeError, match="source"):
        bundle(trainable=True)(len)
    assert bundle(lambda v: v * 2)(node(4)).data == 8


RUNNER = """
import json, sys, traceback
import solution
args, kwargs = json.load(open("call.json"))
try:
    print(json.dumps({"ok": getattr(solution, sys.argv[1])(*args, **kwargs)}))
except Exception as exc:
    lines = [f.lineno for f in traceback.extract_tb(exc.__traceback__)
             if f.filename.endswith("solution.py")]
    print(json.dumps({"error": [type(exc).__name__, str(exc), lines[-1] if lines else None]}))
"""


def subprocess_executor(call: CodeCall) -> Any:
    """Runs the code in a separate Python process, as a sandbox backend would."""
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        (work / "solution.py").write_text(call.source)
        (work / "run.py").write_text(RUNNER)
        (work / "call.json").write_text(json.dumps([list(call.args), call.kwargs]))
        done = subprocess.run(
            [sys.executable, "run.py", call.name], cwd=work, capture_output=True, text=True
        )
    answer = json.loads(done.stdout)
    if "error" in answer:
        raise RemoteError(*answer["error"])
    return answer["ok"]


def test_executor_runs_the_code_out_of_process() -> None:
    @bundle(trainable=True, executor=subprocess_executor)
    def pid_and_sum(xs):
        import os

        return [os.getpid(), sum(xs)]

    out = pid_and_sum(node([1, 2, 3]))
    assert out.data[1] == 6 and out.data[0] != os.getpid()
    assert out.inputs["__code"] is pid_and_sum.parameter

    pid_and_sum.parameter.set("def pid_and_sum(xs):\n    total = sum(xs)\n    return total / 0\n")
    with pytest.raises(ExecutionError) as info:
        pid_and_sum([1])
    enode = info.value.exception_node
    assert enode.data == "(ZeroDivisionError) division by zero"
    assert "    return total / 0  <--- (ZeroDivisionError) division by zero" in enode.error_comment

    pid_and_sum.parameter.set("def pid_and_sum(xs):\n    return (\n")
    with pytest.raises(ExecutionError) as info:
        pid_and_sum([1])
    assert info.value.exception_node.data.startswith("(SyntaxError)")  # checked before running
