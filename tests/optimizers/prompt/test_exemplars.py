"""The exemplar pool holds only verified-correct outputs; each selector's picks on a fixed pool."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from workbench.errors import ConfigError
from workbench.optimizers.prompt.exemplars import (
    DiversitySelector,
    Exemplar,
    ExemplarPool,
    MutationSelector,
    NearestSelector,
    RandomSearchSelector,
    RandomSelector,
    make_selector,
    selector_names,
)
from workbench.tasks.prompt import Example, bbh_scorer, load_bbh, make_scorer

# --- pool -------------------------------------------------------------------------------------


def test_pool_accepts_only_verified_correct_outputs() -> None:
    pool = ExemplarPool()
    mc = bbh_scorer("date_understanding")
    date = load_bbh("date_understanding")[:3]
    assert pool.add(date[0].input, "Christmas is 12/25. So the answer is (B).", "(B)", mc)
    assert not pool.add(date[1].input, "So the answer is (Z).", date[1].target, mc)
    assert not pool.add(date[2].input, "I am not sure.", date[2].target, mc)
    assert [e.input for e in pool.model] == [date[0].input]
    assert pool.model[0].output.startswith("Christmas is 12/25.")  # reasoning kept
    assert pool.model[0].source == "model"


def test_pool_rejects_partial_credit_and_accepts_plain_callables() -> None:
    pool = ExemplarPool()
    assert not pool.add("q1", "o", "t", lambda o, t, i: 0.99)
    assert not pool.add("q2", "o", "t", lambda o, t, i: False)
    assert pool.add("q3", "o", "t", lambda o, t, i: True)
    assert pool.add("q4", "o", "t", lambda o, t, i: 1.0)
    assert len(pool) == 2


def test_pool_dedupes_by_input_keeping_the_first() -> None:
    pool = ExemplarPool()
    numeric = make_scorer("numeric")
    assert pool.add("2+2?", "So the answer is 4.", "4", numeric)
    assert not pool.add("2+2?", "Four, i.e. 4", "4", numeric)
    assert [e.output for e in pool.model] == ["So the answer is 4."]


def test_harvest_a_validation_run() -> None:
    pool = ExemplarPool()
    val = [Example("1+1", "2"), Example("2+2", "4"), Example("3+3", "6")]
    outputs = ["So the answer is 2.", "So the answer is 5.", "6"]
    assert pool.harvest(val, outputs, make_scorer("numeric")) == 2
    assert [e.input for e in pool.model] == ["1+1", "3+3"]
    assert pool.harvest(val, outputs, make_scorer("numeric")) == 0  # second run: duplicates
    with pytest.raises(ValueError):
        pool.harvest(val, outputs[:2], make_scorer("numeric"))


def test_labelled_pairs_are_a_separate_source() -> None:
    pool = ExemplarPool()
    pool.add("a", "So the answer is 1.", "1", make_scorer("numeric"))
    assert pool.add_examples([Example("a", "1"), Example("b", "2"), Example("c", "3")]) == 3
    assert pool.add_examples([Example("b", "2")]) == 0
    assert len(pool) == 1 and [e.input for e in pool.labelled] == ["a", "b", "c"]
    assert pool.labelled[1] == Exemplar("b", "2", "2", "label")
    assert [e.input for e in pool.candidates()] == ["a"]
    assert [e.input for e in pool.candidates(min_size=2)] == ["a", "b"]  # top-up, no duplicate
    assert [e.input for e in pool.candidates(source="both")] == ["a", "b", "c"]
    assert [e.input for e in pool.candidates(source="label")] == ["a", "b", "c"]


def test_pool_json_round_trip(tmp_path: Path) -> None:
    pool = ExemplarPool()
    pool.add("q", "So the answer is 3.", "3", make_scorer("numeric"))
    pool.add_labelled("r", "4")
    path = tmp_path / "pool.json"
    pool.save(path)
    json.loads(path.read_text())  # plain JSON
    again = ExemplarPool.load(path)
    assert again.model == pool.model and again.labelled == pool.labelled


def test_pool_load_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"does not exist"):
        ExemplarPool.load(tmp_path / "none.json")
    bad = tmp_path / "bad.json"
    bad.write_text('{"model": []}')
    with pytest.raises(ConfigError, match=r"bad.json: not an exemplar pool"):
        ExemplarPool.load(bad)


# --- selectors on a fixed pool ------------------------------------------------------------------

TEXTS = [
    "How many apples and pears do I have if I have two apples and three pears?",  # 0 fruit
    "I have a banana, two apples and an orange. How many fruits do I have?",  # 1 fruit
    "Today is Christmas Eve of 1937. What is the date tomorrow?",  # 2 date
    "Yesterday was April 30, 2021. What is the date today?",  # 3 date
    "Is the following sentence plausible? The striker scored a goal.",  # 4 sports
    "Is the following sentence plausible? The goalie caught the ball in the net.",  # 5 sports
    "The date one week from today is what if today is May 1, 2020?",  # 6 date
    "Is the following sentence plausible? The pitcher threw a strike.",  # 7 sports
    "I have a plum, a peach and two apples. How many fruits do I have?",  # 8 fruit
]
POOL = [Exemplar(t, f"out{i}", f"t{i}") for i, t in enumerate(TEXTS)]
TOPIC = {0: "fruit", 1: "fruit", 8: "fruit", 2: "date", 3: "date", 6: "date", 4: "sports"}
TOPIC |= {5: "sports", 7: "sports"}
GOOD = {1, 3, 5}


def ids(shots: list[Exemplar]) -> list[int]:
    return [TEXTS.index(s.input) for s in shots]


def fake_accuracy(shots: list[Exemplar]) -> float:
    """Stands in for validation accuracy: the share of 'good' exemplars in the set."""
    return sum(i in GOOD for i in ids(shots)) / 3


def test_random_selector_seeded_picks() -> None:
    assert ids(RandomSelector(POOL, k=3, seed=0).select()) == [6, 8, 0]
    assert ids(RandomSelector(POOL, k=3, seed=1).select()) == [2, 1, 8]
    sel = RandomSelector(POOL, k=3, seed=0)
    assert sel.select("any query") == sel.select()  # one fixed set
    assert ids(RandomSelector(POOL[:2], k=3, seed=0).select()) in ([0, 1], [1, 0])


def test_nearest_selector_picks_the_same_topic_most_similar_last() -> None:
    sel = NearestSelector(POOL, k=3)
    fruit = sel.select("I have three apples and a pear. How many fruits do I have?")
    assert ids(fruit) == [0, 8, 1]
    assert ids(sel.select("Today is June 1, 1999. What is the date tomorrow?")) == [3, 6, 2]
    assert ids(sel.select("Is the following sentence plausible? The pitcher hit a goal.")) == [
        5,
        4,
        7,
    ]


def test_nearest_selector_never_returns_the_query_itself() -> None:
    picks = ids(NearestSelector(POOL, k=3).select(TEXTS[4]))
    assert 4 not in picks
    assert picks[-2:] == [5, 7]  # the two other sports questions are the most similar


def test_nearest_selector_handles_symbol_only_inputs() -> None:
    pool = [Exemplar(t, t, t) for t in ["[ [ {", "( ( (", "< > <", "[ { [ {"]]
    picks = NearestSelector(pool, k=1).select("[ { [")
    assert [p.input for p in picks] == ["[ { [ {"]


def test_diversity_selector_covers_the_three_topics() -> None:
    for seed in (0, 1, 2):
        picks = ids(DiversitySelector(POOL, k=3, seed=seed).select())
        assert picks == [1, 2, 7], seed
        assert {TOPIC[i] for i in picks} == {"fruit", "date", "sports"}


def test_random_search_seeded_keeps_best_and_spends_the_budget() -> None:
    calls: list[list[int]] = []

    def evaluate(shots: list[Exemplar]) -> float:
        calls.append(ids(shots))
        return fake_accuracy(shots)

    sel = RandomSearchSelector(POOL, k=3, seed=0, budget=32)
    sel.fit(evaluate)
    assert sel.evaluations == len(calls) == 32
    assert len({tuple(c) for c in calls}) == 32  # no set evaluated twice
    assert ids(sel.select()) == [7, 1, 5]
    assert sel.best_score == max(h["score"] for h in sel.history) == pytest.approx(2 / 3)
    assert calls[:3] == [[7, 4, 1], [6, 1, 2], [2, 3, 6]]


def test_random_search_num_candidates_and_small_pool_stop_early() -> None:
    sel = RandomSearchSelector(POOL, k=3, seed=0, budget=32, num_candidates=5)
    sel.fit(fake_accuracy)
    assert sel.evaluations == 5
    small = RandomSearchSelector(POOL[:3], k=2, seed=0, budget=32)
    small.fit(fake_accuracy)
    assert small.evaluations == math.perm(3, 2) == 6  # every ordered pair once, then stop
    assert 1 in ids(small.select())


def test_random_search_requires_fit() -> None:
    with pytest.raises(ValueError, match=r"before fit"):
        RandomSearchSelector(POOL, k=3, seed=0).select()


def test_mutation_beats_its_initial_population_within_the_budget() -> None:
    sel = MutationSelector(POOL, k=3, seed=0, budget=32)
    assert (sel.population_size, sel.generations) == (6, 5)
    sel.fit(fake_accuracy)
    assert sel.evaluations == 32
    initial_best = max(h["score"] for h in sel.history[:6])
    assert initial_best < 1.0 == sel.best_score
    assert sorted(ids(sel.select())) == [1, 3, 5]
    assert ids(sel.select()) == [3, 1, 5]
    seen = [tuple(h["indices"]) for h in sel.history]
    assert len(set(seen)) == len(seen)


def test_mutation_is_deterministic_and_respects_small_budgets() -> None:
    a, b = (
        MutationSelector(POOL, k=3, seed=4, budget=20),
        MutationSelector(POOL, k=3, seed=4, budget=20),
    )
    a.fit(fake_accuracy)
    b.fit(fake_accuracy)
    assert a.history == b.history and a.evaluations == 20
    tiny = MutationSelector(POOL, k=3, seed=0, budget=3)
    tiny.fit(fake_accuracy)
    assert tiny.evaluations == 3


def test_mutation_operators_produce_valid_sets() -> None:
    sel = MutationSelector(POOL, k=3, seed=9, budget=64)
    sel.fit(fake_accuracy)
    for h in sel.history:
        idx = h["indices"]
        assert len(idx) == 3 and len(set(idx)) == 3 and all(0 <= i < len(POOL) for i in idx)


def test_make_selector_resolves_names_and_validates_settings() -> None:
    assert "mutation" in selector_names() and "none" in selector_names()
    assert make_selector("none", POOL) is None
    sel = make_selector("random_search", POOL, {"k": 2, "num_candidates": 4}, seed=0, budget=10)
    assert isinstance(sel, RandomSearchSelector) and sel.k == 2 and sel.budget == 10
    with pytest.raises(ConfigError, match=r"unknown exemplar selector 'knn'"):
        make_selector("knn", POOL)
    with pytest.raises(ConfigError, match=r"population"):
        make_selector("mutation", POOL, {"population": 1})
    with pytest.raises(ConfigError, match=r"k"):
        make_selector("random", POOL, {"kk": 3})
