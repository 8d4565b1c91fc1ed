"""Workbench: an LLM-driven optimizer and code-generation workbench."""

from workbench.errors import (
    BudgetExceeded,
    ConfigError,
    RunError,
    UserError,
    WorkbenchError,
)

__version__ = "0.1.0"

__all__ = [
    "BudgetExceeded",
    "ConfigError",
    "RunError",
    "UserError",
    "WorkbenchError",
    "__version__",
]
