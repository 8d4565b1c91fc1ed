"""One LLM client for a whole benchmark (both `hpo` and `code`), and its server log."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from workbench.llm import DEFAULT_LOCAL_MODEL, LLMConfig, open_llm
from workbench.llm.local.server import start_llama_server

__all__ = ["bench_server"]


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
