"""Start, health-check and stop a model server process (llama-server, or `vllm serve`)."""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import importlib.util
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from workbench.errors import EndpointError, EngineUnavailable, NotSetUp
from workbench.llm.local.catalog import binary_path, get_model, known_models, model_path
from workbench.llm.local.install import is_model_ready
from workbench.paths import cache_dir

__all__ = [
    "ServerProcess",
    "check_port_free",
    "free_port",
    "llama_server_command",
    "running_servers",
    "start_llama_server",
    "start_vllm_server",
]

log = logging.getLogger(__name__)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def check_port_free(port: int) -> None:
    """Raise `EndpointError` when `port` on 127.0.0.1 is taken."""
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError as exc:
            raise EndpointError(
                f"port {port} on 127.0.0.1 is already in use; pick another with --port "
                "or leave it out to get a free one"
            ) from exc


def _death_signal() -> Callable[[], None] | None:
    """A pre-exec hook asking Linux to SIGTERM the server when its parent dies, or None.

    PR_SET_PDEATHSIG fires when the *thread* that forked exits, so it is only armed for servers
    started from the main thread; libc is loaded here, in the parent, so the child only makes
    one system call between fork and exec.
    """
    if threading.current_thread() is not threading.main_thread():
        return None
    try:
        prctl = ctypes.CDLL("libc.so.6", use_errno=True).prctl
    except OSError:
        return None

    def arm() -> None:  # pragma: no cover - runs in the child
        prctl(1, signal.SIGTERM)  # 1 = PR_SET_PDEATHSIG

    return arm


@dataclass
class ServerProcess:
    """A server child process on 127.0.0.1; `start()` returns once GET /health answers 200."""

    command: list[str]
    port: int
    model: str
    engine: str = "llama-server"
    startup_timeout_s: float = 120.0
    env: dict[str, str] | None = None
    process: subprocess.Popen[bytes] | None = field(default=None, init=False)
    log_path: Path | None = field(default=None, init=False)

    @property
    def root_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def base_url(self) -> str:
        """The OpenAI-compatible URL (``.../v1``)."""
        return f"{self.root_url}/v1"

    def start(self) -> ServerProcess:
        check_port_free(self.port)
        self.log_path = cache_dir("logs") / f"{self.engine}-{self.port}.log"
        with self.log_path.open("wb") as out:
            self.process = subprocess.Popen(
                self.command,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                preexec_fn=_death_signal(),
                env=None if self.env is None else {**os.environ, **self.env},
            )
        atexit.register(self.stop)
        try:
            self._wait_healthy()
        except BaseException:
            self.stop()
            raise
        self._state_file().write_text(json.dumps(self.describe()))
        log.info("%s serving %s at %s", self.engine, self.model, self.base_url)
        return self

    def describe(self) -> dict[str, Any]:
        pid = self.process.pid if self.process else None
        return {
            "pid": pid,
            "engine": self.engine,
            "model": self.model,
            "port": self.port,
            "base_url": self.base_url,
            "log": str(self.log_path),
        }

    def _state_file(self) -> Path:
        return cache_dir("run") / f"server-{self.port}.json"

    def _log_tail(self, lines: int = 3) -> str:
        try:
            text = self.log_path.read_text(errors="replace") if self.log_path else ""
        except OSError:
            return ""
        return " | ".join(line for line in text.strip().splitlines()[-lines:])

    def _wait_healthy(self) -> None:
        deadline = time.monotonic() + self.startup_timeout_s
        assert self.process is not None
        with httpx.Client(timeout=2.0) as http:
            while time.monotonic() < deadline:
                code = self.process.poll()
                if code is not None:
                    tail = self._log_tail()
                    if "bind" in tail.lower() or "address already in use" in tail.lower():
                        raise EndpointError(f"port {self.port} on 127.0.0.1 is already in use")
                    raise EngineUnavailable(
                        f"{self.engine} exited with code {code} while starting: {tail} "
                        f"(log: {self.log_path})"
                    )
                with contextlib.suppress(httpx.HTTPError):
                    if http.get(f"{self.root_url}/health").status_code == 200:
                        return
                time.sleep(0.1)
        raise EngineUnavailable(
            f"{self.engine} did not become healthy within {self.startup_timeout_s:.0f} s "
            f"(log: {self.log_path})"
        )

    def stop(self, timeout_s: float = 10.0) -> None:
        """Terminate, wait, then kill. Safe to call twice."""
        proc = self.process
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout_s)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout_s)
        with contextlib.suppress(OSError):
            self._state_file().unlink()
        atexit.unregister(self.stop)

    def __enter__(self) -> ServerProcess:
        return self.start() if self.process is None else self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def default_threads(parallel: int) -> int:
    """One thread in total by default: the slots are decoded as one batch anyway.

    More threads than free cores is much slower, not faster: oversubscribed threads wait for
    each other at every step (figures in bench/README.md, LLM throughput). Sandboxed
    evaluations run next to the model, so that is the normal case; raise it with ``--threads``
    on a machine with cores to spare.
    """
    return 1


def llama_server_command(
    binary: Path,
    model: Path,
    alias: str,
    port: int,
    *,
    parallel: int = 2,
    threads: int | None = None,
    ctx_per_slot: int = 4096,
) -> list[str]:
    """The llama-server command line (context is shared by the slots, hence the product)."""
    threads = threads or default_threads(parallel)
    return [
        str(binary),
        "-m",
        str(model),
        "--alias",
        alias,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--parallel",
        str(parallel),
        "-c",
        str(ctx_per_slot * parallel),
        "-t",
        str(threads),
        "-tb",
        str(threads),
        "--no-webui",
    ]


def start_llama_server(
    model: str,
    *,
    port: int | None = None,
    parallel: int = 2,
    threads: int | None = None,
    ctx_per_slot: int = 4096,
) -> ServerProcess:
    """Start the embedded llama-server for a set-up model and wait until it is healthy.

    Raises:
        ConfigError: unknown model. NotSetUp: binary or model missing.
        EndpointError: the port is in use.
    """
    get_model(model)
    if port is not None:
        check_port_free(port)
    binary = binary_path()
    if not binary.exists():
        raise NotSetUp(f"llama-server is not built; run: workbench llm setup --model {model}")
    if not is_model_ready(model):
        raise NotSetUp(f"model {model} is not set up; run: workbench llm setup --model {model}")
    port = port or free_port()
    cmd = llama_server_command(
        binary,
        model_path(model),
        model,
        port,
        parallel=parallel,
        threads=threads,
        ctx_per_slot=ctx_per_slot,
    )
    return ServerProcess(cmd, port, model, "llama-server", startup_timeout_s=120).start()


def start_vllm_server(model: str, *, port: int | None = None) -> ServerProcess:
    """`vllm serve` for an HF model id or local path (GPU machines).

    An embedded model's name (``qwen2.5-coder-0.5b-instruct``) loads its original HF model and
    is served under that name, so the same `llm.model` works with either engine.

    Raises:
        NotSetUp: vLLM is not installed. EndpointError: the port is in use.
    """
    if importlib.util.find_spec("vllm") is None:
        raise NotSetUp("vLLM is not installed; run: pip install 'workbench[vllm]' (needs a GPU)")
    if port is not None:
        check_port_free(port)
    port = port or free_port()
    source = get_model(model).hf_id if model in known_models() else model
    cmd = [sys.executable, "-m", "vllm.entrypoints.openai.api_server", "--model", source,
           "--served-model-name", model, "--host", "127.0.0.1", "--port", str(port)]  # fmt: skip
    return ServerProcess(cmd, port, model, "vllm", startup_timeout_s=900).start()


def running_servers() -> Iterator[dict[str, Any]]:
    """Servers started by workbench whose process is still alive."""
    for path in sorted(cache_dir("run").glob("server-*.json")):
        try:
            info = json.loads(path.read_text())
            os.kill(int(info["pid"]), 0)
        except (OSError, ValueError, KeyError, TypeError):
            with contextlib.suppress(OSError):
                path.unlink()
            continue
        yield info
