"""The numbers a setting may hold: finite, in range, and integral where something is counted.

Annotated types for pydantic fields, shared by every layer's settings (task files, the sandbox's
limits, the model client), so that a limit is checked the same way wherever it is written:
``.inf``, ``.nan``, ``true`` and ``0.5`` processes are refused when the file is validated, with
the field's path, not when the run first uses them.

Example:
    >>> from pydantic import BaseModel, ValidationError
    >>> class Budget(BaseModel):
    ...     wall_time_s: Seconds | None = None
    ...     evaluations: Count | None = None
    >>> Budget(wall_time_s=60, evaluations=3).wall_time_s
    60.0
    >>> for bad in ({"wall_time_s": float("inf")}, {"evaluations": 0.5}):
    ...     try:
    ...         Budget(**bad)
    ...     except ValidationError as exc:
    ...         print(exc.errors()[0]["msg"])
    Value error, must be a finite number (no .inf, no .nan)
    Input should be a valid integer, got a number with a fractional part
"""

from __future__ import annotations

import math
from typing import Annotated, Any

from pydantic import BeforeValidator, Field

__all__ = [
    "MAX_COUNT",
    "MAX_SECONDS",
    "Count",
    "CountOrZero",
    "FiniteFloat",
    "Fraction",
    "NonNegative",
    "Positive",
    "Seconds",
]

MAX_SECONDS = 365 * 24 * 3600.0
"""One year: longer waits overflow the platform's timeouts (`threading.TIMEOUT_MAX`)."""

MAX_COUNT = 2**53
"""The largest integer JSON readers keep exactly."""


def _plain_number(value: Any) -> Any:
    # pydantic reads true/false as 1/0 for numbers; `pids: yes` is a mistake, not one process.
    # Non-finite floats are named here, before a range check would call .nan "not > 0".
    if isinstance(value, bool):
        raise ValueError(f"must be a number, not {str(value).lower()}")
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError("must be a finite number (no .inf, no .nan)")
    return value


_NUMBER = BeforeValidator(_plain_number)

FiniteFloat = Annotated[float, _NUMBER, Field(allow_inf_nan=False)]
"""Any finite number (no ``.inf``, no ``.nan``)."""

Positive = Annotated[float, _NUMBER, Field(gt=0, allow_inf_nan=False)]
"""A finite number above 0 (a cost, a CPU share)."""

NonNegative = Annotated[float, _NUMBER, Field(ge=0, allow_inf_nan=False)]
"""A finite number of at least 0 (a price, a sampling temperature)."""

Fraction = Annotated[float, _NUMBER, Field(ge=0, le=1, allow_inf_nan=False)]
"""A share: a number from 0 to 1."""

Seconds = Annotated[float, _NUMBER, Field(gt=0, le=MAX_SECONDS, allow_inf_nan=False)]
"""A duration or time limit: above 0, at most `MAX_SECONDS`."""

Count = Annotated[int, _NUMBER, Field(gt=0, le=MAX_COUNT)]
"""A positive whole number (evaluations, tokens, processes, megabytes); ``0.5`` is refused."""

CountOrZero = Annotated[int, _NUMBER, Field(ge=0, le=MAX_COUNT)]
"""A whole number of at least 0, where 0 means none (retries, a recursion depth)."""
