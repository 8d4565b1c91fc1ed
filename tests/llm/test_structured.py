"""Structured output: json_schema, JSON-mode fallback, one repair call, typed failure."""

from __future__ import annotations

import httpx2
import pytest
from pydantic import BaseModel

from tests.llm._mock import body, chat_reply, mock_client
from workbench.errors import ModelAnswerError
from workbench.llm import CallRecord, MeteredLLM, ScriptedLLM


class Point(BaseModel):
    x: int
    y: int


MSGS = [{"role": "user", "content": "a point please"}]


def test_valid_answer_with_json_schema_format() -> None:
    seen = []

    def fn(request):
        seen.append(request)
        return '{"x": 1, "y": 2}'

    llm = ScriptedLLM(fn)
    result = llm.structured(MSGS, Point)
    assert result.ok and result.value == Point(x=1, y=2) and result.parse_failures == 0
    fmt = seen[0].response_format
    assert fmt["type"] == "json_schema" and fmt["json_schema"]["schema"]["required"] == ["x", "y"]
    assert llm.usage.parse_failures == 0 and llm.usage.calls == 1


def test_one_repair_call_shows_the_model_its_error() -> None:
    answers = iter(['{"x": 1}', '{"x": 1, "y": 5}'])
    seen = []

    def fn(request):
        seen.append(request)
        return next(answers)

    records: list[CallRecord] = []
    llm = ScriptedLLM(fn, on_call=records.append)
    result = llm.structured(MSGS, Point)
    assert result.ok and result.value == Point(x=1, y=5) and result.parse_failures == 1
    repair = seen[1]
    assert repair.kind == "repair"
    assert repair.messages[-2] == {"role": "assistant", "content": '{"x": 1}'}
    assert "y: Field required" in repair.messages[-1]["content"]
    assert llm.usage.parse_failures == 1  # counted even though the repair worked
    assert len(records) == 1 and records[0].kind == "structured" and not records[0].parse_failed
    assert records[0].completion_tokens == 2 + 4  # both answers are charged (words)


def test_failure_after_repair_is_a_typed_result_and_counted() -> None:
    llm = ScriptedLLM(lambda request: "not json at all")
    result = llm.structured(MSGS, Point)
    assert not result.ok and result.value is None
    assert result.raw == "not json at all" and "Invalid JSON" in (result.error or "")
    assert result.parse_failures == 2 and llm.usage.parse_failures == 2
    with pytest.raises(ModelAnswerError) as info:
        result.unwrap()
    assert info.value.raw == "not json at all"


def test_fenced_json_is_accepted() -> None:
    llm = ScriptedLLM(lambda request: '```json\n{"x": 3, "y": 4}\n```')
    assert llm.structured(MSGS, Point).value == Point(x=3, y=4)


def test_json_mode_when_the_backend_has_no_json_schema() -> None:
    seen = []

    def fn(request):
        seen.append(request)
        return '{"x": 0, "y": 0}'

    llm = ScriptedLLM(fn, supports_json_schema=False)
    assert llm.structured(MSGS, Point).ok
    assert seen[0].response_format == {"type": "json_object"}
    assert '"required"' in seen[0].messages[-1]["content"]  # the schema travels in the prompt


def test_endpoint_rejecting_json_schema_falls_back_to_json_mode() -> None:
    formats = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        fmt = body(request)["response_format"]
        formats.append(fmt["type"])
        if fmt["type"] == "json_schema":
            return httpx2.Response(
                500,
                json={
                    "error": {"message": "response_format type must be one of text, json_object"}
                },
            )
        return httpx2.Response(200, json=chat_reply('{"x": 7, "y": 8}'))

    llm = MeteredLLM(mock_client(handler))
    result = llm.structured(MSGS, Point)
    assert formats == ["json_schema", "json_object"]
    assert result.value == Point(x=7, y=8)
