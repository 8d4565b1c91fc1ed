"""OptoPrime on traced parameters, driven by ScriptedLLM (no real model)."""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Iterator
from typing import Any

import pytest

import workbench.llm
from workbench.errors import BudgetExceeded, ConfigError
from workbench.llm import Budget, ChatRequest, LLMConfig, ScriptedLLM
from workbench.optimizers.optoprime import OptoPrime, answer_schema
from workbench.trace import Graph, backward, bundle, node


def _answer(suggestion: dict[str, Any], reasoning: str = "because") -> str:
    return json.dumps({"reasoning": reasoning, "suggestion": suggestion})


class Recorder:
    """A script that answers from a list and remembers every request."""

    def __init__(self, *answers: str) -> None:
        self.answers = list(answers)
        self.requests: list[ChatRequest] = []

    def __call__(self, request: Any) -> str:
        self.requests.append(request)
        return self.answers[min(len(self.requests), len(self.answers)) - 1]

    def user(self, i: int) -> str:
        return str(self.requests[i].messages[1]["content"])


@pytest.fixture
def graph() -> Any:
    with Graph("t").activate() as g:
        yield g


def test_a_step_changes_the_parameter_and_logs_it(graph: Graph) -> None:
    x = node(-1.0, trainable=True, name="x")
    script = Recorder(_answer({"x0": 4.0}, "the output is too small"))
    seen: list[dict[str, Any]] = []
    opt = OptoPrime([x], llm=ScriptedLLM(script), on_event=seen.append)
    backward(x * 2.0 + 1.0, "the output should be 9")
    assert opt.step() == {"updated": {"x0": 4.0}}
    assert x.data == 4.0
    kinds = [e["type"] for e in opt.log]
    assert kinds == ["optoprime_call", "optoprime_update"]
    assert opt.log[1]["changes"] == {"x0": {"old": -1.0, "new": 4.0}}
    assert opt.log[0]["reasoning"] == "the output is too small"
    assert seen == opt.log
    json.dumps(opt.log)  # the log is JSON
    prompt = script.user(0)
    assert "(float) x0=-1.0" in prompt and "the output should be 9" in prompt
    assert "add0 = add(x=multiply0, y=1.0)" in prompt
    # the schema sent lists exactly the variable names
    fmt = script.requests[0].response_format
    assert fmt is not None and fmt["type"] == "json_schema"
    sugg = fmt["json_schema"]["schema"]["$defs"]["Suggestion"]
    assert sugg["required"] == ["x0"] and sugg["additionalProperties"] is False


def test_propose_does_not_apply_and_update_takes_the_first_usable(graph: Graph) -> None:
    x = node(1.0, trainable=True, name="x")
    script = Recorder(_answer({"x0": 2.0}), _answer({"x0": 3.0}), _answer({"x0": 5.0}))
    opt = OptoPrime([x], llm=ScriptedLLM(script), temperatures=[0.0, 0.5, 1.0])
    backward(x * 3.0, "larger")
    suggestions = opt.propose()
    assert x.data == 1.0  # nothing applied yet
    assert [s.temperature for s in suggestions] == [0.0, 0.5, 1.0]
    assert sorted(r.temperature for r in script.requests) == [0.0, 0.5, 1.0]
    assert sorted(v for s in suggestions for v in s.named_updates().values()) == [2.0, 3.0, 5.0]
    chosen = max(suggestions, key=lambda s: s.named_updates()["x0"])
    opt.update(chosen)
    assert x.data == 5.0
    assert opt.counters["calls"] == 3 and opt.counters["updates"] == 1


def test_rejections_are_counted_logged_and_fed_back(graph: Graph) -> None:
    x = node(1.0, trainable=True, name="x")
    items = node([1, 2], trainable=True, name="items")
    script = Recorder(
        _answer({"y": 3.0, "x0": "not a number", "items0": "[3, 4]"}),
        _answer({"x0": 2.0, "items0": [5]}),
    )
    opt = OptoPrime([x, items], llm=ScriptedLLM(script), constrain_keys=False)
    backward(x + items.len(), "bigger")
    first = opt.propose()[0]
    assert first.named_updates() == {"items0": [3, 4]}  # a list stays a list
    assert first.result.counts() == {"unknown_name": 1, "wrong_type": 1}
    assert opt.counters["rejections"] == 2
    assert opt.counters["rejected:unknown_name"] == 1 and opt.counters["rejected:wrong_type"] == 1
    rejected = [e for e in opt.log if e["type"] == "optoprime_rejection"]
    assert {e["kind"] for e in rejected} == {"unknown_name", "wrong_type"}
    opt.update(first)
    assert x.data == 1.0 and items.data == [3, 4]
    opt.zero_feedback()
    backward(x + items.len(), "bigger still")
    opt.propose()
    again = script.user(1)
    assert "Your previous answer could not be used fully" in again
    assert "'y' is not a variable" in again and "x0: expected float" in again
    assert opt.problems == []  # the second answer was clean


def test_bad_code_and_broken_signature_are_rejected(graph: Graph) -> None:
    @bundle(trainable=True)
    def double(n):
        """Double n."""
        return n

    code = double.parameter
    assert code is not None
    script = Recorder(
        _answer({code.name: "def double(n):\n    return (n *\n"}),
        _answer({code.name: "def double(n, k):\n    return n * k\n"}),
        _answer({code.name: "def double(n):\n    return 2 * n\n"}),
    )
    opt = OptoPrime([code], llm=ScriptedLLM(script))
    for expected in ("syntax", "signature"):
        opt.zero_feedback()
        backward(double(node(3)), "should be 6")
        s = opt.propose()[0]
        assert list(s.result.counts()) == [expected] and not s.updates
        opt.update(s)
    assert double(node(3)).data == 3  # unchanged by rejected code
    opt.zero_feedback()
    backward(double(node(3)), "should be 6")
    opt.step()
    assert double(node(3)).data == 6
    assert opt.counters["rejected:syntax"] == 1 and opt.counters["rejected:signature"] == 1
    assert "must not change" in script.user(2)


def test_schema_validation_failure_falls_back_to_the_raw_answer(graph: Graph) -> None:
    x = node(1.0, trainable=True, name="x")
    # a key that the schema forbids: structured() fails (one repair call), the raw text is
    # still read and the unknown key counted
    script = Recorder(_answer({"x": 2.0}))
    opt = OptoPrime([x], llm=ScriptedLLM(script))
    backward(x * 1.0, "more")
    s = opt.propose()[0]
    assert s.result.counts() == {"unknown_name": 1}
    assert "did you mean 'x0'" in s.result.rejections[0].message
    assert len(script.requests) == 2  # the answer and the repair


def test_memory_shows_past_pairs_up_to_its_size(graph: Graph) -> None:
    x = node(0.0, trainable=True, name="x")
    script = Recorder(*[_answer({"x0": float(i)}) for i in range(1, 5)])
    opt = OptoPrime([x], llm=ScriptedLLM(script), memory_size=2)
    for i in range(4):
        opt.zero_feedback()
        backward(x + 0.0, f"feedback number {i}")
        opt.step()
    assert len(opt.memory) == 2
    assert [fb for _, fb in opt.memory] == ["feedback number 2", "feedback number 3"]
    last = script.user(3)
    assert "feedback you received for them in the past" in last
    assert '"feedback number 1"' in last and '"feedback number 2"' in last
    assert '"feedback number 0"' not in last
    assert "past" not in script.user(0)
    none = OptoPrime([x], llm=ScriptedLLM(Recorder(_answer({"x0": 1.0}))), memory_size=0)
    none.zero_feedback()
    backward(x + 0.0, "fb")
    none.step()
    assert len(none.memory) == 0


def test_long_values_are_truncated(graph: Graph) -> None:
    text = node("word " * 200, trainable=True, name="text")
    script = Recorder(_answer({"text0": "short"}))
    opt = OptoPrime([text], llm=ScriptedLLM(script), variable_limit=50, value_limit=40)
    backward(text.upper(), "too long")
    opt.step()
    prompt = script.user(0)
    assert "(truncated; 1000 characters in total)" in prompt
    assert prompt.count("word") < 30
    assert text.data == "short"


def test_state_round_trips_through_json(graph: Graph) -> None:
    x = node(1.0, trainable=True, name="x")
    script = Recorder(_answer({"x0": 2.0, "zz": 1}))
    opt = OptoPrime([x], llm=ScriptedLLM(script), memory_size=3, constrain_keys=False)
    backward(x * 2.0, "larger")
    opt.step()
    state = json.loads(json.dumps(opt.state()))
    assert state["values"] == {"x0": 2.0}
    with Graph("fresh").activate():
        y = node(1.0, trainable=True, name="x")
    other = OptoPrime([y], llm=ScriptedLLM(script), memory_size=3)
    other.load_state(state)
    assert y.data == 2.0
    assert list(other.memory) == list(opt.memory)
    assert other.problems == opt.problems and other.problems
    assert other.counters == opt.counters
    assert other.state() == state


def test_without_feedback_propose_says_what_to_do(graph: Graph) -> None:
    x = node(1.0, trainable=True, name="x")
    opt = OptoPrime([x], llm=ScriptedLLM(Recorder("{}")))
    with pytest.raises(ValueError, match="backward"):
        opt.propose()


def test_budget_exceeded_propagates(graph: Graph) -> None:
    x = node(1.0, trainable=True, name="x")
    llm = ScriptedLLM(Recorder(_answer({"x0": 2.0})), budget=Budget(calls=1))
    opt = OptoPrime([x], llm=llm)
    backward(x * 1.0, "more")
    opt.step()
    opt.zero_feedback()
    backward(x * 1.0, "more")
    with pytest.raises(BudgetExceeded):
        opt.step()


def test_json_mode_endpoint_still_gets_the_schema_in_the_prompt(graph: Graph) -> None:
    x = node(1.0, trainable=True, name="x")
    script = Recorder(_answer({"x0": 7.0}))
    opt = OptoPrime([x], llm=ScriptedLLM(script, supports_json_schema=False))
    backward(x * 1.0, "seven")
    opt.step()
    assert x.data == 7.0
    req = script.requests[0]
    assert req.response_format == {"type": "json_object"}
    assert re.search(r'"x0"', str(req.messages[-1]["content"]))


def test_answer_schema_types_follow_the_values(graph: Graph) -> None:
    @bundle(trainable=True)
    def f(a):
        return a

    params = [
        node(1, trainable=True, name="n"),
        node(True, trainable=True, name="b"),
        node([1], trainable=True, name="l"),
        node("s", trainable=True, name="s"),
        f.parameter,
    ]
    schema = answer_schema(params).model_json_schema()
    props = schema["$defs"]["Suggestion"]["properties"]
    assert {k: v["type"] for k, v in props.items()} == {
        "n0": "integer",
        "b0": "boolean",
        "l0": "array",
        "s0": "string",
        "__code_f0": "string",
    }


def test_docstring_example_runs() -> None:
    import doctest

    from workbench.optimizers.optoprime import optimizer as module

    with Graph("doc").activate():
        result = doctest.testmod(module, report=False)
    assert result.attempted > 0 and result.failed == 0


# -- which model: the default one, a model string, or the caller's client ------------------------


class Opener:
    """Stands in for `workbench.llm.open_llm` (how tests replace the default model): it yields a
    `ScriptedLLM` and records each config it opened and closed."""

    def __init__(self, script: Any) -> None:
        self.script = script
        self.opened: list[Any] = []
        self.closed: list[Any] = []

    @contextlib.contextmanager
    def __call__(self, config: Any, **_: Any) -> Iterator[ScriptedLLM]:
        self.opened.append(config)
        try:
            yield ScriptedLLM(self.script)
        finally:
            self.closed.append(config)


class ClosingLLM(ScriptedLLM):
    """A caller's client that remembers whether it was closed."""

    closed = False

    def close(self) -> None:
        self.closed = True
        super().close()


@pytest.fixture
def opener(monkeypatch: pytest.MonkeyPatch) -> Opener:
    fake = Opener(Recorder(_answer({"x0": 2.0})))
    monkeypatch.setattr(workbench.llm, "open_llm", fake)
    return fake


def test_without_llm_the_default_model_opens_on_the_first_call_and_closes_with_close(
    graph: Graph, opener: Opener
) -> None:
    x = node(1.0, trainable=True, name="x")
    opt = OptoPrime([x])
    assert opt.llm is None and opener.opened == []  # nothing starts before a call
    backward(x * 2.0, "the output should be 4")
    assert opt.step() == {"updated": {"x0": 2.0}}
    assert opener.opened == [LLMConfig()] and opener.closed == []
    backward(x * 2.0, "again")
    opt.step()
    assert len(opener.opened) == 1  # one model for every call
    opt.close()
    assert opener.closed == [LLMConfig()] and opt.llm is None
    opt.close()  # closing twice is harmless
    assert len(opener.closed) == 1


def test_a_model_string_is_opened_and_closed_by_the_with_block(
    graph: Graph, opener: Opener
) -> None:
    x = node(1.0, trainable=True, name="x")
    config = LLMConfig(model="endpoint:m", base_url="http://127.0.0.1:9/v1")
    for llm in ("local", config):
        with OptoPrime([x], llm=llm) as opt:
            backward(x * 2.0, "the output should be 4")
            opt.step()
        assert opener.opened[-1] == llm and opener.closed[-1] == llm
    assert x.data == 2.0


def test_a_bad_model_string_fails_when_the_optimizer_is_made(graph: Graph, opener: Opener) -> None:
    x = node(1.0, trainable=True, name="x")
    with pytest.raises(ConfigError, match="not understood"):
        OptoPrime([x], llm="gpt-4o")
    assert opener.opened == []


def test_a_client_passed_in_stays_the_callers(graph: Graph, opener: Opener) -> None:
    x = node(1.0, trainable=True, name="x")
    client = ClosingLLM(Recorder(_answer({"x0": 3.0})))
    with OptoPrime([x], llm=client) as opt:
        backward(x * 2.0, "the output should be 6")
        opt.step()
    assert x.data == 3.0 and opt.llm is client and not client.closed
    assert opener.opened == []  # the default model was never opened


def test_a_client_set_before_the_first_call_is_used_and_left_open(
    graph: Graph, opener: Opener
) -> None:
    """The loop's adapter makes the optimizer without a model and sets the run's client later."""
    x = node(1.0, trainable=True, name="x")
    opt = OptoPrime([x])
    client = ClosingLLM(Recorder(_answer({"x0": 5.0})))
    opt.llm = client
    backward(x * 2.0, "the output should be 10")
    opt.step()
    opt.close()
    assert x.data == 5.0 and opt.llm is client and not client.closed
    assert opener.opened == []
