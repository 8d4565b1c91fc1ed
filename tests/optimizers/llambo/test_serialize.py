"""Prompt serialisation of every parameter type round-trips, and ranges keep their values."""

from __future__ import annotations

import json
import random
import re

import pytest

from workbench.optimizers.llambo import (
    answer_schemas,
    check_config,
    check_row,
    clip_row,
    config_row,
    config_text,
    describe_space,
    format_value,
    parse_config,
    snap,
    snap_config,
)
from workbench.tasks.hpo import CategoricalParam, FloatParam, IntParam

SPACE = {
    "lin": FloatParam(type="float", low=0.0, high=0.5),
    "tiny": FloatParam(type="float", low=0.0, high=1e-6),
    "logf": FloatParam(type="float", low=1e-4, high=1e-3, log=True),
    "wide": FloatParam(type="float", low=1e-5, high=10.0, log=True),
    "stepf": FloatParam(type="float", low=0.0, high=0.5, step=0.1),
    "neg": FloatParam(type="float", low=-3.0, high=-1e-3),
    "i": IntParam(type="int", low=1, high=15),
    "ilog": IntParam(type="int", low=1, high=1024, log=True),
    "istep": IntParam(type="int", low=8, high=64, step=8),
    "cat": CategoricalParam(type="categorical", choices=["a", None, 1, True, 2.5]),
}


def _random(rng: random.Random) -> dict:
    return {
        "lin": rng.uniform(0, 0.5) * rng.choice([1, 1e-4, 1e-9]),
        "tiny": rng.uniform(0, 1e-6),
        "logf": 10 ** rng.uniform(-4, -3),
        "wide": 10 ** rng.uniform(-5, 1),
        "stepf": rng.choice([0.0, 0.1, 0.2, 0.30000000000000004, 0.4, 0.5]),
        "neg": rng.uniform(-3, -1e-3),
        "i": rng.randint(1, 15),
        "ilog": rng.randint(1, 1024),
        "istep": rng.choice(range(8, 65, 8)),
        "cat": rng.choice(["a", None, 1, True, 2.5]),
    }


def test_every_type_round_trips_through_the_prompt_text() -> None:
    rng = random.Random(0)
    for _ in range(300):
        config = snap_config(_random(rng), SPACE)
        text = config_text(config, SPACE)
        assert parse_config(text, SPACE) == config
        assert json.loads(text).keys() == SPACE.keys()  # the prompt form is valid JSON
        again = snap_config(config, SPACE)
        assert again == config  # snapping is idempotent
        for name, spec in SPACE.items():
            assert spec.check(config[name]) is None, (name, config[name])


def test_values_keep_three_significant_digits_and_near_zero_survives() -> None:
    assert snap(0.000123456789, SPACE["lin"]) == 0.000123
    assert format_value(1.23456789e-7, SPACE["tiny"]) == "1.23e-7"
    assert format_value(0.000123456789, SPACE["logf"]) == "1.23e-4"
    assert format_value(48.2345, SPACE["wide"]) == "48.2"  # plain in [1e-3, 1e4)
    assert format_value(0.001, SPACE["wide"]) == "0.001"
    assert format_value(0.41234, SPACE["lin"]) == "0.412"
    assert snap(0.3000001, SPACE["stepf"]) == pytest.approx(0.3)
    assert format_value(None, SPACE["cat"]) == "null" and format_value(True, SPACE["cat"]) == "true"
    assert snap(0.5000000001, SPACE["lin"]) == 0.5  # rounding never leaves the range


def test_range_lines_never_collapse() -> None:
    text = describe_space(SPACE)
    assert "- lin: float, in [0, 0.5]" in text
    assert "- tiny: float, in [0, 1e-6]" in text
    assert "- logf: float, log scale, in [1e-4, 0.001]" in text
    assert "- wide: float, log scale, in [1e-5, 10]" in text
    assert "- i: integer, in [1, 15]" in text
    assert "- istep: integer, step 8, in [8, 64]" in text
    assert '- cat: one of ["a", null, 1, true, 2.5]' in text
    assert "[0, 0]" not in text


@pytest.mark.parametrize(
    ("config", "why"),
    [
        ({"i": 16}, "i: outside"),
        ({"i": 2.5}, "i: not an integer"),
        ({"istep": 12}, "istep: not low"),
        ({"logf": 0.01}, "logf: outside"),
        ({"cat": "b"}, "cat: not one of"),
        ({"lin": "abc"}, "lin: not a number"),
        ({"lin": float("nan")}, "lin: not finite"),
        ({"extra": 1}, "unknown parameters"),
    ],
)
def test_out_of_space_values_are_rejected_with_the_reason(config: dict, why: str) -> None:
    base = snap_config(_random(random.Random(1)), SPACE)
    got, reason = check_config({**base, **config}, SPACE)
    assert got is None and reason is not None and why in reason


def test_missing_parameter_and_non_object_are_rejected() -> None:
    base = snap_config(_random(random.Random(2)), SPACE)
    del base["i"]
    assert check_config(base, SPACE) == (None, "i: missing")
    assert check_config([1, 2], SPACE)[0] is None


# llama.cpp's grammar for a JSON number (common/json-schema-to-grammar.cpp): an exponent is an
# integer without leading zeros, so Python's "1e-04" is a number a constrained model cannot write
_INTEGRAL = r"(0|[1-9][0-9]{0,15})"
_GRAMMAR_NUMBER = re.compile(rf"-?{_INTEGRAL}(\.[0-9]{{1,16}})?([eE][-+]?{_INTEGRAL})?")


def test_every_number_shown_can_be_written_back_under_the_json_grammar() -> None:
    rng = random.Random(6)
    shown = [describe_space(SPACE)]
    for _ in range(300):
        shown.append(config_row(snap_config(_random(rng), SPACE), SPACE))
    numbers = re.findall(r"-?\d[\d.]*(?:[eE][-+]?\d+)?", "\n".join(shown))
    assert any("e-" in n for n in numbers) and any("." in n for n in numbers)
    bad = sorted({n for n in numbers if not _GRAMMAR_NUMBER.fullmatch(n)})
    assert not bad, bad[:10]


def test_every_type_round_trips_through_an_answer_row() -> None:
    rng = random.Random(4)
    configs, _ = answer_schemas(SPACE)
    for _ in range(200):
        config = snap_config(_random(rng), SPACE)
        row = config_row(config, SPACE)
        answer = configs.model_validate_json('{"configs": [' + row + "]}")
        back, why = check_row(answer.model_dump(mode="json")["configs"][0], SPACE)
        assert why is None and back == config


def test_rows_of_the_wrong_length_or_shape_are_rejected() -> None:
    row = list(snap_config(_random(random.Random(5)), SPACE).values())
    assert check_row(row[:-1], SPACE) == (None, "9 values for 10 parameters")
    assert check_row("abc", SPACE)[0] is None
    assert "i: outside" in str(check_row([*row[:6], 99, *row[7:]], SPACE)[1])


def test_answer_schemas_type_every_parameter() -> None:
    configs, predictions = answer_schemas(SPACE, max_configs=2)
    schema = configs.model_json_schema()["properties"]["configs"]
    assert schema["maxItems"] == 2
    items = schema["items"]["prefixItems"]
    assert [p.get("type") for p in items[6:9]] == ["integer"] * 3
    assert items[0]["type"] == "number" and items[9]["enum"] == ["a", None, 1, True, 2.5]
    ok = configs.model_validate(
        {"configs": [list(snap_config(_random(random.Random(3)), SPACE).values())]}
    )
    assert len(ok.configs) == 1
    assert predictions.model_validate({"predictions": [0.5, 1]}).predictions == [0.5, 1.0]


def test_clip_row_clamps_numbers_and_gives_up_on_bad_choices() -> None:
    row = list(snap_config(_random(random.Random(6)), SPACE).values())
    names = list(SPACE)
    bad = dict(zip(names, row, strict=True)) | {"i": 40, "lin": -1.0, "istep": 70, "logf": 5.0}
    got = clip_row(bad, SPACE)
    assert got is not None and (got["i"], got["lin"], got["istep"], got["logf"]) == (
        15,
        0.0,
        64,
        1e-3,
    )
    assert check_config(got, SPACE)[1] is None
    assert clip_row(bad | {"cat": "zzz"}, SPACE) is None
    assert clip_row(bad | {"i": "x"}, SPACE) is None and clip_row(row[:3], SPACE) is None
