"""Projected call counts: hand-computed formulas, and equality with what the selectors spend."""

from __future__ import annotations

import math

import pytest

from workbench.errors import ConfigError
from workbench.optimizers.prompt import ProtegiSettings, mutation_schedule, project_calls
from workbench.optimizers.prompt.exemplars import Exemplar, make_selector


def test_seed_instruction_only() -> None:
    p = project_calls(val_size=40, test_size=100)
    assert (p.task_calls, p.optimizer_calls, p.val_evaluations) == (140, 0, 1)


def test_ape_defaults_fill_the_budget() -> None:
    p = project_calls(val_size=50, instruction="ape")
    assert p.val_evaluations == 32 and p.optimizer_calls == 31 and p.task_calls == 32 * 50
    few = project_calls(val_size=50, instruction="ape", instruction_settings={"num_candidates": 8})
    assert (few.val_evaluations, few.optimizer_calls, few.task_calls) == (9, 8, 450)
    capped = project_calls(
        val_size=10, instruction="ape", instruction_settings={"num_candidates": 99}
    )
    assert capped.val_evaluations == 32 and capped.optimizer_calls == 31


def test_opro_steps_times_candidates() -> None:
    p = project_calls(val_size=20, instruction="opro")  # 4 per step, ceil(31/4) = 8 steps
    assert (p.val_evaluations, p.optimizer_calls) == (32, 31)
    s = project_calls(
        val_size=20, instruction="opro", instruction_settings={"steps": 3, "candidates_per_step": 8}
    )
    assert (s.val_evaluations, s.optimizer_calls, s.task_calls) == (25, 24, 500)


def test_protegi_rounds_beam_gradients_edits_minibatch() -> None:
    # Round 1: beam 1 (seed) -> 2 gradients + 4 edits, 16 minibatch calls; 27 left.
    # Round 2: beam 4 -> 4 x (2 + 4) calls, 4 x 16 minibatch; 11 left.
    # Round 3: 4 + 4 + 3 edits: (2+4) + (2+4) + (2+3); 3 x 16 minibatch; budget spent.
    p = project_calls(val_size=30, instruction="protegi")
    assert p.val_evaluations == 32
    assert p.optimizer_calls == 6 + 24 + 17
    assert p.minibatch_calls == 16 * (1 + 4 + 3)
    assert p.task_calls == 32 * 30 + p.minibatch_calls
    one = project_calls(val_size=30, instruction="protegi", instruction_settings={"rounds": 1})
    assert (one.val_evaluations, one.optimizer_calls, one.minibatch_calls) == (5, 6, 16)
    small = project_calls(
        val_size=30,
        instruction="protegi",
        instruction_settings=ProtegiSettings(rounds=2, beam=2, minibatch=64),
        train_size=10,
    )
    # round 1: 4 edits (1 + 4 = 5 prompts); round 2: beam 2 -> 8 edits; minibatch capped at 10
    assert (small.val_evaluations, small.optimizer_calls, small.minibatch_calls) == (13, 18, 30)


def test_heuristic_selectors_cost_one_report_evaluation() -> None:
    for name in ("random", "nearest", "diversity"):
        p = project_calls(val_size=50, selector=name, test_size=100)
        assert (p.val_evaluations, p.report_evaluations, p.task_calls) == (1, 1, 200), name
        assert p.optimizer_calls == 0


def test_search_selectors_and_exemplar_budget() -> None:
    rs = project_calls(val_size=50, selector="random_search")
    assert rs.val_evaluations == 1 + 32 and rs.task_calls == 33 * 50
    mut = project_calls(val_size=50, selector="mutation", exemplar_budget=20)
    assert mut.val_evaluations == 1 + 20
    small_pool = project_calls(val_size=50, selector="random_search", pool_size=4)
    assert small_pool.val_evaluations == 1 + math.perm(4, 3)
    combo = project_calls(val_size=50, instruction="protegi", selector="mutation", test_size=250)
    assert combo.val_evaluations == 64 and combo.task_calls == 64 * 50 + 16 * 8 + 250


def test_mutation_schedule() -> None:
    assert mutation_schedule(32) == (6, 5)
    assert mutation_schedule(32, population=4) == (4, 7)
    assert mutation_schedule(32, population=4, generations=2) == (4, 2)
    assert mutation_schedule(1) == (1, 0)


@pytest.mark.parametrize(
    ("name", "settings", "budget", "pool"),
    [
        ("random_search", {}, 32, 12),
        ("random_search", {"num_candidates": 7}, 32, 12),
        ("random_search", {"k": 2}, 32, 4),
        ("mutation", {}, 32, 12),
        ("mutation", {"population": 4}, 32, 12),
        ("mutation", {"population": 5, "generations": 2}, 32, 12),
        ("mutation", {}, 16, 12),
        ("mutation", {"k": 2}, 50, 30),
    ],
)
def test_projection_equals_the_evaluations_the_selector_makes(
    name: str, settings: dict, budget: int, pool: int
) -> None:
    exemplars = [
        Exemplar(f"question {i} about topic {i % 3}", f"o{i}", f"t{i}") for i in range(pool)
    ]
    calls = []
    selector = make_selector(name, exemplars, settings, seed=3, budget=budget)
    assert selector is not None
    selector.fit(lambda shots: calls.append(shots) or len(calls) % 7 / 7)
    projection = project_calls(
        val_size=10, selector=name, selector_settings=settings, exemplar_budget=budget,
        pool_size=pool,
    )  # fmt: skip
    assert projection.stages["exemplars"]["evaluations"] == len(calls) == selector.evaluations


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"instruction": "evoprompt"}, r"unknown instruction optimizer 'evoprompt'.*'ape'"),
        ({"selector": "knn"}, r"unknown exemplar selector 'knn'"),
        ({"instruction": "ape", "instruction_settings": {"n": 3}}, r"settings for .*'ape': n"),
        ({"instruction": "opro", "instruction_settings": {"steps": 0}}, r"steps"),
        ({"instruction": "none", "instruction_settings": {"x": 1}}, r"takes no settings"),
        ({"budget": 0}, r"budget=0"),
        ({"val_size": 0}, r"val_size=0"),
    ],
)
def test_bad_settings_are_config_errors(kwargs: dict, message: str) -> None:
    args = {"val_size": 10, **kwargs}
    with pytest.raises(ConfigError, match=message):
        project_calls(**args)


def test_projection_json_and_summary() -> None:
    p = project_calls(val_size=50, instruction="opro", selector="nearest", test_size=100)
    d = p.to_dict()
    assert d["task_calls"] == p.task_calls == (32 + 1) * 50 + 100
    assert d["stages"]["instruction"]["optimizer_calls"] == 31
    assert p.summary() == (
        "projected calls: 1750 task-model, 31 optimizer-model (33 validation prompt evaluations, "
        "1650 validation example-evaluations)"
    )
