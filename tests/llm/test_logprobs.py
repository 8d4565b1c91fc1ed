"""Both logprob shapes, parsed through the real openai client from scripted HTTP replies."""

from __future__ import annotations

import httpx
import httpx2
import pytest

from tests.llm._mock import body, completion_reply, mock_client
from workbench.llm.logprobs import normalize_logprobs

LLAMA_SERVER = {  # what llama-server returns for /v1/completions with logprobs
    "content": [
        {
            "id": 472,
            "token": "\n ",
            "bytes": [10, 32],
            "logprob": -0.2,
            "top_logprobs": [
                {"id": 448, "token": "\n  ", "logprob": -2.5},
                {"id": 472, "token": "\n ", "logprob": -0.2},
            ],
        },
        {
            "id": 1003,
            "token": " return",
            "logprob": -1.3,
            "top_logprobs": [{"id": 1003, "token": " return", "logprob": -1.3}],
        },
    ]
}

LEGACY = {  # OpenAI / vLLM legacy completions shape
    "tokens": [" x", " ="],
    "token_logprobs": [-0.1, -0.7],
    "top_logprobs": [{" x": -0.1, " y": -2.0}, {" =": -0.7, "token_id:42": -1.0}],
    "text_offset": [0, 2],
}


def test_chat_style_shape_keeps_ids_and_sorts_top() -> None:
    tokens = normalize_logprobs(LLAMA_SERVER)
    assert [(t.token, t.id, t.logprob) for t in tokens] == [
        ("\n ", 472, -0.2),
        (" return", 1003, -1.3),
    ]
    assert tokens[0].top == [("\n ", 472, -0.2), ("\n  ", 448, -2.5)]


def test_legacy_shape_has_no_ids_unless_tokens_are_ids() -> None:
    tokens = normalize_logprobs(LEGACY)
    assert [(t.token, t.id, t.logprob) for t in tokens] == [(" x", None, -0.1), (" =", None, -0.7)]
    assert tokens[0].top == [(" x", None, -0.1), (" y", None, -2.0)]
    assert tokens[1].top[1] == ("token_id:42", 42, -1.0)


def test_no_logprobs_is_empty() -> None:
    assert normalize_logprobs(None) == [] and normalize_logprobs({}) == []


@pytest.mark.parametrize("shape", [LLAMA_SERVER, LEGACY])
def test_token_id_prompt_goes_out_as_ints_and_logprobs_come_back(shape: dict) -> None:
    sent: list[dict] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        sent.append(body(request))
        return httpx2.Response(200, json=completion_reply("ab", shape))

    client = mock_client(handler)
    result = client.complete([5, 6, 7], max_tokens=2, logprobs=2)
    assert sent[0]["prompt"] == [5, 6, 7] and sent[0]["logprobs"] == 2
    assert len(result.tokens) == 2 and result.tokens[0].top
    assert result.tokens[0].logprob == pytest.approx((shape is LEGACY and -0.1) or -0.2)
    assert (result.prompt_tokens, result.completion_tokens) == (4, 2)


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        ({"tokens": [1, 2, 3], "n_tokens": 3}, [1, 2, 3]),  # llama-server
        ({"tokens": [1, 2, 3], "count": 3, "max_model_len": 8}, [1, 2, 3]),  # vLLM
        ({"tokens": [{"id": 1, "piece": "a"}, {"id": 2, "piece": "b"}]}, [1, 2]),
    ],  # with_pieces
)
def test_tokenize_both_servers(reply: dict, expected: list[int]) -> None:
    paths: list[str] = []

    def tok(request: httpx.Request) -> httpx.Response:
        paths.append(request.url.path)
        if request.url.path == "/detokenize":
            return httpx.Response(200, json={"content": "abc"})
        return httpx.Response(200, json=reply)

    client = mock_client(lambda r: httpx2.Response(500), tokenizer=tok)
    assert client.tokenize("abc") == expected
    assert client.detokenize([1, 2]) == "abc"
    assert paths == ["/tokenize", "/detokenize"]  # at the server root, not under /v1


def test_detokenize_vllm_shape() -> None:
    client = mock_client(
        lambda r: httpx2.Response(500),
        tokenizer=lambda r: httpx.Response(200, json={"prompt": "xyz"}),
    )
    assert client.detokenize([1]) == "xyz"
