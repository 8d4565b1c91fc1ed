"""`open_sandbox`: ``auto`` means Docker, and without it stops with one message; only a named
``local`` runs generated code on the host; the quickstart resolves to Docker."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.agents.helpers import REPO, cli
from workbench.errors import NotSetUp
from workbench.sandbox import (
    DockerSandbox,
    LocalSandbox,
    SandboxConfig,
    allow_docker,
    open_sandbox,
)
from workbench.tasks import load_task_file

UNREACHABLE = "unix:///nonexistent/docker.sock"
SCORE = "import json\np = json.load(open('params.json'))\nprint(-(p['x'] - 0.5) ** 2)\n"


def _assert_refusal(message: str) -> None:
    """The one message: why, how to get Docker, how to name the local backend instead."""
    assert "\n" not in message
    assert "'auto'" in message
    for hint in ("apt-get install docker.io", "dockerd", "workbench sandbox build"):
        assert hint in message, hint
    assert "backend: local" in message and "no security boundary" in message


def _command_task(folder: Path, sandbox: dict[str, str] | None) -> Path:
    """An hpo task whose objective is a command run in the sandbox (it needs one up front)."""
    (folder / "score.py").write_text(SCORE)
    data: dict[str, object] = {
        "name": "needs-a-sandbox",
        "kind": "hpo",
        "optimizer": {"name": "optuna", "settings": {"sampler": "random"}},
        "budget": {"evaluations": 2},
        "hpo": {
            "command": ["python3", "score.py"],
            "files": ["score.py"],
            "metric": "score",
            "space": {"x": {"type": "float", "low": 0.0, "high": 1.0}},
        },
    }
    if sandbox is not None:
        data["sandbox"] = sandbox
    path = folder / "task.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


@pytest.mark.parametrize("spec", ["auto", SandboxConfig(backend="auto"), SandboxConfig(), None])
def test_auto_without_docker_refuses_instead_of_running_locally(
    spec: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    made: list[object] = []
    monkeypatch.setattr(LocalSandbox, "__init__", lambda self, *a, **k: made.append(self))
    with pytest.raises(NotSetUp) as info:
        open_sandbox(spec)  # type: ignore[arg-type]  # Docker is switched off in this test
    _assert_refusal(str(info.value))
    assert "switched off" in str(info.value)
    assert made == []  # no LocalSandbox was even built


def test_auto_with_an_unreachable_engine_refuses(monkeypatch: pytest.MonkeyPatch) -> None:
    allow_docker(True)  # Docker allowed, but no engine answers there
    monkeypatch.setenv("DOCKER_HOST", UNREACHABLE)
    with pytest.raises(NotSetUp) as info:
        open_sandbox("auto")
    _assert_refusal(str(info.value))
    assert "no Docker engine answers" in str(info.value)


def test_only_a_named_local_backend_runs_on_the_host() -> None:
    with open_sandbox(SandboxConfig(backend="local")) as sb:
        res = sb.run({}, ["sh", "-c", "echo ran"])
    assert (sb.backend, res.stdout, res.isolated) == ("local", "ran\n", False)


@pytest.mark.parametrize("sandbox", [{"backend": "auto"}, None])
def test_optimize_with_auto_and_no_docker_exits_2_with_the_message(
    tmp_path: Path, sandbox: dict[str, str] | None, capsys: pytest.CaptureFixture[str]
) -> None:
    task = _command_task(tmp_path, sandbox)
    assert cli(["optimize", str(task), "--runs-dir", str(tmp_path / "runs")]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert "error:" in err and "'auto'" in err and "backend: local" in err
    for events in (tmp_path / "runs").glob("*/events.jsonl"):
        assert '"evaluation"' not in events.read_text()  # nothing was evaluated anywhere


def test_optimize_as_a_process_with_an_unreachable_engine_exits_2(tmp_path: Path) -> None:
    task = _command_task(tmp_path, {"backend": "auto"})
    env = {**os.environ, "DOCKER_HOST": UNREACHABLE, "WORKBENCH_DEBUG": "0"}
    proc = subprocess.run(
        [sys.executable, "-c", "from workbench.cli import main; main()", "optimize", str(task)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout
    message = " ".join(proc.stderr.split())  # rich may wrap the one line
    assert "apt-get install docker.io" in message and "backend: local" in message


def test_the_quickstart_never_runs_on_the_host() -> None:
    task_file = load_task_file(REPO / "tasks" / "quickstart.yaml")
    with pytest.raises(NotSetUp):  # Docker is switched off here: no host fallback
        open_sandbox(task_file.sandbox)


@pytest.mark.docker
def test_the_quickstart_resolves_to_docker(docker_sandbox: DockerSandbox) -> None:
    task_file = load_task_file(REPO / "tasks" / "quickstart.yaml")
    with open_sandbox(task_file.sandbox) as sb:
        assert isinstance(sb, DockerSandbox) and sb.backend == "docker" and sb.isolated
        res = sb.run({}, ["python3", "-c", "print('in docker')"])
    assert res.stdout == "in docker\n" and res.isolated


@pytest.mark.docker
def test_auto_resolves_to_docker_when_the_engine_is_there(docker_sandbox: DockerSandbox) -> None:
    with open_sandbox(SandboxConfig(backend="auto", pool_size=1)) as sb:
        assert isinstance(sb, DockerSandbox) and sb.backend == "docker"
