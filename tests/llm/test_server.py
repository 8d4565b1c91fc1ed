"""The embedded server: `open_llm("local:...")` and `workbench llm serve` (marker `llm`)."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.fixtures.needs import missing
from workbench.llm import TEST_LOCAL_MODEL, LLMConfig, ResponseCache, open_llm
from workbench.llm.local import binary_path, is_model_ready, running_servers

pytestmark = pytest.mark.llm


@pytest.fixture
def _set_up() -> None:
    if not binary_path().exists() or not is_model_ready(TEST_LOCAL_MODEL):
        missing(f"run: workbench llm setup --model {TEST_LOCAL_MODEL}")


def _ports() -> set[int]:
    return {int(s["port"]) for s in running_servers()}


@pytest.mark.usefixtures("_set_up")
def test_open_llm_local_starts_and_stops_the_server(tmp_path: Path) -> None:
    before = _ports()
    config = LLMConfig(model=f"local:{TEST_LOCAL_MODEL}", concurrency=2)
    with open_llm(config, cache=ResponseCache(tmp_path / "c.sqlite")) as llm:
        (port,) = _ports() - before
        assert llm.chat([{"role": "user", "content": "Hi"}], max_tokens=4).text
    assert port not in _ports()
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"http://127.0.0.1:{port}/health", timeout=2)


@pytest.mark.usefixtures("_set_up")
def test_serve_prints_the_url_and_stops_on_sigterm() -> None:
    cmd = [sys.executable, "-c", "from workbench.cli import main; main()", "llm", "serve",
           "--model", TEST_LOCAL_MODEL, "--parallel", "1", "--ctx", "1024"]  # fmt: skip
    with subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True) as proc:
        try:
            assert proc.stdout is not None
            url = proc.stdout.readline().strip()
            assert url.startswith("http://127.0.0.1:") and url.endswith("/v1")
            models = httpx.get(f"{url}/models", timeout=5).json()
            assert models["data"][0]["id"] == TEST_LOCAL_MODEL
        finally:
            proc.send_signal(signal.SIGTERM)
            code = proc.wait(30)
    assert code == 0
    with pytest.raises(httpx.ConnectError):
        httpx.get(url.removesuffix("/v1") + "/health", timeout=2)


@pytest.mark.usefixtures("_set_up")
def test_server_dies_with_a_killed_parent() -> None:
    """Even without atexit (os._exit, SIGKILL), no llama-server is left behind."""
    script = (
        "import os; from workbench.llm.local import start_llama_server as s; "
        f"p = s({TEST_LOCAL_MODEL!r}, parallel=1, ctx_per_slot=512); "
        "print(p.process.pid, flush=True); os._exit(0)"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    pid = int(out.stdout.strip())
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and _alive(pid):
        time.sleep(0.1)
    assert not _alive(pid)


def _alive(pid: int) -> bool:
    """Running, not a zombie waiting for a PID 1 that may never reap it (containers)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"
