"""PG-TD tree bookkeeping: priors, P-UCB values, selection, backups, caches (hand-computed)."""

from __future__ import annotations

import math

import pytest

from workbench.optimizers.codegen.pgtd import PrefixIndex, SearchTree, topk_priors, var_p_ucb

ROOT_TOPK = [(1, -0.5), (2, -1.0), (3, -2.0), (4, -3.0)]
# softmax over the three best logprobs only (-0.5, -1, -2): e^0, e^-0.5, e^-1.5 over 1.8296612
P1, P2, P3 = 0.5465494, 0.3314990, 0.1219517


def test_priors_are_a_softmax_over_the_top_k_only() -> None:
    priors = topk_priors(ROOT_TOPK, 3)
    assert [t for t, _ in priors] == [1, 2, 3]  # token 4 is cut, and gets no mass
    assert [p for _, p in priors] == pytest.approx([P1, P2, P3], abs=1e-7)
    assert sum(p for _, p in priors) == pytest.approx(1.0)


def test_priors_sort_dedupe_and_handle_minus_infinity() -> None:
    priors = topk_priors([(9, -3.0), (8, -1.0), (9, -0.1), (7, float("-inf"))], 3)
    assert [t for t, _ in priors] == [8, 9, 7]  # the duplicate 9 keeps its first logprob
    assert priors[2][1] == 0.0
    assert topk_priors([], 3) == []


def test_var_p_ucb_hand_values() -> None:
    # N=2: weight = log(13/10) + 4 = 4.2623643, sqrt(log 2) = 0.8325546
    assert var_p_ucb(0.5, P1, 2, 1) == pytest.approx(0.5 + 4.2623643 * P1 * 0.8325546 / 2)
    assert var_p_ucb(0.5, P1, 2, 1) == pytest.approx(1.4697565, abs=1e-6)
    assert var_p_ucb(0.0, P2, 2, 0) == pytest.approx(1.1763741, abs=1e-6)
    # N=1: sqrt(log 1) = 0, only Q counts
    assert var_p_ucb(0.25, 0.9, 1, 0) == 0.25
    # other constants
    assert var_p_ucb(0.0, 1.0, 3, 0, c=1.0, base=1.0) == pytest.approx(
        (math.log(5.0) + 1.0) * math.sqrt(math.log(3.0))
    )


def _tree() -> SearchTree:
    return SearchTree([100], width=3, horizon=4, eos_ids=[0])


def test_selection_expansion_and_backups_on_a_small_tree() -> None:
    tree = _tree()
    root = tree.root
    assert (root.visits, root.children) == (1, None)
    a, b, c = tree.expand(root, ROOT_TOPK)
    assert [n.prefix for n in (a, b, c)] == [(100, 1), (100, 2), (100, 3)]
    assert tree.nodes[(100, 2)] is b

    # N=1: every exploration term is 0 and Q=0: the first (most likely) child wins the tie
    assert tree.select_child(root) is a
    tree.backup(a, 0.5)
    assert (root.visits, a.visits, a.returns, b.returns) == (2, 2, [0.5], [])
    assert tree.score(a) == pytest.approx(1.4697565, abs=1e-6)
    assert tree.score(b) == pytest.approx(1.1763741, abs=1e-6)
    assert tree.score(c) == pytest.approx(0.4327639, abs=1e-6)
    assert tree.select_child(root) is a

    d, e = tree.expand(a, [(5, -0.1), (6, -0.1)])
    assert d.prior == pytest.approx(0.5) and e.prior == pytest.approx(0.5)
    tree.backup(d, 1.0)
    assert (root.visits, a.visits, d.visits) == (3, 3, 2)
    assert a.returns == [0.5, 1.0] and a.q == 1.0  # max backup
    # N=3: weight = log(14/10) + 4 = 4.3364722, sqrt(log 3) = 1.0481471
    assert tree.score(a) == pytest.approx(1.0 + 4.3364722 * P1 * 1.0481471 / 3, abs=1e-6)
    assert tree.score(a) == pytest.approx(1.8280698, abs=1e-6)
    assert tree.score(b) == pytest.approx(1.5067492, abs=1e-6)
    assert tree.select_child(root) is a

    tree.backup(b, 0.0)
    tree.backup(b, 0.0)
    assert (root.visits, b.visits, b.returns) == (5, 3, [0.0, 0.0])
    assert tree.counters.simulations == 4
    assert [n.prefix for n in tree.path(d)] == [(100,), (100, 1), (100, 1, 5)]


def test_q_is_zero_until_sampled_and_root_has_no_score() -> None:
    tree = _tree()
    (a,) = tree.expand(tree.root, [(1, 0.0)])
    assert a.q == 0.0
    with pytest.raises(ValueError, match="root"):
        tree.score(tree.root)


def test_terminal_by_eos_and_by_horizon() -> None:
    tree = _tree()
    assert not tree.is_terminal((100,))
    assert tree.is_terminal((100, 0))
    assert not tree.is_terminal((100, 1, 2, 3))
    assert tree.is_terminal((100, 1, 2, 3, 4))  # horizon 4 generated tokens
    assert not tree.is_terminal((0,))  # an EOS inside the prompt does not count
    eos, tok = tree.expand(tree.root, [(0, -0.1), (7, -0.2)])
    assert eos.terminal and not tok.terminal


def test_a_node_with_no_candidates_becomes_terminal_and_done() -> None:
    tree = _tree()
    assert tree.expand(tree.root, []) == []
    assert tree.root.terminal and tree.root.done


def test_done_propagates_when_all_children_are_scored_terminals() -> None:
    tree = _tree()
    x, y = tree.expand(tree.root, [(0, -0.1), (1, -0.2)])
    z = tree.expand(y, [(0, 0.0)])[0]
    tree.backup(x, 0.2)
    assert x.done and not tree.root.done
    tree.backup(z, 0.3)
    assert z.done and y.done and tree.root.done


def test_best_program_is_max_reward_first_found_on_ties() -> None:
    tree = _tree()
    assert tree.best_program() is None
    tree.record_program("a", 0.5, [100, 1])
    tree.record_program("b", 1.0, [100, 2])
    tree.record_program("c", 1.0, [100, 3])
    tree.record_program("b", 1.0, [100, 9])  # same text: kept once, first ids
    best = tree.best_program()
    assert best is not None and (best.text, best.order, best.token_ids) == ("b", 1, (100, 2))
    assert len(tree.programs) == 3


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="width and horizon"):
        SearchTree([1], width=0)
    with pytest.raises(ValueError, match="expanded"):
        _tree().select_child(_tree().root)


def test_prefix_index_exact_and_along() -> None:
    idx: PrefixIndex[str] = PrefixIndex()
    idx.put([5, 6], "exact")
    assert idx.get([5, 6]) == "exact" and idx.get([5]) is None and idx.get([6, 5]) is None
    idx.put([5, 6], "second")
    assert idx.get([5, 6]) == "exact"  # first wins
    idx.put_along([1, 2, 3, 4, 5], start=2, value=lambda k: f"k{k}", stop=4)
    assert [idx.get([1, 2, 3, 4, 5][:k]) for k in range(6)] == [None, None, "k2", "k3", "k4", None]
    assert idx.get([1, 2, 9]) is None
    assert len(idx) == 4
    idx.put_along([1], start=3, value=lambda k: "never")
    assert len(idx) == 4


@pytest.mark.parametrize("skip_done", [True, False])
def test_skip_done_passes_over_fully_scored_children(skip_done: bool) -> None:
    tree = SearchTree([100], width=3, horizon=4, eos_ids=[0], skip_done=skip_done)
    eos, other = tree.expand(tree.root, [(0, -0.1), (7, -0.2)])
    tree.backup(eos, 1.0)  # a scored terminal: Q = 1 makes it the P-UCB favourite
    assert eos.done and tree.score(eos) > tree.score(other)
    assert tree.select_child(tree.root) is (other if skip_done else eos)
