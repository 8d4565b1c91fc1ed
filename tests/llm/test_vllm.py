"""The in-process vLLM backend: a clear error without vLLM, and its result mapping (fake engine)."""

from __future__ import annotations

import sys
import types
from dataclasses import dataclass, field

import pytest
from pydantic import BaseModel

from workbench.errors import NotSetUp
from workbench.llm import open_llm
from workbench.llm.vllm import VLLMClient


def test_missing_vllm_is_one_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "vllm", None)  # makes `import vllm` fail
    match = r"vLLM is not installed; run: pip install 'workbench\[vllm\]'"
    with pytest.raises(NotSetUp, match=match), open_llm("vllm:Qwen/Qwen2.5-0.5B-Instruct"):
        pass


@dataclass
class Logprob:
    logprob: float
    decoded_token: str


@dataclass
class Output:
    text: str
    token_ids: list[int]
    logprobs: list[dict[int, Logprob]] | None = None
    finish_reason: str = "stop"


@dataclass
class RequestOutput:
    prompt_token_ids: list[int]
    outputs: list[Output]


@dataclass
class FakeEngine:
    calls: list = field(default_factory=list)

    def chat(self, conversations, params, use_tqdm=False):
        self.calls.append(("chat", conversations, params))
        return [RequestOutput([1, 2, 3], [Output('{"x": 4}', [7, 8])])]

    def generate(self, prompts, params, use_tqdm=False):
        self.calls.append(("generate", prompts, params))
        steps = [{5: Logprob(-0.1, "a"), 6: Logprob(-2.0, "b")}, {9: Logprob(-0.3, "c")}]
        return [RequestOutput([1, 2], [Output("ac", [5, 9], steps, "length")])]


def fake_vllm(monkeypatch: pytest.MonkeyPatch) -> types.ModuleType:
    module = types.ModuleType("vllm")
    module.SamplingParams = lambda **kw: kw  # type: ignore[attr-defined]

    class StructuredOutputsParams:
        def __init__(self, json):
            self.json = json

    module.sampling_params = types.SimpleNamespace(StructuredOutputsParams=StructuredOutputsParams)  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "vllm", module)
    return module


class Point(BaseModel):
    x: int


def test_results_map_like_the_endpoint_backend(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_vllm(monkeypatch)
    engine = FakeEngine()
    llm = VLLMClient("some/model", engine=engine)
    chat = llm.chat([{"role": "user", "content": "hi"}], seed=5, max_tokens=9)
    assert chat.texts == ['{"x": 4}'] and (chat.prompt_tokens, chat.completion_tokens) == (3, 2)
    params = engine.calls[0][2]
    assert params["seed"] == 5 and params["max_tokens"] == 9 and params["n"] == 1

    assert llm.structured([{"role": "user", "content": "x"}], Point).value == Point(x=4)
    assert engine.calls[1][2]["structured_outputs"].json["required"] == ["x"]

    done = llm.complete([1, 2], max_tokens=2, logprobs=2)
    assert engine.calls[2][1] == [{"prompt_token_ids": [1, 2]}]
    assert [(t.token, t.id, t.logprob) for t in done.tokens] == [("a", 5, -0.1), ("c", 9, -0.3)]
    assert done.tokens[0].top == [("a", 5, -0.1), ("b", 6, -2.0)]
