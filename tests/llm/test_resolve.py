"""`open_llm` resolution, config parsing and the model-request guard."""

from __future__ import annotations

from typing import ClassVar

import pytest

from workbench.errors import ConfigError, EndpointError
from workbench.llm import (
    DEFAULT_LOCAL_MODEL,
    LLMClient,
    LLMConfig,
    ScriptedLLM,
    open_llm,
    parse_model,
)
from workbench.llm.client import OpenAIClient
from workbench.llm.guard import allow_model_requests, model_requests_allowed


@pytest.mark.parametrize(
    ("text", "kind", "name"),
    [
        ("local", "local", DEFAULT_LOCAL_MODEL),
        ("local:smollm2-135m-instruct", "local", "smollm2-135m-instruct"),
        ("openai:gpt-4o-mini", "openai", "gpt-4o-mini"),
        ("endpoint:my-model", "endpoint", "my-model"),
        ("vllm:Qwen/Qwen2.5-0.5B-Instruct", "vllm", "Qwen/Qwen2.5-0.5B-Instruct"),
    ],
)
def test_parse_model(text: str, kind: str, name: str) -> None:
    spec = parse_model(text)
    assert (spec.kind, spec.name) == (kind, name)


@pytest.mark.parametrize("text", ["gpt-4o", "azure:gpt", "local:", "endpoint: "])
def test_bad_model_strings(text: str) -> None:
    with pytest.raises(ConfigError, match="is not understood"):
        parse_model(text)


def test_config_forbids_unknown_keys_and_keys_themselves() -> None:
    with pytest.raises(ValueError, match="api_key"):
        LLMConfig.model_validate({"model": "openai:gpt-4o", "api_key": "sk-123"})


def test_unknown_local_model_fails_before_anything_starts() -> None:
    with pytest.raises(ConfigError, match="known models"), open_llm("local:nope"):
        pass


def test_endpoint_needs_base_url() -> None:
    with pytest.raises(ConfigError, match=r"needs llm\.base_url"), open_llm("endpoint:m"):
        pass


def test_named_key_variable_must_exist(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WB_KEY_FOR_TEST", raising=False)
    config = LLMConfig(
        model="endpoint:m", base_url="http://x.test/v1", api_key_env="WB_KEY_FOR_TEST"
    )
    with pytest.raises(EndpointError, match=r"\$WB_KEY_FOR_TEST is not set"), open_llm(config):
        pass


def test_a_client_passes_through_unchanged() -> None:
    llm = ScriptedLLM(lambda r: "x")
    with open_llm(llm) as got:
        assert got is llm


def test_tests_without_llm_marker_cannot_reach_a_real_model() -> None:
    assert not model_requests_allowed()
    client = OpenAIClient("m", "http://127.0.0.1:9/v1")
    with pytest.raises(RuntimeError, match="mark it `llm`"):
        client.chat([{"role": "user", "content": "hi"}])
    with allow_model_requests(True):
        assert model_requests_allowed()
    assert isinstance(client, LLMClient)


class FakeServer:
    """Stands in for an embedded llama-server: counts starts and stops."""

    log: ClassVar[list[str]] = []

    def __init__(self, name: str, parallel: int) -> None:
        self.base_url = f"http://127.0.0.1:9/{name}/{parallel}/v1"
        self.process = self  # poll() None: running
        self.stopped = False
        FakeServer.log.append(f"start {name} {parallel}")

    def poll(self) -> int | None:
        return 1 if self.stopped else None

    def stop(self) -> None:
        self.stopped = True
        FakeServer.log.append("stop")


def test_clients_of_one_local_model_share_one_embedded_server(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    FakeServer.log = []
    monkeypatch.setattr(
        "workbench.llm.resolve.start_llama_server",
        lambda name, parallel: FakeServer(name, parallel),
    )
    small = "local:smollm2-135m-instruct"
    with allow_model_requests(True):
        with open_llm(small) as a, open_llm(small) as b:
            with open_llm(LLMConfig(model=small, concurrency=3)) as c:
                assert FakeServer.log == [
                    "start smollm2-135m-instruct 4",
                    "start smollm2-135m-instruct 3",
                ]
                assert c is not a
            assert FakeServer.log[-1] == "stop"  # the 3-slot server had one client
            assert a is not b  # two clients (each its own hooks), one server
        assert FakeServer.log.count("stop") == 2  # the last client closed: the server stops
        with open_llm(small):
            pass
    assert FakeServer.log[-2:] == ["start smollm2-135m-instruct 4", "stop"]  # started anew
