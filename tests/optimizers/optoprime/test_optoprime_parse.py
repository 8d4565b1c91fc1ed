"""OptoPrime answer parsing: a table of model answers and the update or counted failure of each."""

# ruff: noqa: E501  (the answer table reads best one case per line)

from __future__ import annotations

import json
from typing import Any

import pytest

from workbench.optimizers.optoprime import REJECTION_KINDS, convert_value, parse_answer
from workbench.trace import Graph, ParameterNode, bundle, node, use_graph

NEW_CODE = "def solve(xs, k=1):\n    return sorted(xs)[:k]\n"


@pytest.fixture
def params() -> dict[str, ParameterNode]:
    """Variables as the model sees them: x0 float, n0 int, items0 list, ... __code_solve0."""
    with use_graph(Graph()):

        @bundle(trainable=True)
        def solve(xs, k=1):
            """Return the k smallest."""
            return xs[:k]

        found = {
            "x0": node(1.0, trainable=True, name="x"),
            "n0": node(3, trainable=True, name="n"),
            "items0": node([1, 2], trainable=True, name="items"),
            "cfg0": node({"depth": 2}, trainable=True, name="cfg"),
            "prompt0": node("Be brief.", trainable=True, name="prompt"),
            "flag0": node(False, trainable=True, name="flag"),
            "pair0": node((1, 2), trainable=True, name="pair"),
            "__code_solve0": solve.parameter,
        }
    found["prompt0"].path = "agent.prompt"
    assert all(p.name == name for name, p in found.items())
    return found


def ans(suggestion: Any, reasoning: str = "because") -> str:
    return json.dumps({"reasoning": reasoning, "suggestion": suggestion})


# (case id, model answer, expected updates {name: value}, expected rejections {kind: count})
CASES: list[tuple[str, Any, dict[str, Any], dict[str, int]]] = [
    ("well_formed", ans({"x0": 2.5}), {"x0": 2.5}, {}),
    ("fenced_json", f"```json\n{ans({'x0': 2.5})}\n```", {"x0": 2.5}, {}),
    ("fenced_plain", f"```\n{ans({'n0': 4})}\n```", {"n0": 4}, {}),
    ("prose_around", f"Sure! Here is my answer:\n{ans({'x0': -1})}\nHope this helps.", {"x0": -1.0}, {}),
    ("float_from_string", ans({"x0": "3"}), {"x0": 3.0}, {}),
    ("int_from_string", ans({"n0": "7"}), {"n0": 7}, {}),
    ("int_from_integral_float", ans({"n0": 7.0}), {"n0": 7}, {}),
    ("int_from_fraction", ans({"n0": 7.5}), {}, {"wrong_type": 1}),
    ("list_from_string", ans({"items0": "[1, 2, 3]"}), {"items0": [1, 2, 3]}, {}),
    ("list_as_list", ans({"items0": [3, 4]}), {"items0": [3, 4]}, {}),
    ("list_from_tuple_string", ans({"items0": "(5, 6)"}), {"items0": [5, 6]}, {}),
    ("list_from_word", ans({"items0": "abc"}), {}, {"wrong_type": 1}),
    ("tuple_from_list", ans({"pair0": [3, 4]}), {"pair0": (3, 4)}, {}),
    ("dict_from_string", ans({"cfg0": '{"depth": 5}'}), {"cfg0": {"depth": 5}}, {}),
    ("dict_as_dict", ans({"cfg0": {"depth": 1, "w": 2}}), {"cfg0": {"depth": 1, "w": 2}}, {}),
    ("dict_from_list", ans({"cfg0": [1]}), {}, {"wrong_type": 1}),
    ("str_as_str", ans({"prompt0": "Think step by step."}), {"prompt0": "Think step by step."}, {}),
    ("str_from_number", ans({"prompt0": 5}), {"prompt0": "5"}, {}),
    ("str_from_dict", ans({"prompt0": {"text": "hi"}}), {}, {"wrong_type": 1}),
    ("bool_from_string", ans({"flag0": "true"}), {"flag0": True}, {}),
    ("bool_from_int", ans({"flag0": 1}), {}, {"wrong_type": 1}),
    ("float_from_null", ans({"x0": None}), {}, {"wrong_type": 1}),
    ("unknown_name", ans({"x": 5}), {}, {"unknown_name": 1}),
    ("known_and_unknown", ans({"x0": 5, "y0": 1, "n": 2}), {"x0": 5.0}, {"unknown_name": 2}),
    ("path_alias", ans({"agent.prompt": "New."}), {"prompt0": "New."}, {}),
    ("wrong_top_keys", json.dumps({"answer": "x0 = 3", "changes": {"x0": 3}}), {}, {"unparseable": 1}),
    ("flat_answer", json.dumps({"reasoning": "r", "x0": 4}), {"x0": 4.0}, {}),
    ("suggestion_not_object", json.dumps({"reasoning": "r", "suggestion": "x0=3"}), {}, {"unparseable": 1}),
    ("truncated_json", '{"reasoning": "raise x", "suggestion": {"x0": 5', {}, {"unparseable": 1}),
    ("free_text", "I think x0 should be larger, maybe 5.", {}, {"unparseable": 1}),
    ("empty_answer", "", {}, {"unparseable": 1}),
    ("terminate", "TERMINATE", {}, {}),
    ("terminate_inside_reasoning", ans({"x0": 1}, "I will not TERMINATE"), {"x0": 1.0}, {}),
    ("python_literal_dict", "{'reasoning': 'r', 'suggestion': {'flag0': True}}", {"flag0": True}, {}),
    ("trailing_comma", '{"reasoning": "r", "suggestion": {"n0": 9,},}', {"n0": 9}, {}),
    ("duplicate_key", '{"reasoning": "r", "suggestion": {"x0": 1, "x0": 2}}', {"x0": 2.0}, {"duplicate": 1}),
    ("example_then_answer", 'Format: {"a": 1}. Answer: ' + ans({"n0": 1}), {"n0": 1}, {}),
    ("braces_in_strings", "Here: " + ans({"prompt0": "Use {name} and }{"}), {"prompt0": "Use {name} and }{"}, {}),
    ("empty_suggestion", ans({}), {}, {}),
    ("code_ok", ans({"__code_solve0": NEW_CODE}), {"__code_solve0": NEW_CODE}, {}),
    ("code_escaped_twice", ans({"__code_solve0": NEW_CODE.replace("\n", "\\n")}), {"__code_solve0": NEW_CODE}, {}),
    ("code_fenced_in_value", ans({"__code_solve0": f"```python\n{NEW_CODE}```"}), {"__code_solve0": NEW_CODE}, {}),
    ("code_with_import", ans({"__code_solve0": "import heapq\n\n" + NEW_CODE}), {"__code_solve0": "import heapq\n\n" + NEW_CODE}, {}),
    ("code_syntax_error", ans({"__code_solve0": "def solve(xs, k=1):\n    return sorted(xs)[:k\n"}), {}, {"syntax": 1}),
    ("code_signature_changed", ans({"__code_solve0": "def solve(xs):\n    return xs\n"}), {}, {"signature": 1}),
    ("code_renamed", ans({"__code_solve0": "def solver(xs, k=1):\n    return xs\n"}), {}, {"signature": 1}),
    ("code_made_async", ans({"__code_solve0": "async def solve(xs, k=1):\n    return xs\n"}), {}, {"signature": 1}),
    ("code_empty", ans({"__code_solve0": "  "}), {}, {"empty": 1}),
    ("code_not_string", ans({"__code_solve0": 42}), {}, {"wrong_type": 1}),
    ("code_ok_other_bad", ans({"__code_solve0": NEW_CODE, "n0": "many"}), {"__code_solve0": NEW_CODE}, {"wrong_type": 1}),
    ("structured_dict", {"reasoning": "r", "suggestion": {"items0": [9]}}, {"items0": [9]}, {}),
]  # fmt: skip


@pytest.mark.parametrize(
    ("answer", "updates", "rejected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_answer_table(
    params: dict[str, ParameterNode], answer: Any, updates: dict[str, Any], rejected: dict[str, int]
) -> None:
    result = parse_answer(answer, params.values())
    got = {p.name: v for p, v in result.updates.items()}
    assert got == updates
    for name, value in updates.items():
        assert type(got[name]) is type(value)
    assert result.counts() == rejected
    assert all(r.kind in REJECTION_KINDS for r in result.rejections)
    assert len(result.problems()) == sum(rejected.values())
    for r in result.rejections:
        if r.name is not None:
            assert r.name in r.message  # the feedback names the offending variable
    assert result.ok == ("unparseable" not in rejected)
    assert result.terminate == (answer == "TERMINATE")
    assert all(p.data == params[p.name].data for p in result.updates)  # nothing applied yet


def test_table_is_large_enough() -> None:
    assert len(CASES) >= 30
    assert {k for _, _, _, rej in CASES for k in rej} == set(REJECTION_KINDS)


def test_unknown_name_feedback_lists_valid_names(params: dict[str, ParameterNode]) -> None:
    (problem,) = parse_answer(ans({"x": 1}), params.values()).problems()
    assert "'x' is not a variable (did you mean 'x0'?)" in problem
    assert "__code_solve0" in problem


def test_apply_sets_only_accepted_updates(params: dict[str, ParameterNode]) -> None:
    result = parse_answer(ans({"x0": 4, "n0": "many", "__code_solve0": NEW_CODE}), params.values())
    result.apply()
    assert params["x0"].data == 4.0 and params["n0"].data == 3
    assert params["__code_solve0"].data == NEW_CODE


def test_unparseable_feedback_says_the_expected_format(params: dict[str, ParameterNode]) -> None:
    result = parse_answer("no json here", params.values())
    assert '"suggestion"' in result.problems()[0]
    assert result.raw == "no json here"


def test_reasoning_is_kept(params: dict[str, ParameterNode]) -> None:
    assert parse_answer(ans({"x0": 1}, "x must grow"), params.values()).reasoning == "x must grow"


@pytest.mark.parametrize(
    ("value", "current", "expected"),
    [("[1, 2]", [0], [1, 2]), ("{'a': 1}", {}, {"a": 1}), ("2", 1.5, 2.0), (3, None, 3),
     ("False", True, False), ([1, 1], {0}, {1})],
)  # fmt: skip
def test_convert_value_uses_literal_eval_rules(value: Any, current: Any, expected: Any) -> None:
    converted = convert_value(value, current)
    assert converted == expected and type(converted) is type(expected)


def test_convert_value_never_splits_strings_into_lists() -> None:
    with pytest.raises(ValueError, match="expected list"):
        convert_value("hello", ["h"])
