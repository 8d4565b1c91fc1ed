"""Kits for testing Workbench's extension points, shipped so plugin authors can run them too.

`workbench.testing.optimizers` builds an optimizer on a task with a scripted model and drives it
(no pytest needed); `workbench.testing.pytest_optimizers` holds the contract suite every
optimizer passes (STYLE habits 6 and 22), as ``optuna.testing.pytest_samplers`` does for
Optuna's samplers. Only the second module imports pytest.
"""

from workbench.testing.optimizers import OptimizerCase, Subject, json_problem, open_subject

__all__ = ["OptimizerCase", "Subject", "json_problem", "open_subject"]
