"""Traced computation graphs: trainable values and functions, feedback, and ``backward``.

Mark values (``node(v, trainable=True)``) and functions (``@bundle(trainable=True)``) as
trainable, run your own code, then send feedback on an output with ``backward(output, text)``:
every trainable parameter that produced it receives the minimal subgraph connecting it to the
output plus the feedback, ready for an optimizer such as OptoPrime.

Example:
    >>> from workbench import trace
    >>> x = trace.node(-1.0, trainable=True, name="x")
    >>> y = x * x + 1.0
    >>> _ = trace.backward(y, "y should be larger")
    >>> x.feedback[0].feedback
    'y should be larger'
"""

from workbench.trace.bundle import FunModule, bundle
from workbench.trace.code import CodeCall, FunctionSource, check_code, compile_code
from workbench.trace.errors import CodeError, ExecutionError, RemoteError
from workbench.trace.export import to_dot, to_svg
from workbench.trace.graph import Graph, current_graph, is_tracing, stop_tracing, use_graph
from workbench.trace.modules import Module, model, named_parameters
from workbench.trace.nodes import ExceptionNode, MessageNode, Node, ParameterNode, node
from workbench.trace.operators import apply_op
from workbench.trace.propagation import (
    BackwardPass,
    Feedback,
    Subgraph,
    backward,
    subgraph,
    zero_feedback,
)

__all__ = [
    "BackwardPass",
    "CodeCall",
    "CodeError",
    "ExceptionNode",
    "ExecutionError",
    "Feedback",
    "FunModule",
    "FunctionSource",
    "Graph",
    "MessageNode",
    "Module",
    "Node",
    "ParameterNode",
    "RemoteError",
    "Subgraph",
    "apply_op",
    "backward",
    "bundle",
    "check_code",
    "compile_code",
    "current_graph",
    "is_tracing",
    "model",
    "named_parameters",
    "node",
    "stop_tracing",
    "subgraph",
    "to_dot",
    "to_svg",
    "use_graph",
    "zero_feedback",
]
