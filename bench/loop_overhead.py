"""Per-step overhead of the loop graph (checkpoint + bookkeeping) with a zero-cost objective.

For 1, 10 and 100 candidates per step it runs the real graph (RunStore, SqliteSaver with
durability="sync", Send fan-out, events) over an optimizer and a task that cost nothing, and
reports seconds per step, per candidate, and the checkpoint bytes per step; the same without a
checkpointer isolates the checkpoint's share. Prints a table and writes
bench/results/loop_overhead.json.

    .venv/bin/python bench/loop_overhead.py [--quick]
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from workbench.agents import Loop, LoopSettings, RunStore, open_checkpointer, run_graph
from workbench.contracts import Candidate, Evaluation
from workbench.optimizers import Optimizer
from workbench.tasks.base import EvalContext, Task

RESULTS = Path(__file__).parent / "results" / "loop_overhead.json"


class ZeroTask(Task):
    """Scores a candidate by its counter: no work at all."""

    def evaluate(self, candidate: Candidate, ctx: EvalContext) -> Evaluation:
        x = candidate.payload["i"]
        return Evaluation(candidate_id=candidate.id, status="ok", scores={"score": float(x)})


class CounterOptimizer(Optimizer):
    """Proposes i, i+1, ...; its state is one integer (constant size, unlike a history)."""

    def __init__(self) -> None:
        self.i = 0

    def propose(self, n: int) -> list[Candidate]:
        out = [Candidate(id=f"c{self.i + k}", payload={"i": self.i + k}) for k in range(n)]
        self.i += n
        return out

    def observe(self, evaluations: list[Evaluation]) -> None:
        return None

    def state(self) -> dict[str, Any]:
        return {"i": self.i}

    def load_state(self, state: dict[str, Any]) -> None:
        self.i = int(state["i"])


def measure(per_step: int, steps: int, checkpoint: bool) -> dict[str, Any]:
    """Run `steps` steps of `per_step` candidates; returns timings."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        store = RunStore(folder / "store.sqlite")
        settings = LoopSettings(parallel=per_step, max_iterations=steps)
        loop = Loop(ZeroTask(), CounterOptimizer(), store, settings)
        n_events = 0

        def count(_: dict[str, Any]) -> None:
            nonlocal n_events
            n_events += 1

        start = time.perf_counter()
        if checkpoint:
            with open_checkpointer(folder / "checkpoints.sqlite") as saver:
                final = run_graph(loop.build(saver), loop, "bench", count)
        else:
            graph = loop.build()
            config = {"recursion_limit": 10_000_000, "max_concurrency": per_step + 1}
            final = {}
            for _mode, chunk in graph.stream(
                loop.initial_state(), config, stream_mode=["custom", "values"]
            ):
                if _mode == "custom":
                    count(chunk)
                else:
                    final = chunk
        wall = time.perf_counter() - start
        store.close()
        size = (folder / "checkpoints.sqlite").stat().st_size if checkpoint else 0
        assert final["n_evals"] == per_step * steps, final
    return {
        "candidates_per_step": per_step,
        "steps": steps,
        "checkpoint": checkpoint,
        "wall_s": wall,
        "s_per_step": wall / steps,
        "ms_per_candidate": 1000 * wall / (steps * per_step),
        "events": n_events,
        "checkpoint_bytes_per_step": size / steps,
    }


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark, print the table and write the JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer steps (a smoke run)")
    args = parser.parse_args(argv)
    plan = [(1, 100), (10, 30), (100, 6)] if not args.quick else [(1, 10), (10, 3), (100, 2)]
    rows = []
    for per_step, steps in plan:
        measure(per_step, 1, True)  # warm-up: imports, JIT-free but caches
        for checkpoint in (True, False):
            rows.append(measure(per_step, steps, checkpoint))
    head = (
        f"{'cand/step':>9} {'steps':>5} {'ckpt':>5} {'s/step':>8} {'ms/cand':>8} "
        f"{'ckpt KB/step':>12}"
    )
    print(head)
    print("-" * len(head))
    for r in rows:
        print(
            f"{r['candidates_per_step']:>9} {r['steps']:>5} {r['checkpoint']!s:>5} "
            f"{r['s_per_step']:>8.4f} {r['ms_per_candidate']:>8.2f} "
            f"{r['checkpoint_bytes_per_step'] / 1024:>12.1f}"
        )
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(
        json.dumps(
            {
                "bench": "loop_overhead",
                "python": sys.version.split()[0],
                "machine": platform.machine(),
                "note": "zero-cost task and optimizer; durability=sync SqliteSaver; 2 shared cores",
                "rows": rows,
            },
            indent=2,
        )
        + "\n"
    )
    print(f"wrote {RESULTS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
