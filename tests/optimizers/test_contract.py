"""Every registered optimizer passes the optimizer contract suite (STYLE habits 6 and 22).

The suite is `workbench.testing.pytest_optimizers.OptimizerTestCase`; the cases (a task and a
scripted model per optimizer) are in this folder's conftest.py. Adding an optimizer to
`OPTIMIZERS` adds it here; it then needs a case.
"""

from __future__ import annotations

import doctest

import pytest

from workbench.optimizers import OPTIMIZERS
from workbench.testing import OptimizerCase, optimizers
from workbench.testing.pytest_optimizers import OptimizerTestCase

KNOWN_FAILURES: dict[tuple[str, str], str] = {}
"""(optimizer, check) -> why it fails: marked xfail(strict=True) until the fix lands."""


@pytest.fixture(params=sorted(OPTIMIZERS))
def optimizer_case(
    request: pytest.FixtureRequest, contract_cases: dict[str, OptimizerCase]
) -> OptimizerCase:
    """Each registered optimizer's case in turn."""
    name = request.param
    reason = KNOWN_FAILURES.get((name, request.function.__name__))
    if reason is not None:
        request.applymarker(pytest.mark.xfail(strict=True, reason=reason))
    return contract_cases[name]


class TestOptimizerContract(OptimizerTestCase):
    """The suite, once per registered optimizer."""


def test_every_registered_optimizer_has_a_case(
    contract_cases: dict[str, OptimizerCase],
) -> None:
    assert sorted(contract_cases) == sorted(OPTIMIZERS)


def test_known_failures_name_real_checks() -> None:
    checks = {name for name in dir(OptimizerTestCase) if name.startswith("test_")}
    for name, check in KNOWN_FAILURES:
        assert name in OPTIMIZERS and check in checks, (name, check)


def test_harness_example() -> None:
    result = doctest.testmod(optimizers)
    assert result.attempted and not result.failed
