"""The PG-TD MCTS driver over three plain callables (model top-k, model rollout, test reward).

One simulation: from the root, select children by P-UCB down to a node never reached before
(or a terminal one); a new node is evaluated by a rollout (the model finishes the program from its
prefix) and the program's reward; a terminal node's own program is scored; the value is backed
up. A node is expanded (its top-k asked) the second time the search reaches it, so the top-k of a
prefix along an earlier rollout comes from that rollout's per-step alternatives when the
rollout callable reports them (the anchor's tree-structure cache) and costs no call.

The callables:

- ``topk(prefix) -> [(token_id, logprob), ...]``: next-token candidates after `prefix`
  (one ``complete(prefix, max_tokens=1, logprobs=k)`` call).
- ``rollout(prefix) -> (full_token_ids, text)`` or ``(full_token_ids, text, steps)``: the
  model's continuation of `prefix` to the end of the program (greedy by default), `text` being
  the program (the decoded tokens after the prompt); optional ``steps[i]`` lists the
  ``(token_id, logprob)`` alternatives at generated position ``i``.
- ``reward(text) -> float``: e.g. the public-test pass rate from the sandbox.
- optional ``decode(generated_ids) -> str``: the program text of a terminal prefix that no
  rollout produced (without it such a prefix is passed to `rollout`, which must return it as is).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from workbench.errors import BudgetExceeded
from workbench.optimizers.codegen.pgtd.tree import Counters, Node, Program, SearchTree, program_key

__all__ = ["PGTDSearch", "SearchResult"]

TopK = Callable[[Sequence[int]], Sequence[tuple[int, float]]]
Rollout = Callable[[Sequence[int]], tuple[Any, ...]]
Reward = Callable[[str], float]
Decode = Callable[[Sequence[int]], str]


class _OutOfCalls(Exception):
    """The search's own model-call budget is spent (internal: ends `run`)."""


@dataclass
class SearchResult:
    """What a search found.

    Attributes:
        best: the highest-reward program (``None`` if nothing was scored).
        programs: every scored program, in the order found.
        counters: calls, cache hits and simulations.
        stopped: why the search ended: ``"simulations"``, ``"calls"``, ``"budget"`` (the LLM
            layer's `BudgetExceeded`), ``"early_stop"`` or ``"exhausted"`` (whole tree terminal).
    """

    best: Program | None
    programs: list[Program]
    counters: Counters
    stopped: str

    def to_dict(self) -> dict[str, Any]:
        """JSON form (programs without token ids)."""

        def prog(p: Program | None) -> dict[str, Any] | None:
            return None if p is None else {"text": p.text, "reward": p.reward, "order": p.order}

        return {
            "best": prog(self.best),
            "programs": [prog(p) for p in self.programs],
            "counters": self.counters.to_dict(),
            "stopped": self.stopped,
        }


class PGTDSearch:
    """Planning-guided token-level MCTS (PG-TD) with the anchor's defaults.

    Args:
        prompt_ids: the prompt's token ids.
        topk: next-token candidates at a prefix (see module docstring).
        rollout: the model's completion of a prefix.
        reward: a program's reward.
        eos_ids: token ids that end a program.
        decode: optional local detokenizer for terminal prefixes.
        width: k (3).
        horizon: max generated tokens (1024).
        max_simulations: simulations to run at most (the anchor's ``--rollout``).
        max_calls: model calls (top-k + rollouts, cache hits free) at most (``--max-sample-times``
            is 768 generate calls in the anchor).
        early_stop: stop once a program reaches this reward (``None``: never).
        greedy_rollouts: rollouts are deterministic, so the completion of a prefix also serves
            every longer prefix along it (the anchor's sequence cache); set ``False`` when
            rollouts sample.
        c: P-UCB constant (4).
        base: P-UCB base (10).
        skip_done: pass over fully scored subtrees in selection (see `SearchTree`).
        stop: optional ``stop(prefix) -> bool`` ending a program without an EOS id (see
            `SearchTree`).

    Example:
        >>> search = PGTDSearch([0], topk=lambda p: [(1, -1.0), (2, -1.1)],
        ...                     rollout=lambda p: ((*p, 9), " ".join(map(str, p[1:]))),
        ...                     reward=lambda text: float(text == "2"),
        ...                     eos_ids=[9], max_simulations=10, early_stop=1.0)
        >>> result = search.run()
        >>> (result.best.text, result.stopped, result.counters.model_calls)
        ('2', 'early_stop', 3)
    """

    def __init__(
        self,
        prompt_ids: Sequence[int],
        *,
        topk: TopK,
        rollout: Rollout,
        reward: Reward,
        eos_ids: Sequence[int] = (),
        decode: Decode | None = None,
        width: int = 3,
        horizon: int = 1024,
        max_simulations: int = 10_000,
        max_calls: int | None = 768,
        early_stop: float | None = None,
        greedy_rollouts: bool = True,
        c: float = 4.0,
        base: float = 10.0,
        skip_done: bool = True,
        stop: Callable[[tuple[int, ...]], bool] | None = None,
    ) -> None:
        self.tree = SearchTree(
            prompt_ids,
            width=width,
            horizon=horizon,
            eos_ids=eos_ids,
            c=c,
            base=base,
            skip_done=skip_done,
            stop=stop,
        )
        self._topk = topk
        self._rollout = rollout
        self._reward = reward
        self._decode = decode
        self.max_simulations = max_simulations
        self.max_calls = max_calls
        self.early_stop = early_stop
        self.greedy_rollouts = greedy_rollouts

    @property
    def counters(self) -> Counters:
        """The tree's call / cache / simulation counters."""
        return self.tree.counters

    def run(self) -> SearchResult:
        """Simulate until a budget, the early-stop reward or an exhausted tree ends the search.

        Returns:
            The best program, all programs and the counters. A `BudgetExceeded` raised by the
            callables (the LLM layer's shared budget) ends the search with what was found.
        """
        stopped = "simulations"
        try:
            while self.counters.simulations < self.max_simulations:
                if self._reached_early_stop():
                    stopped = "early_stop"
                    break
                if not self.simulate():
                    stopped = "exhausted"
                    break
            else:
                if self._reached_early_stop():
                    stopped = "early_stop"
        except _OutOfCalls:
            stopped = "calls"
        except BudgetExceeded:
            stopped = "budget"
        progs = sorted(self.tree.programs.values(), key=lambda p: p.order)
        return SearchResult(self.tree.best_program(), progs, self.counters, stopped)

    def simulate(self) -> bool:
        """Run one simulation (select, expand / evaluate, back up).

        Returns:
            ``False`` when there is nothing left to learn: the whole tree is terminal and scored.

        Raises:
            _OutOfCalls: (internal) the call budget ran out before the simulation finished.
        """
        tree = self.tree
        node = tree.root
        while not node.terminal:
            if node is not tree.root and node.visits == 0:
                break  # a new node: evaluate it by a rollout
            if node.children is None:
                tree.expand(node, self._topk_at(node.prefix))
                if node.terminal:
                    break
            assert node.children is not None
            node = tree.select_child(node)
        if tree.root.done:
            return False
        value = self._terminal_value(node) if node.terminal else self._rollout_value(node)
        tree.backup(node, value)
        return True

    def _reached_early_stop(self) -> bool:
        best = self.tree.best_program()
        return self.early_stop is not None and best is not None and best.reward >= self.early_stop

    def _spend_call(self) -> None:
        if self.max_calls is not None and self.counters.model_calls >= self.max_calls:
            raise _OutOfCalls

    def _topk_at(self, prefix: tuple[int, ...]) -> list[tuple[int, float]]:
        cached = self.tree.topk_cache.get(prefix)
        if cached is not None:
            self.counters.topk_hits += 1
            return cached
        self._spend_call()
        result = [(int(t), float(lp)) for t, lp in self._topk(prefix)]
        self.counters.topk_calls += 1
        self.tree.topk_cache.put(prefix, result)
        return result

    def _rollout_value(self, node: Node) -> float:
        cached = self.tree.rollout_cache.get(node.prefix)
        if cached is not None:
            self.counters.rollout_hits += 1
            ids, text = cached
        else:
            self._spend_call()
            out = self._rollout(node.prefix)
            self.counters.rollout_calls += 1
            ids, text = tuple(int(t) for t in out[0]), str(out[1])
            steps = out[2] if len(out) > 2 else None
            self._remember_rollout(node.prefix, ids, text, steps)
        node.program = text
        return self._score(text, ids)

    def _remember_rollout(
        self,
        prefix: tuple[int, ...],
        ids: tuple[int, ...],
        text: str,
        steps: Sequence[Sequence[tuple[int, float]]] | None,
    ) -> None:
        n = len(prefix)
        if ids[:n] != prefix:  # the model re-tokenised the prefix: only the exact prefix is safe
            self.tree.rollout_cache.put(prefix, (ids, text))
            return
        stop = len(ids) if self.greedy_rollouts else n
        self.tree.rollout_cache.put_along(ids, n, lambda _k: (ids, text), stop=stop)
        if steps:
            alts = [[(int(t), float(lp)) for t, lp in step] for step in steps]
            last = min(len(ids) - 1, n + len(alts) - 1)
            self.tree.topk_cache.put_along(ids, n, lambda k: alts[k - n], stop=last)

    def _terminal_value(self, node: Node) -> float:
        if node.program is None:
            cached = self.tree.rollout_cache.get(node.prefix)
            if cached is not None and cached[0] == node.prefix:
                node.program = cached[1]
            elif self._decode is not None:
                self.counters.decode_calls += 1
                node.program = self._decode(node.prefix[self.tree.prompt_len :])
            else:
                self._spend_call()
                self.counters.rollout_calls += 1
                node.program = str(self._rollout(node.prefix)[1])
        return self._score(node.program, node.prefix)

    def _score(self, text: str, ids: Sequence[int]) -> float:
        key = program_key(text)
        if key in self.tree.reward_cache:
            self.counters.reward_hits += 1
            value = self.tree.reward_cache[key]
        else:
            value = float(self._reward(text))
            self.counters.reward_calls += 1
            self.tree.reward_cache[key] = value
        self.tree.record_program(text, value, ids)
        return value
