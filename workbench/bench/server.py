"""What benches share: one LLM client for a whole benchmark (both `hpo` and `code`) and its
server log, a Docker sandbox with a served model, the commit a result file measured."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from workbench.errors import INFRASTRUCTURE
from workbench.llm import DEFAULT_LOCAL_MODEL, LLMConfig, open_llm
from workbench.llm.local.server import start_llama_server
from workbench.sandbox import DockerSandbox, Sandbox
from workbench.sandbox.docker import allow_docker

__all__ = ["bench_server", "git_commit", "on_sandbox", "prior_results", "sandbox_and_model"]

T = TypeVar("T")


@contextmanager
def bench_server(model: str | None, threads: int = 1) -> Iterator[tuple[Any, Path | None]]:
    """One client for the whole benchmark (and the server log, for a local model).

    A ``local`` / ``local:<name>`` model starts a 1-slot llama-server with `threads` threads;
    any other model is opened as it is named. The cache is off: a bench measures the model.
    """
    model = model or "local"
    if model == "local" or model.startswith("local:"):
        name = model.partition(":")[2] or DEFAULT_LOCAL_MODEL
        with start_llama_server(name, parallel=1, threads=threads, ctx_per_slot=6144) as server:
            config = LLMConfig(model=f"endpoint:{name}", base_url=server.base_url, cache=False)
            with open_llm(config) as client:
                yield client, server.log_path
        return
    with open_llm(LLMConfig(model=model, cache=False)) as client:
        yield client, None


def git_commit(root: Path) -> str | None:
    """The commit checked out at `root` (the code a result file measured), or None."""
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, timeout=10
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


@contextmanager
def sandbox_and_model(model: str, threads: int) -> Iterator[tuple[DockerSandbox, dict[str, Any]]]:
    """A bench's Docker sandbox and its model, served by a 1-slot llama-server: the sandbox and
    the ``llm:`` section of every run's task file (cache off: a bench measures the model)."""
    allow_docker(True)
    box = DockerSandbox(pool_size=1)
    try:
        server = start_llama_server(model, parallel=1, threads=threads, ctx_per_slot=6144)
        try:
            llm = {"model": f"endpoint:{model}", "base_url": server.base_url}
            yield box, {**llm, "cache": False, "timeout_s": 1800}
        finally:
            server.stop()
    finally:
        box.close()


def prior_results(out: Path, resume: bool) -> dict[str, Any] | None:
    """The result file a bench continues (``{}`` for a new one); None, after saying why on
    stderr, when `out` exists and `resume` is off (a result file is never replaced)."""
    if out.exists() and not resume:
        print(
            f"{out} exists: pass --resume to continue it, or --out for a new file", file=sys.stderr
        )
        return None
    return json.loads(out.read_text()) if out.exists() else {}


def on_sandbox(
    box: Sandbox,
    judge: Callable[[Sandbox], T],
    fresh: Callable[[], Sandbox] = lambda: DockerSandbox(pool_size=1),
) -> tuple[T | None, str | None]:
    """`judge(box)`, and once more on a `fresh` sandbox after an infrastructure failure (a bench
    judging a run's best after the run keeps the run's record either way): its result, or None
    and why there is none."""
    why = None
    for attempt in range(2):
        sandbox = box if attempt == 0 else fresh()
        try:
            return judge(sandbox), None
        except INFRASTRUCTURE as exc:
            why = f"{type(exc).__name__}: {exc}"
        finally:
            if sandbox is not box:
                sandbox.close()
    return None, why
