"""Normalise the two logprob shapes servers return into `TokenLogprob`s.

- legacy (OpenAI completions, vLLM): ``{"tokens": [...], "token_logprobs": [...],
  "top_logprobs": [{token: logprob, ...}, ...]}``; ids appear only as ``"token_id:123"`` tokens
  (vLLM's ``--return-tokens-as-token-ids``).
- chat style (OpenAI chat, llama-server's /v1/completions): ``{"content": [{"token", "id"?,
  "logprob", "top_logprobs": [{"token", "id"?, "logprob"}, ...]}, ...]}``.
"""

from __future__ import annotations

from typing import Any

from workbench.llm.types import TokenLogprob

__all__ = ["normalize_logprobs"]

_ID_PREFIX = "token_id:"


def normalize_logprobs(data: dict[str, Any] | None) -> list[TokenLogprob]:
    """One `TokenLogprob` per generated token, top alternatives sorted by logprob (best first)."""
    if not data:
        return []
    if data.get("content"):
        return [_from_chat_item(item) for item in data["content"]]
    tokens = data.get("tokens") or []
    values = data.get("token_logprobs") or []
    tops = data.get("top_logprobs") or []
    out = []
    for i, token in enumerate(tokens):
        text, tid = _split_id(token, None)
        top_map = tops[i] if i < len(tops) and tops[i] else {}
        top = [(*_split_id(t, None), float(lp)) for t, lp in top_map.items()]
        top.sort(key=lambda t: -t[2])
        lp = values[i] if i < len(values) and values[i] is not None else float("-inf")
        out.append(TokenLogprob(text, tid, float(lp), top))
    return out


def _from_chat_item(item: dict[str, Any]) -> TokenLogprob:
    text, tid = _split_id(item.get("token", ""), item.get("id"))
    top = []
    for alt in item.get("top_logprobs") or []:
        alt_text, alt_id = _split_id(alt.get("token", ""), alt.get("id"))
        top.append((alt_text, alt_id, float(alt["logprob"])))
    top.sort(key=lambda t: -t[2])
    return TokenLogprob(text, tid, float(item.get("logprob", float("-inf"))), top)


def _split_id(token: str, tid: Any) -> tuple[str, int | None]:
    if tid is None and token.startswith(_ID_PREFIX) and token[len(_ID_PREFIX) :].isdigit():
        return token, int(token[len(_ID_PREFIX) :])
    return token, None if tid is None else int(tid)
