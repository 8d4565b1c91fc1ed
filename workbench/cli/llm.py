"""`workbench llm ...`: setup, serve, status and a one-shot chat for the model layer."""

from __future__ import annotations

import signal
import time
from types import FrameType

import typer
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from workbench.cli._common import console
from workbench.errors import ConfigError, EngineUnavailable
from workbench.llm import DEFAULT_LOCAL_MODEL, LLMConfig, open_llm
from workbench.llm.local import (
    LLAMA_CPP_VERSION,
    SetupEvent,
    binary_path,
    get_model,
    is_model_ready,
    known_models,
    model_path,
    running_servers,
    setup,
    start_llama_server,
    start_vllm_server,
)

__all__ = ["app"]

app = typer.Typer(no_args_is_help=True, add_completion=False)


@app.command("setup")
def setup_cmd(
    model: str = typer.Option(DEFAULT_LOCAL_MODEL, "--model", "-m", help="Model to assemble."),
    jobs: int = typer.Option(0, "--jobs", "-j", help="Build jobs (default: all cores)."),
) -> None:
    """Build llama-server and assemble a model's GGUF (cached; a second run takes seconds)."""
    get_model(model)
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.percentage:>3.0f}%"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console, disable=not console.is_terminal) as bar:
        tasks: dict[str, TaskID] = {}

        last: dict[str, str] = {}

        def show(event: SetupEvent) -> None:
            if not console.is_terminal:  # CI logs: one line per step and per 10 %
                pct = (
                    "" if not event.total else f" {int(10 * (event.done or 0) / event.total) * 10}%"
                )
                line = f"[{event.stage}] {event.message}{pct}"
                if last.get(event.stage) != line:
                    last[event.stage] = line
                    console.print(line, highlight=False, markup=False)
                return
            if event.stage not in tasks:
                tasks[event.stage] = bar.add_task(event.message, total=None)
            task = tasks[event.stage]
            bar.update(task, description=f"[{event.stage}] {event.message}")
            if event.total is not None:
                bar.update(task, total=event.total, completed=event.done or 0)

        path = setup(model, show, jobs=jobs or None)
    console.print(f"llama-server: {binary_path()}")
    console.print(f"{model}: {path}")


@app.command("serve")
def serve_cmd(
    model: str = typer.Option(DEFAULT_LOCAL_MODEL, "--model", "-m", help="Model name or HF id."),
    engine: str = typer.Option("llama", "--engine", help="llama (embedded) or vllm."),
    port: int = typer.Option(0, "--port", help="Port on 127.0.0.1 (default: a free one)."),
    parallel: int = typer.Option(2, "--parallel", help="Parallel slots (llama-server)."),
    threads: int = typer.Option(0, "--threads", "-t", help="Threads (default: one per slot)."),
    ctx: int = typer.Option(4096, "--ctx", help="Context tokens per slot (llama-server)."),
) -> None:
    """Start a model server on 127.0.0.1, print its base URL, and stop it on Ctrl-C."""
    if engine == "vllm":
        server = start_vllm_server(model, port=port or None)
    elif engine == "llama":
        server = start_llama_server(
            model, port=port or None, parallel=parallel, threads=threads or None, ctx_per_slot=ctx
        )
    else:
        raise ConfigError(f"unknown engine {engine!r}; use 'llama' or 'vllm'")

    def _terminate(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _terminate)
    console.print(server.base_url, highlight=False, soft_wrap=True)
    console.print(f"[dim]{server.engine} serving {server.model}; Ctrl-C stops it[/dim]")
    try:
        while server.process is not None and server.process.poll() is None:
            time.sleep(0.5)
        raise EngineUnavailable(f"{server.engine} exited unexpectedly; log: {server.log_path}")
    except KeyboardInterrupt:
        console.print("[dim]stopping[/dim]")
    finally:
        server.stop()


@app.command("status")
def status_cmd() -> None:
    """Show what is built, which models are cached and which servers are running."""
    binary = binary_path()
    state = (
        "[green]built[/green]" if binary.exists() else "[red]missing[/red] (workbench llm setup)"
    )
    console.print(f"llama-server {LLAMA_CPP_VERSION}: {state}  {binary}", highlight=False)
    table = Table("model", "status", "size", "path")
    for name in known_models():
        path = model_path(name)
        ready = is_model_ready(name)
        size = f"{path.stat().st_size / 1e6:.0f} MB" if ready else ""
        status = "[green]ready[/green]" if ready else f"missing (workbench llm setup -m {name})"
        table.add_row(name, status, size, str(path) if ready else "")
    console.print(table)
    servers = list(running_servers())
    if not servers:
        console.print("no servers running")
    for info in servers:
        console.print(
            f"running: {info['engine']} {info['model']} at {info['base_url']} (pid {info['pid']})",
            highlight=False,
        )


@app.command("chat")
def chat_cmd(
    prompt: str = typer.Argument(..., help="The user message."),
    model: str = typer.Option("local", "--model", "-m", help="llm.model string."),
    base_url: str = typer.Option(None, "--base-url", help="OpenAI-compatible /v1 URL."),
    api_key_env: str = typer.Option(None, "--api-key-env", help="NAME of the key variable."),
    max_tokens: int = typer.Option(128, "--max-tokens"),
    no_cache: bool = typer.Option(False, "--no-cache", help="Do not use the response cache."),
) -> None:
    """One chat round trip (starts the embedded server for 'local' models)."""
    config = LLMConfig(model=model, base_url=base_url, api_key_env=api_key_env, cache=not no_cache)
    with open_llm(config) as llm:
        result = llm.chat([{"role": "user", "content": prompt}], max_tokens=max_tokens)
        console.print(result.text, highlight=False, markup=False)
        u = llm.usage
        console.print(
            f"[dim]{u.prompt_tokens}+{u.completion_tokens} tokens, "
            f"{u.latency_s:.2f} s, cached={result.cached}[/dim]"
        )
