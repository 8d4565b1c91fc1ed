"""The PG-TD search tree as pure bookkeeping (shunzh/Code-AI-Tree-Search, ``dyna_gym``).

The anchor's decision node (a state = token prefix) and its chance nodes (one per top-k action)
are folded into one `Node` per prefix: a node's `returns` are the sampled returns of the chance
node that leads to it, its `visits` are the decision node's visit count (1 when created, +1 for
every backup through it, as in ``mcts_procedure``). Values follow the anchor's defaults:
``var_p_uct`` selection with ``c = 4``, ``base = 10``; Q = max of the sampled returns ("best"
mode); γ = 1 (the reward is given once, for the finished program).
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from workbench.optimizers.codegen.pgtd.cache import PrefixIndex

__all__ = [
    "Counters",
    "Node",
    "Program",
    "SearchTree",
    "program_key",
    "topk_priors",
    "var_p_ucb",
]


def var_p_ucb(
    q: float,
    prior: float,
    parent_visits: int,
    child_visits: int,
    c: float = 4.0,
    base: float = 10.0,
) -> float:
    """PG-TD's selection score (``UCT.var_p_ucb`` in the anchor).

    ``Q + (log((N + base + 1) / base) + c) * P(a) * sqrt(log N) / (1 + n(a))``.

    Args:
        q: the child's value (max sampled return, 0 when unvisited).
        prior: P(a), the child's share of the softmax over the parent's top-k logprobs.
        parent_visits: N, the parent's visit count (>= 1).
        child_visits: n(a), the number of returns sampled through the child.
        c: ``--ucb-constant`` (4).
        base: ``--ucb-base`` (10).

    Example:
        >>> round(var_p_ucb(0.5, 0.5, 3, 1), 6)
        1.636315
    """
    weight = math.log((parent_visits + base + 1) / base) + c
    return q + weight * prior * math.sqrt(math.log(parent_visits)) / (1 + child_visits)


def topk_priors(candidates: Iterable[tuple[int, float]], width: int) -> list[tuple[int, float]]:
    """The `width` most likely tokens with priors = softmax over those logprobs only.

    Args:
        candidates: ``(token_id, logprob)`` pairs (any order; duplicates keep the first).
        width: k.

    Returns:
        ``(token_id, prior)`` pairs, most likely first (ties keep their input order).

    Example:
        >>> [(t, round(p, 4)) for t, p in topk_priors([(7, -2.0), (3, -1.0), (5, -3.0)], 2)]
        [(3, 0.7311), (7, 0.2689)]
    """
    seen: dict[int, float] = {}
    for token, logprob in candidates:
        seen.setdefault(int(token), float(logprob))
    top = sorted(seen.items(), key=lambda kv: -kv[1])[:width]
    if not top:
        return []
    peak = top[0][1]
    weights = [math.exp(lp - peak) if math.isfinite(lp) else 0.0 for _, lp in top]
    total = sum(weights) or 1.0
    return [(tok, w / total) for (tok, _), w in zip(top, weights, strict=True)]


@dataclass(eq=False)
class Node:
    """One state of the search: a token prefix.

    Attributes:
        prefix: prompt + generated token ids.
        token: the action that led here (``None`` at the root).
        prior: P(token) at the parent.
        parent: the parent node (``None`` at the root).
        terminal: ends with an EOS id or reached the horizon (or the model offers no token).
        visits: decision-node visits (0 until first reached; then 1 + backups through it).
        returns: the returns sampled through the edge parent -> this node.
        children: the top-k children, ``None`` until expanded.
        program: the program text of this node's rollout (or of the node itself if terminal).
        done: nothing below is left to learn (terminal and scored, or all children done).
    """

    prefix: tuple[int, ...]
    token: int | None
    prior: float
    parent: Node | None = field(default=None, repr=False)
    terminal: bool = False
    visits: int = 0
    returns: list[float] = field(default_factory=list)
    children: list[Node] | None = field(default=None, repr=False)
    program: str | None = None
    done: bool = False

    @property
    def q(self) -> float:
        """Max of the sampled returns (the anchor's "best" mode); 0 when none."""
        return max(self.returns) if self.returns else 0.0


@dataclass
class Program:
    """A complete program that was scored.

    Attributes:
        text: the program text (what `reward` saw).
        reward: its reward.
        token_ids: the full token ids (prompt included) of its first rollout.
        order: 0 for the first program scored, 1 for the next, ...
    """

    text: str
    reward: float
    token_ids: tuple[int, ...]
    order: int


@dataclass
class Counters:
    """Budget and cache accounting (JSON via `to_dict`)."""

    simulations: int = 0
    topk_calls: int = 0
    rollout_calls: int = 0
    decode_calls: int = 0
    reward_calls: int = 0
    topk_hits: int = 0
    rollout_hits: int = 0
    reward_hits: int = 0

    @property
    def model_calls(self) -> int:
        """Calls that reach the model: top-k plus rollouts (decodes are local)."""
        return self.topk_calls + self.rollout_calls

    def to_dict(self) -> dict[str, int]:
        """All counters, plus ``model_calls``."""
        return {**self.__dict__, "model_calls": self.model_calls}


def program_key(text: str) -> str:
    """The cache key of a program: SHA-256 of its text."""
    return hashlib.sha256(text.encode()).hexdigest()


class SearchTree:
    """Nodes keyed by token prefix, P-UCB selection, expansion, backup and the three caches.

    Args:
        prompt_ids: the prompt's token ids (the root's prefix).
        width: k, the number of children per node (``--width``, 3).
        horizon: max generated tokens; a prefix this long is terminal (``--horizon``, 1024).
        eos_ids: token ids that end a program.
        c: P-UCB constant (4).
        base: P-UCB base (10).
        skip_done: never select a child whose subtree is fully scored (its terminal programs'
            rewards are cached, so another visit learns nothing). The anchor re-selects such
            children, which spends simulations without calls; ``False`` restores that.
        stop: optional ``stop(prefix) -> bool``: a prefix that ends the program although its
            last token is no EOS (e.g. its text closes the Markdown code fence).
    """

    def __init__(
        self,
        prompt_ids: Sequence[int],
        *,
        width: int = 3,
        horizon: int = 1024,
        eos_ids: Iterable[int] = (),
        c: float = 4.0,
        base: float = 10.0,
        skip_done: bool = True,
        stop: Callable[[tuple[int, ...]], bool] | None = None,
    ) -> None:
        if width < 1 or horizon < 1:
            raise ValueError(f"width and horizon must be >= 1 (got {width}, {horizon})")
        self.prompt_len = len(prompt_ids)
        self.width = width
        self.horizon = horizon
        self.eos_ids = frozenset(int(t) for t in eos_ids)
        self.c = c
        self.base = base
        self.skip_done = skip_done
        self.stop = stop
        self.root = Node(prefix=tuple(prompt_ids), token=None, prior=1.0, visits=1)
        self.nodes: dict[tuple[int, ...], Node] = {self.root.prefix: self.root}
        self.topk_cache: PrefixIndex[list[tuple[int, float]]] = PrefixIndex()
        self.rollout_cache: PrefixIndex[tuple[tuple[int, ...], str]] = PrefixIndex()
        self.reward_cache: dict[str, float] = {}
        self.programs: dict[str, Program] = {}
        self.counters = Counters()

    def is_terminal(self, prefix: Sequence[int]) -> bool:
        """Ends with an EOS id, holds `horizon` generated tokens, or `stop` says so."""
        generated = len(prefix) - self.prompt_len
        if (generated > 0 and prefix[-1] in self.eos_ids) or generated >= self.horizon:
            return True
        return generated > 0 and self.stop is not None and self.stop(tuple(prefix))

    def score(self, node: Node) -> float:
        """`var_p_ucb` of `node` under its parent."""
        if node.parent is None:
            raise ValueError("the root has no selection score")
        return var_p_ucb(
            node.q, node.prior, node.parent.visits, len(node.returns), self.c, self.base
        )

    def select_child(self, node: Node) -> Node:
        """The child with the highest `score`; the first (most likely) one wins ties.

        With `skip_done`, children with nothing left to learn are passed over (unless all are).
        """
        if not node.children:
            raise ValueError("select_child needs an expanded node with children")
        children = node.children
        if self.skip_done:
            children = [c for c in children if not c.done] or children
        best = children[0]
        best_score = self.score(best)
        for child in children[1:]:
            s = self.score(child)
            if s > best_score:
                best, best_score = child, s
        return best

    def expand(self, node: Node, candidates: Iterable[tuple[int, float]]) -> list[Node]:
        """Give `node` its children: the top-`width` tokens, priors by softmax over them.

        An empty candidate list makes `node` terminal.
        """
        children = []
        for token, prior in topk_priors(candidates, self.width):
            prefix = (*node.prefix, token)
            child = Node(
                prefix=prefix,
                token=token,
                prior=prior,
                parent=node,
                terminal=self.is_terminal(prefix),
            )
            self.nodes[prefix] = child
            children.append(child)
        node.children = children
        if not children:
            node.terminal = True
            self._mark_done(node)
        return children

    def backup(self, leaf: Node, value: float) -> None:
        """Record one simulation's return `value` from `leaf` up to the root (γ = 1).

        Every node on the path gains a visit (a new node is created with 1 visit first), every
        edge on the path samples `value`.
        """
        if leaf.visits == 0:
            leaf.visits = 1
        node: Node | None = leaf
        while node is not None:
            node.visits += 1
            if node.parent is not None:
                node.returns.append(value)
            node = node.parent
        self.counters.simulations += 1
        self._mark_done(leaf)

    def _mark_done(self, leaf: Node) -> None:
        node: Node | None = leaf
        while node is not None:
            if node.terminal and node.visits > 0:
                node.done = True
            elif node.children:
                node.done = all(c.done for c in node.children)
            if not node.done:
                return
            node = node.parent

    def record_program(self, text: str, reward: float, token_ids: Sequence[int]) -> Program:
        """Remember a scored program (the first token ids seen for a text are kept)."""
        key = program_key(text)
        if key not in self.programs:
            self.programs[key] = Program(text, reward, tuple(token_ids), len(self.programs))
        return self.programs[key]

    def best_program(self) -> Program | None:
        """The highest-reward program scored so far (the earliest one on ties)."""
        best: Program | None = None
        for prog in self.programs.values():
            if best is None or prog.reward > best.reward:
                best = prog
        return best

    def path(self, node: Node) -> list[Node]:
        """Root ... `node`."""
        out = []
        cur: Node | None = node
        while cur is not None:
            out.append(cur)
            cur = cur.parent
        return out[::-1]
