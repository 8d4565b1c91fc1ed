"""`OpenAIClient`: the backend for every OpenAI-compatible endpoint (OpenAI, vllm serve,
llama-server), through the `openai` package. No cache, retries or accounting here: those are
wrappers (see `workbench.llm.resolve`)."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import httpx

from workbench._imports import lazy_import
from workbench.errors import EndpointError
from workbench.llm.base import LLMClient, SchemaNotSupported
from workbench.llm.errors import LLMRequestError
from workbench.llm.guard import check_allow_model_requests
from workbench.llm.logprobs import normalize_logprobs
from workbench.llm.types import ChatRequest, ChatResult, CompletionRequest, CompletionResult

__all__ = ["OpenAIClient", "server_root"]

openai = lazy_import("openai")


def server_root(base_url: str) -> str:
    """The server's root URL: `base_url` without a trailing ``/v1``."""
    root = base_url.rstrip("/")
    return root[: -len("/v1")] if root.endswith("/v1") else root


class OpenAIClient(LLMClient):
    """One OpenAI-compatible endpoint.

    Args:
        model: model name sent with every request.
        base_url: URL ending in ``/v1``.
        api_key: the key itself (read from the environment by the resolver); "none" if unused.
        timeout_s: per-request timeout.
        http_client: an ``httpx2.Client`` for the openai package (tests pass a MockTransport).
        tokenizer_client: an ``httpx.Client`` for /tokenize and /detokenize (tests).
        key_env: name of the key variable, only used in messages.
    """

    def __init__(
        self,
        model: str,
        base_url: str,
        *,
        api_key: str = "none",
        timeout_s: float = 120,
        http_client: Any = None,
        tokenizer_client: httpx.Client | None = None,
        supports_json_schema: bool = True,
        key_env: str | None = None,
    ) -> None:
        super().__init__()
        self.model = model
        self.base_url = base_url.rstrip("/")
        self.supports_json_schema = supports_json_schema
        self.key_env = key_env
        self._real_network = http_client is None
        self._openai = openai.OpenAI(
            api_key=api_key,
            base_url=self.base_url,
            timeout=timeout_s,
            max_retries=0,
            http_client=http_client,
        )
        self._http = tokenizer_client or httpx.Client(timeout=timeout_s)

    # -- primitives -----------------------------------------------------------------------------
    def request_chat(self, request: ChatRequest) -> ChatResult:
        args: dict[str, Any] = {
            "model": self.model,
            "messages": list(request.messages),
            "temperature": request.temperature,
            "max_tokens": request.max_tokens,
            "n": 1,
        }
        if request.sample_seed is not None:
            args["seed"] = request.sample_seed
        if request.stop:
            args["stop"] = list(request.stop)
        if request.response_format is not None:
            args["response_format"] = request.response_format
        started = time.monotonic()
        try:
            response = self._call(self._openai.chat.completions.create, **args)
        except LLMRequestError as exc:
            is_schema = (request.response_format or {}).get("type") == "json_schema"
            if is_schema and exc.status in (400, 422, 500) and _mentions_format(str(exc)):
                raise SchemaNotSupported(str(exc)) from exc
            raise
        choice = response.choices[0]
        usage = response.usage
        return ChatResult(
            texts=[choice.message.content or ""],
            model=self.model,
            prompt_tokens=(usage.prompt_tokens or 0) if usage else 0,
            completion_tokens=(usage.completion_tokens or 0) if usage else 0,
            latency_s=time.monotonic() - started,
            finish_reasons=[choice.finish_reason],
            cached_prompt_tokens=cached_prompt_tokens(response),
        )

    def request_complete(self, request: CompletionRequest) -> CompletionResult:
        args: dict[str, Any] = {
            "model": self.model,
            "prompt": request.prompt if isinstance(request.prompt, str) else list(request.prompt),
            "max_tokens": request.max_tokens,
            "temperature": request.temperature,
        }
        if request.seed is not None:
            args["seed"] = request.seed
        if request.logprobs is not None:
            args["logprobs"] = request.logprobs
        if request.stop:
            args["stop"] = list(request.stop)
        started = time.monotonic()
        response = self._call(self._openai.completions.create, **args)
        choice = response.choices[0]
        logprobs = choice.logprobs.model_dump() if choice.logprobs is not None else None
        usage = response.usage
        return CompletionResult(
            text=choice.text or "",
            model=self.model,
            tokens=normalize_logprobs(logprobs),
            prompt_tokens=(usage.prompt_tokens or 0) if usage else 0,
            completion_tokens=(usage.completion_tokens or 0) if usage else 0,
            latency_s=time.monotonic() - started,
            finish_reason=choice.finish_reason,
            cached_prompt_tokens=cached_prompt_tokens(response),
        )

    def tokenize(self, text: str) -> list[int]:
        """Through the server's /tokenize (llama-server and vLLM's shapes both work)."""
        body = {
            "content": text,
            "prompt": text,
            "model": self.model,
            "add_special": False,
            "add_special_tokens": False,
        }
        data = self._post("/tokenize", body)
        return [int(t["id"]) if isinstance(t, dict) else int(t) for t in data["tokens"]]

    def detokenize(self, ids: list[int]) -> str:
        data = self._post("/detokenize", {"tokens": [int(i) for i in ids], "model": self.model})
        return str(data["content"] if "content" in data else data["prompt"])

    def chat_template(self, messages: Sequence[dict[str, Any]]) -> str:
        """Through llama-server's /apply-template (NotImplementedError where it is missing)."""
        data = self._post("/apply-template", {"messages": list(messages)})
        if not isinstance(data.get("prompt"), str):
            raise NotImplementedError(f"{self.base_url}/apply-template gave no prompt")
        return str(data["prompt"])

    def special_tokens(self) -> dict[str, str]:
        """``eos_token`` / ``eot_token`` from llama-server's /props ({} where it is missing)."""
        try:
            data = self._request("GET", "/props")
        except NotImplementedError:
            return {}
        return {
            k: v
            for k in ("eos_token", "eot_token", "bos_token")
            if isinstance(v := data.get(k), str) and v
        }

    def close(self) -> None:
        self._openai.close()
        self._http.close()

    # -- plumbing -------------------------------------------------------------------------------
    def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        return self._request("POST", path, body)

    def _request(
        self, method: str, path: str, body: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        if self._real_network:
            check_allow_model_requests()
        url = server_root(self.base_url) + path
        try:
            response = self._http.request(method, url, json=body)
        except httpx.HTTPError as exc:
            raise LLMRequestError(f"cannot reach {url}: {exc}", retryable=True) from exc
        if response.status_code == 404:
            raise NotImplementedError(f"the endpoint {self.base_url} has no {path}")
        if response.status_code >= 400:
            raise LLMRequestError(
                f"{url} answered {response.status_code}: {response.text[:300]}",
                status=response.status_code,
                retryable=response.status_code >= 500,
            )
        try:
            data = response.json()
        except ValueError as exc:
            raise LLMRequestError(f"{url} answered with no JSON: {response.text[:200]!r}") from exc
        if not isinstance(data, dict):
            raise LLMRequestError(f"{url} answered {type(data).__name__}, not a JSON object")
        return data

    def _call(self, fn: Any, **args: Any) -> Any:
        """Call the openai package and translate its errors (STYLE habit 8)."""
        if self._real_network:
            check_allow_model_requests()
        try:
            return fn(**args)
        except openai.APITimeoutError as exc:
            raise LLMRequestError(f"request to {self.base_url} timed out", retryable=True) from exc
        except openai.APIConnectionError as exc:
            raise LLMRequestError(
                f"cannot reach the model endpoint {self.base_url}: {exc}", retryable=True
            ) from exc
        except (openai.AuthenticationError, openai.PermissionDeniedError) as exc:
            source = f"the key in ${self.key_env}" if self.key_env else "the request (no key set)"
            raise EndpointError(
                f"the endpoint {self.base_url} rejected {source}: {_message(exc)}"
            ) from exc
        except openai.APIStatusError as exc:
            status = exc.status_code
            retry_after = _retry_after(exc.response.headers.get("retry-after"))
            raise LLMRequestError(
                f"{self.base_url} answered {status}: {_message(exc)}",
                status=status,
                retryable=status == 429 or status >= 500,
                retry_after_s=retry_after,
            ) from exc


def cached_prompt_tokens(response: Any) -> int:
    """Prompt tokens the server answered from its KV cache (prefix reuse), 0 when unknown.

    OpenAI and vLLM report ``usage.prompt_tokens_details.cached_tokens``; llama-server also
    sends ``timings.cache_n``.
    """
    usage = getattr(response, "usage", None)
    details = getattr(usage, "prompt_tokens_details", None) if usage is not None else None
    cached = getattr(details, "cached_tokens", None) if details is not None else None
    if cached is None:
        timings = (getattr(response, "model_extra", None) or {}).get("timings") or {}
        cached = timings.get("cache_n") if isinstance(timings, dict) else None
    try:
        return max(int(cached or 0), 0)
    except (TypeError, ValueError):
        return 0


def _message(exc: openai.APIStatusError | openai.AuthenticationError) -> str:
    return str(getattr(exc, "message", "") or exc)[:500]


def _mentions_format(text: str) -> bool:
    lowered = text.lower()
    return any(w in lowered for w in ("format", "schema", "json_object", "grammar"))


def _retry_after(value: str | None) -> float | None:
    try:
        return None if value is None else max(0.0, float(value))
    except ValueError:
        return None
