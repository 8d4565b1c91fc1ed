"""FunCoder's functional consensus on recorded execution matrices (hand-computed scores)."""

from __future__ import annotations

import json
import math
import random
from pathlib import Path

import pytest

from workbench.optimizers.codegen.funcoder import (
    CRASH_PENALTY,
    FIRM_FAILURE_PENALTY,
    Outcome,
    consensus_scores,
    outputs_equal,
    select_consensus,
)

CASES = json.loads((Path(__file__).parent / "data" / "consensus_matrices.json").read_text())[
    "cases"
]


def _matrix(rows: list[list[dict]]) -> list[list[Outcome]]:
    return [[Outcome.from_dict(cell) for cell in row] for row in rows]


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_recorded_matrix_scores(case: dict) -> None:
    result = select_consensus(_matrix(case["outcomes"]), case["firm"])
    assert result.scores == [float(s) for s in case["expected_scores"]]
    assert result.best == case["expected_best_unseeded"]
    assert result.tied == case["expected_tied"]


def test_penalty_weights_are_the_anchors() -> None:
    assert (CRASH_PENALTY, FIRM_FAILURE_PENALTY) == (-100.0, -10000.0)


def test_groups_are_reported_per_input() -> None:
    case = CASES[0]
    _, groups = consensus_scores(_matrix(case["outcomes"]))
    assert groups == [[[0, 1, 2], [3]], [[0, 1, 3]], [[0, 1, 2]]]


def test_firm_failure_counts_once_however_many_tests_fail() -> None:
    ok = Outcome.ok
    scores, _ = consensus_scores([[ok(1)], [ok(1)]], firm=[[False, False, False], [True]])
    assert scores == [1.0 - 10000.0, 1.0]


def test_seeded_tie_break_is_reproducible_and_spreads() -> None:
    outcomes = _matrix(CASES[-1]["outcomes"])
    picks = {seed: select_consensus(outcomes, seed=seed).best for seed in range(40)}
    assert all(p in (0, 1, 2, 3) for p in picks.values())
    assert len(set(picks.values())) > 1  # the RNG really breaks the tie
    assert all(select_consensus(outcomes, seed=s).best == picks[s] for s in range(40))
    assert select_consensus(outcomes, seed=None).best == 0


def test_caller_rng_is_used_and_advanced() -> None:
    outcomes = _matrix(CASES[-1]["outcomes"])
    rng = random.Random(7)
    first = [select_consensus(outcomes, seed=rng).best for _ in range(12)]
    again = random.Random(7)
    assert first == [again.choice([0, 1, 2, 3]) for _ in range(12)]


def test_no_tie_needs_no_randomness() -> None:
    rng = random.Random(3)
    state = rng.getstate()
    result = select_consensus([[Outcome.ok(1)], [Outcome.crash()]], seed=rng)
    assert result.best == 0
    assert rng.getstate() == state


def test_nan_outputs_agree_with_each_other_only() -> None:
    nan = float("nan")
    scores, groups = consensus_scores([[Outcome.ok(nan)], [Outcome.ok(nan)], [Outcome.ok(0.0)]])
    assert scores == [1.0, 1.0, 0.0]
    assert groups == [[[0, 1], [2]]]


@pytest.mark.parametrize(
    ("a", "b", "equal"),
    [
        (0.1 + 0.2, 0.3, True),
        (1, 1.0, True),
        (1.0, 1.001, False),
        (True, 1, False),
        (False, 0, False),
        (None, None, True),
        (None, 0, False),
        ([1, [2.0, {"x": 3}]], (1, (2, {"x": 3.0000000001})), True),
        ({"a": 1, "b": 2}, {"b": 2, "a": 1}, True),
        ({"a": 1}, {"a": 1, "b": 2}, False),
        ([1, 2], [1, 2, 3], False),
        (float("inf"), float("inf"), True),
        (float("inf"), float("-inf"), False),
        (float("nan"), float("nan"), True),
        ("1", 1, False),
        ({1, 2}, {2, 1}, True),
        (1e-12, 0.0, True),
    ],
)
def test_outputs_equal(a: object, b: object, equal: bool) -> None:
    assert outputs_equal(a, b) is equal
    assert outputs_equal(b, a) is equal


def test_tolerance_is_configurable() -> None:
    m = [[Outcome.ok(1.0)], [Outcome.ok(1.001)]]
    assert consensus_scores(m)[0] == [0.0, 0.0]
    assert consensus_scores(m, rel_tol=1e-2)[0] == [1.0, 1.0]


def test_unhashable_and_exotic_values() -> None:
    class Boom:
        def __eq__(self, other: object) -> bool:
            raise RuntimeError("no")

        __hash__ = None  # type: ignore[assignment]

    m = [[Outcome.ok([{"k": [1]}])], [Outcome.ok([{"k": [1]}])], [Outcome.ok(Boom())]]
    assert consensus_scores(m)[0] == [1.0, 1.0, 0.0]


def test_greedy_grouping_is_in_index_order() -> None:
    # 1.0 ~ 1.0000015 ~ 1.000003, but 1.0 !~ 1.000003 at rel_tol=2e-6: the chain is cut at the
    # first member of the first group, so candidate 2 starts its own group.
    m = [[Outcome.ok(1.0)], [Outcome.ok(1.0000015)], [Outcome.ok(1.000003)]]
    scores, groups = consensus_scores(m, rel_tol=2e-6)
    assert groups == [[[0, 1], [2]]]
    assert scores == [1.0, 1.0, 0.0]


def test_errors() -> None:
    with pytest.raises(ValueError, match="at least one candidate"):
        select_consensus([])
    with pytest.raises(ValueError, match="firm has 1 rows for 2 candidates"):
        consensus_scores([[Outcome.ok(1)], [Outcome.ok(1)]], firm=[[True]])
    with pytest.raises(ValueError, match="unknown outcome status 'oom'"):
        Outcome.from_dict({"status": "oom"})


def test_outcome_json_round_trip() -> None:
    for out in (Outcome.ok({"a": [1, 2.5]}), Outcome.crash(), Outcome.timeout()):
        assert Outcome.from_dict(json.loads(json.dumps(out.to_dict()))) == out
    assert math.isclose(Outcome.ok(2.5).value, 2.5)
