"""Fixtures of the MPI harness tests: a sandbox that can build and run MPI programs."""

from __future__ import annotations

import shutil

import pytest

from tests.fixtures.needs import missing
from workbench.sandbox import Sandbox


@pytest.fixture(params=["local", pytest.param("docker", marks=pytest.mark.docker)])
def mpi_sandbox(request: pytest.FixtureRequest) -> Sandbox:
    """LocalSandbox on the host's MPICH, then the Docker sandbox image (marker `docker`)."""
    if request.param == "local":
        if shutil.which("mpicxx") is None or shutil.which("mpirun") is None:
            missing("host MPICH is not installed (apt-get install mpich libmpich-dev)")
        return request.getfixturevalue("local_sandbox")
    return request.getfixturevalue("docker_sandbox")
