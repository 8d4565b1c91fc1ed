"""Scorers on tricky outputs: extra prose, option letters, whitespace, numbers, several answers."""

from __future__ import annotations

from pathlib import Path

import pytest

from workbench.errors import ConfigError
from workbench.tasks.prompt import (
    ExactMatch,
    FunctionScorer,
    MultipleChoice,
    NormalizedMatch,
    NumericMatch,
    RegexMatch,
    bbh_scorer,
    extract_answer,
    list_bbh_tasks,
    load_bbh,
    make_scorer,
    parse_options,
)

DATE = load_bbh("date_understanding")[0]  # target (B) = 12/25/1937
NAVIGATE_INPUT = "Take 1 step. Take 1 step back.\nOptions:\n- Yes\n- No"
FALLACY_INPUT = "Is the argument valid?\nOptions:\n- valid \n- invalid"


@pytest.mark.parametrize(
    ("output", "expected"),
    [
        ("So the answer is (B).", "(B)"),
        ("the answer is (A). On reflection, the answer is **12/25/1937**.", "12/25/1937"),
        ("Step 1 ... So the answer is 24.\n", "24"),
        ("Reasoning.\nAnswer: False", "False"),
        ("The answer is: 'valid'.", "valid"),
        ("So the answer is -50.", "-50"),
        ("The answer is - 7", "7"),
        ("no marker here", None),
        ("The answer is:\n\n(C)\nbecause ...", "(C)"),
        ("The answer is", None),
    ],
)
def test_extract_answer_takes_the_last_answer_is(output: str, expected: str | None) -> None:
    assert extract_answer(output) == expected


def test_parse_options_letters_and_dashes() -> None:
    assert parse_options(DATE.input)["B"] == "12/25/1937"
    assert len(parse_options(DATE.input)) == 6
    assert parse_options(FALLACY_INPUT) == {"valid": "valid", "invalid": "invalid"}
    assert parse_options("no options at all") == {}


@pytest.mark.parametrize(
    "output",
    [
        "(B)",
        "B",
        " b ",
        "The answer is (b).",
        "Answer: B) 12/25/1937",
        "12/25/1937",
        "The date tomorrow is 12/25/1937.",
        "Let's think step by step. Christmas is 12/25. So the answer is (B).",
        "So the answer is (A). Wait, that is today. So the answer is (B).",
        "Option B is correct.",
        "I think B.",
        "(B) 12/25/1937\n\nExplanation: Christmas Eve (A) is today, so (C) is wrong.",
        "**(B)** because (A) is today",
        "The correct answer is **(B)**.",
        "Tomorrow is December 25, 1937, which is option (B).",
    ],
)
def test_multiple_choice_reads_the_option_letter(output: str) -> None:
    result = MultipleChoice()(output, DATE.target, DATE.input)
    assert (result.score, result.extracted) == (1.0, "(B)")


@pytest.mark.parametrize(
    ("output", "extracted"),
    [
        ("(A)", "(A)"),
        ("A man would say (C).", "(C)"),
        ("So the answer is (B). Hmm, no: the answer is (D).", "(D)"),
        ("12/11/1937", "(A)"),
        ("a", "(A)"),
    ],
)
def test_multiple_choice_wrong_answers_score_zero(output: str, extracted: str) -> None:
    result = MultipleChoice()(output, DATE.target, DATE.input)
    assert (result.score, result.extracted) == (0.0, extracted)


def test_multiple_choice_no_option_found() -> None:
    for output in ("A man walks in.", "I am not sure.", "", "(Z)"):
        assert MultipleChoice()(output, DATE.target, DATE.input).extracted is None, output


def test_multiple_choice_dash_options_and_substring_words() -> None:
    mc = MultipleChoice()
    assert mc("No, you end up elsewhere.", "No", NAVIGATE_INPUT).score == 1.0
    assert mc("So the answer is Yes.", "No", NAVIGATE_INPUT).extracted == "Yes"
    assert mc("The argument is invalid.", "invalid", FALLACY_INPUT).score == 1.0
    # "valid" is not found inside "invalid", and the longer option wins at the start.
    assert mc("invalid, because premise 2 is valid", "invalid", FALLACY_INPUT).score == 1.0
    assert mc("So the answer is valid.", "invalid", FALLACY_INPUT).extracted == "valid"


def test_multiple_choice_target_given_as_option_text() -> None:
    inp = "Pick one\nOptions:\n(A) Monsters\n(B) Inc\n(C) Up"
    assert MultipleChoice()("(C)", "Up", inp).score == 1.0
    assert MultipleChoice()("(A)", "Monsters, Inc", inp).score == 0.0  # upstream BBH quirk


def test_multiple_choice_fixed_labels() -> None:
    mc = MultipleChoice(options=["True", "False"])
    assert mc("not True is False. So the answer is False.", "False").score == 1.0
    assert mc("True", "False").extracted == "True"


def test_multiple_choice_extract_modes() -> None:
    strict = MultipleChoice(extract="answer_is")
    assert strict("(B)", DATE.target, DATE.input).score == 0.0
    assert strict("so the answer is (B)", DATE.target, DATE.input).score == 1.0
    whole = MultipleChoice(extract="none")
    assert whole("the answer is (A) or maybe (B)", DATE.target, DATE.input).extracted == "(B)"


def test_exact_match_collapses_whitespace_only() -> None:
    assert ExactMatch()("  ] \n ]  ", "] ]").score == 1.0
    assert ExactMatch()("So the answer is ] ] >.", "] ] >").score == 1.0
    assert ExactMatch()("]]", "] ]").score == 0.0
    assert ExactMatch()("false", "False").score == 0.0


def test_normalized_match_ignores_case_punctuation_articles() -> None:
    nm = NormalizedMatch()
    assert nm("  The   Apple, pie! ", "apple pie").score == 1.0
    assert nm("So the answer is: False.", "False").score == 1.0
    assert nm("apple tart", "apple pie").score == 0.0
    assert nm("So the answer is syndrome therefrom.", "syndrome therefrom").extracted == (
        "syndrome therefrom"
    )


@pytest.mark.parametrize(
    ("output", "target", "score", "extracted"),
    [
        ("So the answer is 1,234 apples.", "1234", 1.0, "1234"),
        ("I have 3 pianos and 5 drums, so 8 instruments.", "8", 1.0, "8"),
        ("(-1 + 2) = 1, then 1 * -50 = -50. So the answer is -50.", "-50", 1.0, "-50"),
        ("The total is $12.50", "12.5", 1.0, "12.5"),
        ("I count eight instruments.", "8", 1.0, "8"),
        ("So the answer is 7. Double-check: 3 + 4 = 7", "7", 1.0, "7"),
        ("Counting: 1, 2, 3. So the answer is 3.", "3", 1.0, "3"),
        ("There are 12 in total.", "13", 0.0, "12"),
        ("I do not know.", "8", 0.0, None),
    ],
)
def test_numeric_takes_the_final_number(
    output: str, target: str, score: float, extracted: str | None
) -> None:
    result = NumericMatch()(output, target)
    assert (result.score, result.extracted) == (score, extracted)


def test_regex_first_or_last_match() -> None:
    last = RegexMatch(r"#### (\S+)")
    assert last("#### 3 then #### 4", "4").score == 1.0
    first = RegexMatch(r"#### (\S+)", which="first")
    assert first("#### 3 then #### 4", "4") == first("#### 3 then #### 4", "x").__class__(0.0, "3")
    assert RegexMatch(r"\d+")("none", "1").extracted is None
    assert RegexMatch(r"<(.*?)>", compare="exact")("<yes>", "Yes").score == 0.0
    assert RegexMatch(r"<(.*?)>")("<yes.>", "Yes").score == 1.0


def test_regex_bad_pattern_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match=r"does not compile"):
        RegexMatch("(unclosed")


def test_function_scorer_module_function() -> None:
    scorer = make_scorer("tests.tasks.prompt._scorer_fns:startswith_target")
    assert scorer("Yes, it is.", "yes").score == 1.0
    assert scorer("No.", "yes").score == 0.0
    with_input = make_scorer("python:tests.tasks.prompt._scorer_fns:partial_with_input")
    assert with_input("it is 5", "5", "half credit") == with_input("it is 5", "5", "").__class__(
        0.5, "5"
    )
    assert with_input("it is 5", "5", "full").score == 1.0
    assert FunctionScorer(lambda o, t: o == t)("a", "a").score == 1.0


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("tests.tasks.prompt._missing_mod:fn", r"cannot import"),
        ("tests.tasks.prompt._scorer_fns:nope", r"has no function 'nope'"),
        ("tests.tasks.prompt._scorer_fns:not_callable", r"has no function"),
        ("python::fn", r"module:function"),
    ],
)
def test_function_scorer_bad_specs(spec: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        make_scorer(spec)


def test_function_scorer_from_a_file_or_module_next_to_the_task(tmp_path: Path) -> None:
    (tmp_path / "my_scorer.py").write_text(
        "def score(output, target):\n    return output.strip() == target[::-1]\n"
    )
    (tmp_path / "other_scorer_mod.py").write_text(
        "def half(output, target, input):\n    return 0.5, input\n"
    )
    by_file = make_scorer("my_scorer.py:score", base_dir=tmp_path)
    assert by_file("cba", "abc").score == 1.0
    by_module = make_scorer({"name": "python", "function": "other_scorer_mod:half"}, tmp_path)
    assert by_module("x", "y", "the input") == by_module("x", "y", "q").__class__(0.5, "the input")
    with pytest.raises(ConfigError, match=r"file .*missing.py' does not exist"):
        make_scorer("missing.py:score", base_dir=tmp_path)
    (tmp_path / "broken.py").write_text("raise RuntimeError('boom')\n")
    with pytest.raises(ConfigError, match=r"broken.py failed to load.*boom"):
        make_scorer("broken.py:score", base_dir=tmp_path)


def test_function_scorer_bad_return_value() -> None:
    scorer = make_scorer("tests.tasks.prompt._scorer_fns:out_of_range")
    with pytest.raises(ConfigError, match=r"returned 2.0"):
        scorer("a", "b")


def test_make_scorer_names_and_mappings() -> None:
    assert isinstance(make_scorer("numeric"), NumericMatch)
    regex = make_scorer({"name": "regex", "pattern": r"=(\d+)", "which": "first"})
    assert regex("=1 =2", "1").score == 1.0
    fn = make_scorer(
        {"name": "python", "function": "tests.tasks.prompt._scorer_fns:startswith_target"}
    )
    assert fn("yes", "yes").score == 1.0
    with pytest.raises(ConfigError, match=r"unknown scorer 'fuzzy'"):
        make_scorer("fuzzy")
    with pytest.raises(ConfigError, match=r"scorer 'regex': bad arguments"):
        make_scorer({"name": "regex", "pattern": "x", "wich": "first"})
    with pytest.raises(ConfigError, match=r"extract='maybe'"):
        NumericMatch(extract="maybe")  # type: ignore[arg-type]


def test_scores_are_floats_in_unit_interval_on_every_bbh_task() -> None:
    # Gold targets, and targets wrapped in CoT prose, score 1 with each task's default scorer.
    for task in list_bbh_tasks():
        scorer = bbh_scorer(task)
        for ex in load_bbh(task)[:20]:
            if task in ("movie_recommendation", "ruin_names") and not ex.target.startswith("("):
                continue  # upstream rows whose target is not among the options
            for output in (ex.target, f"Let me think.\nSo the answer is {ex.target}."):
                result = scorer(output, ex.target, ex.input)
                assert result.score == 1.0, (task, output, result)


def test_bbh_scorer_kinds() -> None:
    assert isinstance(bbh_scorer("object_counting"), NumericMatch)
    assert isinstance(bbh_scorer("dyck_languages"), ExactMatch)
    assert isinstance(bbh_scorer("word_sorting"), NormalizedMatch)
    assert isinstance(bbh_scorer("snarks"), MultipleChoice)
    assert bbh_scorer("sports_understanding")("No, that is implausible.", "no").score == 1.0
