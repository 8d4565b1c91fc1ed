"""Every error Workbench raises, split by who has to act.

```
WorkbenchError
├── UserError                 fix your input and rerun; the CLI prints one line and exits 2
│   ├── ConfigError           a task file, a setting or a flag is wrong
│   ├── NotSetUp              something must be built or installed first (names the command)
│   └── EndpointError         a model endpoint is unreachable, or its key is missing
└── RunError                  the run itself could not go on
    ├── BudgetExceeded        a budget (calls, tokens, cost, time, evaluations) ran out
    │   └── PartBudgetExceeded  one agent's own budget ran out: it stops, the run goes on
    ├── EngineUnavailable     Docker or a model server went away during a run
    ├── SandboxFailure        the sandbox could not run a candidate (not the candidate's result)
    └── ModelAnswerError      a model's answer could not be used, after the repair call
```

A model's bad answer and a failing test are *feedback*, not errors: they are recorded on the
step and sent back to the model (STYLE habit 10). `ModelAnswerError` exists for the callers that
asked for a typed result and could not get one; optimizers catch it and count it.
"""

from __future__ import annotations

__all__ = [
    "INFRASTRUCTURE",
    "BudgetExceeded",
    "ConfigError",
    "EndpointError",
    "EngineUnavailable",
    "ModelAnswerError",
    "NotSetUp",
    "PartBudgetExceeded",
    "RunError",
    "SandboxFailure",
    "UserError",
    "WorkbenchError",
]


class WorkbenchError(Exception):
    """Root of every error Workbench raises on purpose."""


class UserError(WorkbenchError):
    """A usage mistake: the message says what was wrong and what to do next."""


class ConfigError(UserError):
    """A task file, a setting or a command-line value is invalid."""


class NotSetUp(UserError):
    """A needed artifact (model, server binary, sandbox image, engine) is missing."""


class EndpointError(UserError):
    """A model endpoint cannot be used: unreachable, bad key variable, port in use."""


class RunError(WorkbenchError):
    """The run could not go on; what was found so far is kept."""


class BudgetExceeded(RunError):
    """A budget ran out: `limit` names it (``"llm_calls"``), `used` and `allowed` say how far."""

    def __init__(self, limit: str, used: float, allowed: float) -> None:
        self.limit = limit
        self.used = used
        self.allowed = allowed
        super().__init__(f"budget {limit!r} exhausted: used {used:g} of {allowed:g}")


class PartBudgetExceeded(BudgetExceeded):
    """The budget of one part of a run ran out (an agent's own limit), not the run's: that part
    stops, the others go on. `part` names it."""

    def __init__(self, part: str, limit: str, used: float, allowed: float) -> None:
        super().__init__(limit, used, allowed)
        self.part = part
        self.args = (f"{part}: budget {limit!r} exhausted: used {used:g} of {allowed:g}",)


class EngineUnavailable(RunError):
    """Docker, a model server or another engine stopped answering during a run."""


class SandboxFailure(RunError):
    """The sandbox could not run a candidate, even on a fresh container.

    A container that could not be cleaned, a supervisor or judge that died, a work dir the sandbox
    could not write: the infrastructure failed, so this is never recorded (or cached) as the
    candidate's result.
    """


class ModelAnswerError(RunError):
    """A model's answer could not be parsed or validated, even after the repair call."""

    def __init__(self, message: str, raw: str = "") -> None:
        self.raw = raw
        super().__init__(message)


INFRASTRUCTURE: tuple[type[RunError], ...] = (BudgetExceeded, EngineUnavailable, SandboxFailure)
"""The run's own failures, whatever the code did: traced code and evaluations let them through
instead of turning them into feedback. (A `ModelAnswerError`, also a `RunError`, is feedback.)"""
