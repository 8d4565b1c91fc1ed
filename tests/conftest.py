"""Test-wide policy.

- Markers `docker`, `llm`, `slow` say what a test needs.
- A missing need (no Docker engine, no model server) skips with its reason locally; with
  `CI=true` it fails instead, so CI can never go green by skipping (see `missing`).
- Nothing reaches a real model or Docker by accident: the real clients check guards that are
  switched on only by the fixtures in `tests/fixtures/`.
- ``--mpi-library DIR`` points the MPI library tests (tests/tasks/mpi/test_library.py) at a
  folder of your own problems instead of tasks/mpi/.
"""

from __future__ import annotations

import os

import pytest

pytest_plugins = ["tests.fixtures.needs", "tests.fixtures.llm", "tests.fixtures.sandbox"]

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def pytest_report_header(config: pytest.Config) -> str:
    return f"workbench: CI={'yes (missing needs fail)' if IN_CI else 'no (missing needs skip)'}"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--mpi-library",
        default=None,
        metavar="DIR",
        help="check the MPI problems in DIR (<DIR>/<name>/problem.yaml) instead of tasks/mpi/",
    )
