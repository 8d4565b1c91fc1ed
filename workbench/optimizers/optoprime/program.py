"""What OptoPrime optimizes, seen as a traced graph: a workflow's parameters, or one program.

`OptoPrimeOptimizer` asks a `TraceView` for the trainable parameters, for the traced output of
a candidate (the graph ``backward`` walks) and for the candidate payload of a set of values:

- `WorkflowTrace`: the ``workflow`` kind, whose parameters and traced runs are the user's own.
- `ProgramTrace`: the ``code`` and ``mpi`` kinds. The program is one trainable parameter (the
  problem's prompt to start with: signature and documentation); its output is the judge's
  verdict on it, ``judge(program)``, a traced operation whose documentation says what the
  judge does (public tests in the sandbox; MPI: compiled with the driver and run at each rank
  count). The sandbox's feedback (test results, compiler errors, per-np runs) is the feedback
  on that output, so ``backward`` hands OptoPrime the program, the judge and what it saw.
  Hidden tests never reach it: the view is built from the public problem.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any, Protocol

from workbench.optimizers.codegen.view import ProblemView
from workbench.tasks import ProvidesTraceParameters
from workbench.trace import Graph, Node, ParameterNode, bundle, node

__all__ = ["ProgramTrace", "TraceView", "WorkflowTrace"]

KEEP_VERDICTS = 64
"""Verdicts kept for `ProgramTrace.trace_output`; OptoPrime only asks for its current one."""


class TraceView(Protocol):
    """What `OptoPrimeOptimizer` needs: parameters, traced outputs, payloads."""

    def trace_parameters(self) -> dict[str, ParameterNode]:
        """The trainable parameters by stable key."""
        ...

    def trace_output(self, candidate_id: str | None, values: dict[str, Any]) -> Node:
        """The traced output of the candidate with `values` (what ``backward`` starts from)."""
        ...

    def set_values(self, values: dict[str, Any]) -> None:
        """Set the parameters to `values`."""
        ...

    def normalize(self, values: dict[str, Any]) -> dict[str, Any]:
        """`values` as the parameters hold them (a program without its reply's fence)."""
        ...

    def payload(self, values: dict[str, Any]) -> dict[str, Any]:
        """The candidate payload the task evaluates for `values`."""
        ...

    def record(self, candidate_id: str, status: str, score: float | None) -> None:
        """The verdict on a candidate (`ProgramTrace` shows it as the judge's output)."""
        ...


class WorkflowTrace:
    """A ``workflow`` task: its own parameters and traced runs; payload ``{"params": values}``."""

    def __init__(self, task: ProvidesTraceParameters) -> None:
        self.task: Any = task

    def trace_parameters(self) -> dict[str, ParameterNode]:
        return self.task.trace_parameters()

    def trace_output(self, candidate_id: str | None, values: dict[str, Any]) -> Node:
        return self.task.trace_output(candidate_id, values)

    def set_values(self, values: dict[str, Any]) -> None:
        self.task.set_values(values)

    def normalize(self, values: dict[str, Any]) -> dict[str, Any]:
        return values

    def payload(self, values: dict[str, Any]) -> dict[str, Any]:
        return {"params": dict(values)}

    def record(self, candidate_id: str, status: str, score: float | None) -> None:
        return None  # the workflow's traced runs carry their own outputs


_JUDGES = {
    "code": (
        "Runs `program` in a sandbox against the problem's public unit tests and returns the "
        "verdict: the status (ok: the program loaded and its tests ran; error: it does not "
        "load; timeout; oom) and the share of tests passed. The feedback lists each test with "
        "what the program did."
    ),
    "mpi": (
        "Compiles `program` (one C++ function that uses MPI) into the problem's driver with "
        "mpicxx and runs it at each rank count in a sandbox; the judge checks every rank's "
        "output against a serial reference on fresh inputs and times it. Returns the verdict: "
        "the status (ok: it compiled and ran; error: a rejected source or a compile error) "
        "and the fraction of rank counts that validated. The feedback shows compiler errors "
        "and each rank count's result."
    ),
}


class ProgramTrace:
    """A ``code`` or ``mpi`` task's program as a traced parameter (see the module docstring).

    Args:
        view: the task's problem as code generators see it (no hidden tests).
        primary: the name of the task's primary score, shown in verdicts.
    """

    KEY = "program"

    def __init__(self, view: ProblemView, primary: str) -> None:
        self.view = view
        self.primary = primary
        language = "C++" if view.language == "cpp" else "Python"
        with Graph("program").activate():  # its own name counter: always ``program0``
            self.param: ParameterNode = node(  # type: ignore[assignment]
                view.prompt,
                trainable=True,
                name="program",
                # no description: it would follow a multi-line value as a comment, and small
                # models copy it into the code; the constraint has its own section
                constraint=(
                    f"The {language} source of the whole function `{view.entry}`, header "
                    "included (helper functions may come before it); keep its name and signature."
                ),
            )
        self._verdicts: OrderedDict[str, str] = OrderedDict()
        self._shown = ""

        def judge(program: str) -> str:
            return self._shown

        self._judge = bundle(description=_JUDGES[view.kind])(judge)

    def trace_parameters(self) -> dict[str, ParameterNode]:
        return {self.KEY: self.param}

    def trace_output(self, candidate_id: str | None, values: dict[str, Any]) -> Node:
        """``judge(program)`` of the candidate: its recorded verdict as the output."""
        self.set_values(values)
        self._shown = self._verdicts.get(candidate_id or "", "not evaluated yet")
        with Graph("program").activate():
            return self._judge(self.param)

    def set_values(self, values: dict[str, Any]) -> None:
        self.param.set(values.get(self.KEY, self.view.prompt))

    def normalize(self, values: dict[str, Any]) -> dict[str, Any]:
        """The program without a reply's fence (as is when no program can be read from it)."""
        text = str(values.get(self.KEY, ""))
        program = self.view.extract(text)
        return {**values, self.KEY: program.code if program.code else text}

    def payload(self, values: dict[str, Any]) -> dict[str, Any]:
        """The program of `values` as the task's payload."""
        return self.view.payload(str(values.get(self.KEY, "")))

    def record(self, candidate_id: str, status: str, score: float | None) -> None:
        shown = f"{self.primary} = {score:.6g}" if score is not None else "no score"
        self._verdicts[candidate_id] = f"status: {status}; {shown}"
        self._verdicts.move_to_end(candidate_id)
        while len(self._verdicts) > KEEP_VERDICTS:
            self._verdicts.popitem(last=False)
