"""`workbench sandbox check` against the local sandbox (the docker variant runs in test_docker)."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from workbench.cli import app


@pytest.mark.slow
def test_check_local_smoke_prints_limits_and_warns() -> None:
    res = CliRunner().invoke(app, ["sandbox", "check", "--sandbox", "local"])
    assert res.exit_code == 0, res.output
    assert "ranks=4 sum=6" in res.output and "hello c" in res.output
    assert "timeout_s=10" in res.output and "isolated: False" in res.output
    assert "NOT a security boundary" in res.output


@pytest.mark.docker
@pytest.mark.slow
def test_check_docker_smoke(docker_sandbox: object) -> None:
    res = CliRunner().invoke(app, ["sandbox", "check", "--sandbox", "docker"])
    assert res.exit_code == 0, res.output
    assert "ranks=4 sum=6" in res.output and "isolated: True" in res.output


@pytest.mark.docker
def test_build_skips_existing_image(docker_sandbox: object) -> None:
    res = CliRunner().invoke(app, ["sandbox", "build"])
    assert res.exit_code == 0, res.output
    assert "nothing to build" in res.output and "workbench-sandbox:" in res.output
