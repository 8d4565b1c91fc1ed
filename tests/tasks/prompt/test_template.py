"""Prompt template rendering (text and chat) and token estimates."""

from __future__ import annotations

import pytest

from workbench.errors import ConfigError
from workbench.optimizers.prompt.exemplars import Exemplar
from workbench.tasks.prompt import PromptTemplate, Shot, estimate_tokens

SHOTS = [
    Exemplar("2+2?", "2 plus 2 is 4. So the answer is 4.", "4"),
    Exemplar("5-3?", "5 minus 3 is 2. So the answer is 2.", "2"),
]


def test_text_with_reasoning_exemplars() -> None:
    text = PromptTemplate().render_text("Solve it.", SHOTS, "7*6?")
    assert text == (
        "Solve it.\n\n"
        "Q: 2+2?\nA: 2 plus 2 is 4. So the answer is 4.\n\n"
        "Q: 5-3?\nA: 5 minus 3 is 2. So the answer is 2.\n\n"
        "Q: 7*6?\nA:"
    )


def test_text_without_reasoning_uses_targets() -> None:
    text = PromptTemplate(with_reasoning=False).render_text("Solve it.", SHOTS, "7*6?")
    assert "Q: 2+2?\nA: 4\n\nQ: 5-3?\nA: 2\n\nQ: 7*6?\nA:" in text
    assert "plus" not in text


def test_zero_shot_and_empty_instruction_leave_no_stray_lines() -> None:
    assert PromptTemplate().render_text("Solve it.", [], "7*6?") == "Solve it.\n\nQ: 7*6?\nA:"
    assert PromptTemplate().render_text("", [], "7*6?") == "Q: 7*6?\nA:"


def test_custom_template_and_literal_braces() -> None:
    t = PromptTemplate(
        template="### Task\n{instruction}\n### Examples {{json}}\n{exemplars}### Input\n{input}",
        exemplar_format="IN: {input} OUT: {output}",
        separator="\n",
    )
    text = t.render_text("Do it.", [Shot("a {b}", "c")], "d")
    assert text == "### Task\nDo it.\n### Examples {json}\nIN: a {b} OUT: c\n### Input\nd"


def test_chat_messages() -> None:
    msgs = PromptTemplate().render_messages("Solve it.", SHOTS, "7*6?")
    assert [m["role"] for m in msgs] == ["system", "user", "assistant", "user", "assistant", "user"]
    assert msgs[0]["content"] == "Solve it."
    assert msgs[2]["content"] == SHOTS[0].output
    assert msgs[-1] == {"role": "user", "content": "7*6?"}
    bare = PromptTemplate(with_reasoning=False).render_messages("", SHOTS[:1], "x")
    assert bare == [
        {"role": "user", "content": "2+2?"},
        {"role": "assistant", "content": "4"},
        {"role": "user", "content": "x"},
    ]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"template": "{instruction} {input}"}, r"missing placeholder\(s\) \['exemplars'\]"),
        ({"template": "{instruction}{exemplars}{input}{extra}"}, r"unknown placeholder.*extra"),
        ({"template": "{instruction}{exemplars}{input} {"}, r"literal braces"),
        ({"exemplar_format": "Q: {input}"}, r"exemplar_format: missing.*output"),
    ],
)
def test_bad_templates(kwargs: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        PromptTemplate(**kwargs)


def test_token_estimates() -> None:
    assert estimate_tokens("") == 0
    assert estimate_tokens("a" * 40) == 10  # chars / 4
    assert estimate_tokens("a b c d e f") == 6  # never below the word count
    assert estimate_tokens("hello world", tokenizer=lambda s: list(range(3))) == 3
    t = PromptTemplate()
    few = t.estimate_tokens("Solve it.", SHOTS, "7*6?")
    zero = t.estimate_tokens("Solve it.", [], "7*6?")
    assert few > zero > 0
