"""`open_llm`: the one place that turns a model string or `LLMConfig` into a client stack.

The stack, outermost first: ``MeteredLLM`` (usage, budget) -> ``CachedLLM`` (if enabled) ->
``RetryingLLM`` -> ``LimitedLLM`` (per-process concurrency) -> backend (``OpenAIClient`` or
``VLLMClient``). Every layer is an `LLMClient`.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

import httpx

from workbench.errors import ConfigError, EndpointError
from workbench.llm.base import LLMClient
from workbench.llm.cache import CachedLLM, ResponseCache
from workbench.llm.client import OpenAIClient
from workbench.llm.config import LLMConfig, ModelSpec, parse_model
from workbench.llm.guard import check_allow_model_requests
from workbench.llm.local import get_model, start_llama_server
from workbench.llm.metered import MeteredLLM
from workbench.llm.retry import LimitedLLM, RetryingLLM, shared_limiter
from workbench.llm.usage import Budget, CallRecord
from workbench.llm.vllm import VLLMClient

__all__ = ["OPENAI_BASE_URL", "open_llm", "probe_endpoint", "read_api_key", "wrap"]

OPENAI_BASE_URL = "https://api.openai.com/v1"


def read_api_key(env_name: str | None, *, required: bool) -> str:
    """The key from the variable named `env_name` ("none" when no variable is named).

    Raises:
        EndpointError: the variable is named (or required) but not set.
    """
    if env_name is None:
        if required:
            raise ConfigError("llm.api_key_env must name the variable that holds the API key")
        return "none"
    value = os.environ.get(env_name, "")
    if not value:
        raise EndpointError(
            f"the API key variable ${env_name} is not set; export {env_name}=<key> "
            "(llm.api_key_env names the variable, never the key itself)"
        )
    return value


def probe_endpoint(base_url: str, api_key: str = "none", key_env: str | None = None) -> None:
    """GET ``<base_url>/models`` once, so a wrong URL fails now with one clear line.

    Raises:
        EndpointError: unreachable, or the key is rejected.
    """
    check_allow_model_requests()
    url = base_url.rstrip("/") + "/models"
    try:
        response = httpx.get(url, headers={"Authorization": f"Bearer {api_key}"}, timeout=5.0)
    except httpx.HTTPError as exc:
        raise EndpointError(
            f"cannot reach the model endpoint {base_url} ({type(exc).__name__}); start the "
            "server or fix llm.base_url"
        ) from exc
    if response.status_code in (401, 403):
        source = f"the key in ${key_env}" if key_env else "requests without a key"
        raise EndpointError(f"the endpoint {base_url} rejected {source} ({response.status_code})")


def wrap(
    backend: LLMClient,
    config: LLMConfig,
    *,
    budget: Budget | None = None,
    on_call: Callable[[CallRecord], None] | None = None,
    cache: ResponseCache | None = None,
    endpoint: str | None = None,
) -> MeteredLLM:
    """Put the standard wrappers around a backend (see the module docstring)."""
    client: LLMClient = LimitedLLM(
        backend, shared_limiter(endpoint or backend.model, config.concurrency)
    )
    client = RetryingLLM(client, max_retries=config.max_retries)
    if config.cache:
        client = CachedLLM(client, cache)
    return MeteredLLM(client, budget=budget, on_call=on_call, prices=config.prices)


@contextmanager
def open_llm(
    config: LLMConfig | str | LLMClient,
    *,
    budget: Budget | None = None,
    on_call: Callable[[CallRecord], None] | None = None,
    cache: ResponseCache | None = None,
) -> Iterator[LLMClient]:
    """Resolve the config and yield a ready client; embedded servers stop on exit.

    Args:
        config: an `LLMConfig`, a model string (``"local"``, ``"openai:gpt-4o-mini"``, ...), or a
            client, which is passed through unchanged.
        budget: limits shared by everything in the run.
        on_call: called with every `CallRecord`.
        cache: a specific `ResponseCache` (default: ``cache_dir("llm")/cache.sqlite``).

    Raises:
        ConfigError: bad model string, unknown local model, missing base_url.
        NotSetUp: embedded server or model not set up; vLLM missing.
        EndpointError: endpoint unreachable, key variable missing, port in use.
    """
    if isinstance(config, LLMClient):
        yield config
        return
    cfg = config if isinstance(config, LLMConfig) else LLMConfig(model=config)
    spec = parse_model(cfg.model)
    with ExitStack() as stack:
        backend, endpoint = _backend(cfg, spec, stack)
        client = wrap(backend, cfg, budget=budget, on_call=on_call, cache=cache, endpoint=endpoint)
        stack.callback(client.close)
        yield client


class _Shared:
    def __init__(self, server: Any) -> None:
        self.server = server
        self.users = 0


_SERVERS: dict[tuple[str, int], _Shared] = {}
_SERVERS_LOCK = threading.Lock()


def _shared_server(name: str, parallel: int, stack: ExitStack) -> str:
    """The base URL of an embedded llama-server for `name`, shared by every client of this
    process that asks for the same model and slots: the agents of a run, the generators a
    workflow calls, each opening its own client, load the model once and never oversubscribe
    the cores with a second server. The server stops when its last client closes."""
    key = (name, parallel)
    with _SERVERS_LOCK:
        shared = _SERVERS.get(key)
        if (
            shared is None
            or shared.server.process is None
            or shared.server.process.poll() is not None
        ):
            shared = _SERVERS[key] = _Shared(start_llama_server(name, parallel=parallel))
        shared.users += 1

    def release() -> None:
        with _SERVERS_LOCK:
            shared.users -= 1
            if shared.users > 0:
                return
            if _SERVERS.get(key) is shared:
                del _SERVERS[key]
        shared.server.stop()

    stack.callback(release)
    return str(shared.server.base_url)


def _backend(cfg: LLMConfig, spec: ModelSpec, stack: ExitStack) -> tuple[LLMClient, str]:
    if spec.kind == "vllm":
        return VLLMClient(spec.name), f"vllm:{spec.name}"
    if spec.kind == "local" and cfg.base_url is None:
        get_model(spec.name)
        base_url = _shared_server(spec.name, cfg.concurrency, stack)
        return OpenAIClient(spec.name, base_url, timeout_s=cfg.timeout_s), base_url
    if spec.kind == "openai":
        base_url = cfg.base_url or OPENAI_BASE_URL
        key_env = cfg.api_key_env or "OPENAI_API_KEY"
        key = read_api_key(key_env, required=True)
    else:  # endpoint, or local with an explicit base_url
        if cfg.base_url is None:
            raise ConfigError(f"llm.model {cfg.model!r} needs llm.base_url (the server's /v1 URL)")
        base_url, key_env = cfg.base_url, cfg.api_key_env
        key = read_api_key(key_env, required=False)
    probe_endpoint(base_url, key, key_env)
    client = OpenAIClient(
        spec.name, base_url, api_key=key, timeout_s=cfg.timeout_s, key_env=key_env
    )
    return client, base_url
