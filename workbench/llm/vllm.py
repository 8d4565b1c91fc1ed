"""`VLLMClient`: vLLM in process (`vllm.LLM` + `SamplingParams`), imported only when used."""

from __future__ import annotations

import time
from typing import Any

from workbench.errors import NotSetUp
from workbench.llm.base import LLMClient
from workbench.llm.types import (
    ChatRequest,
    ChatResult,
    CompletionRequest,
    CompletionResult,
    TokenLogprob,
)

__all__ = ["VLLMClient", "import_vllm"]


def import_vllm() -> Any:
    """The `vllm` module, or `NotSetUp` with the install command."""
    try:
        import vllm
    except ImportError as exc:
        raise NotSetUp(
            "vLLM is not installed; run: pip install 'workbench[vllm]' (needs a GPU machine), "
            "or use llm.model 'local' / 'endpoint:<model>'"
        ) from exc
    return vllm


class VLLMClient(LLMClient):
    """A model loaded in this process by vLLM; same results as the endpoint backend.

    Args:
        model: HF model id or local path.
        engine: an existing ``vllm.LLM`` (tests pass a fake); built from `model` otherwise.
        **engine_args: passed to ``vllm.LLM``.
    """

    def __init__(self, model: str, *, engine: Any = None, **engine_args: Any) -> None:
        super().__init__()
        self._vllm = import_vllm()
        self.model = model
        self.engine = engine if engine is not None else self._vllm.LLM(model=model, **engine_args)

    def _params(
        self,
        *,
        temperature: float,
        seed: int | None,
        max_tokens: int,
        stop: tuple[str, ...] | None,
        logprobs: int | None = None,
        schema: dict[str, Any] | None = None,
    ) -> Any:
        kwargs: dict[str, Any] = {
            "n": 1,
            "temperature": temperature,
            "seed": seed,
            "max_tokens": max_tokens,
            "stop": list(stop or []),
        }
        if logprobs is not None:
            kwargs["logprobs"] = logprobs
        if schema is not None:
            kwargs.update(_structured_kwargs(self._vllm, schema))
        return self._vllm.SamplingParams(**kwargs)

    def request_chat(self, request: ChatRequest) -> ChatResult:
        fmt = request.response_format or {}
        schema: dict[str, Any] | None = None
        if fmt.get("type") == "json_schema":
            schema = fmt["json_schema"]["schema"]
        elif fmt.get("type") == "json_object":
            schema = {"type": "object"}
        params = self._params(
            temperature=request.temperature,
            seed=request.sample_seed,
            max_tokens=request.max_tokens,
            stop=request.stop,
            schema=schema,
        )
        started = time.monotonic()
        out = self.engine.chat([list(request.messages)], params, use_tqdm=False)[0]
        gen = out.outputs[0]
        return ChatResult(
            [gen.text],
            self.model,
            len(out.prompt_token_ids or []),
            len(gen.token_ids or []),
            latency_s=time.monotonic() - started,
            finish_reasons=[gen.finish_reason],
            cached_prompt_tokens=int(getattr(out, "num_cached_tokens", None) or 0),
        )

    def request_complete(self, request: CompletionRequest) -> CompletionResult:
        params = self._params(
            temperature=request.temperature,
            seed=request.seed,
            max_tokens=request.max_tokens,
            stop=request.stop,
            logprobs=request.logprobs,
        )
        prompt: Any = request.prompt
        if not isinstance(prompt, str):
            prompt = {"prompt_token_ids": list(prompt)}
        started = time.monotonic()
        out = self.engine.generate([prompt], params, use_tqdm=False)[0]
        gen = out.outputs[0]
        tokens = []
        for tid, step in zip(gen.token_ids or [], gen.logprobs or [], strict=False):
            top = sorted(
                ((lp.decoded_token or "", int(i), float(lp.logprob)) for i, lp in step.items()),
                key=lambda t: -t[2],
            )
            chosen = step.get(tid)
            text = chosen.decoded_token if chosen is not None else ""
            value = float(chosen.logprob) if chosen is not None else float("-inf")
            tokens.append(TokenLogprob(text or "", int(tid), value, top[: request.logprobs]))
        return CompletionResult(
            gen.text,
            self.model,
            tokens,
            len(out.prompt_token_ids or []),
            len(gen.token_ids or []),
            latency_s=time.monotonic() - started,
            finish_reason=gen.finish_reason,
            cached_prompt_tokens=int(getattr(out, "num_cached_tokens", None) or 0),
        )

    def tokenize(self, text: str) -> list[int]:
        return list(self.engine.get_tokenizer().encode(text, add_special_tokens=False))

    def detokenize(self, ids: list[int]) -> str:
        return str(self.engine.get_tokenizer().decode(list(ids)))


def _structured_kwargs(vllm: Any, schema: dict[str, Any]) -> dict[str, Any]:
    """Constrained JSON for both vLLM API generations."""
    params = getattr(vllm, "sampling_params", vllm)
    if hasattr(params, "StructuredOutputsParams"):
        return {"structured_outputs": params.StructuredOutputsParams(json=schema)}
    if hasattr(params, "GuidedDecodingParams"):
        return {"guided_decoding": params.GuidedDecodingParams(json=schema)}
    return {}
