"""Record + backward time of traced graphs: chain and tree graphs of 10 to 2,000 operations.

Each backend builds the same graphs and runs the same steps, so implementations compare
side by side:

- ``workbench``: this package (in this interpreter).
- ``trace-opt``: microsoft/Trace's ``opto`` (``trace-opt==0.1.3.8``), which must live in a
  separate venv; pass its interpreter with ``--trace-opt-python``. The script re-runs itself there
  with ``--backend trace-opt`` and reads the JSON it prints.

Graphs (n = number of operation nodes):

- chain: one trainable ``x``; ``y = y + 1.0`` n times (every step also makes a constant node).
- tree: n + 1 trainable leaves summed pairwise up to one root (n ``add`` nodes).

Measured as CPU time of the process (``time.process_time``, so other jobs on a shared machine
disturb it less), best of ``--repeat``, garbage collector off while timing:

- ``record``: building the graph.
- ``pass`` (workbench only): ``backward`` alone (it computes every parameter's on-path set).
- ``each``: feedback to the root until every trainable parameter holds its own minimal subgraph
  (trace-opt: ``root.backward``; workbench: ``backward`` + ``Feedback.subgraph()`` per parameter,
  which holds the parameter's exact on-path set, a bitset computed by ``backward`` in one walk
  shared by all parameters; its node list is built when first read).
- ``each+list`` (workbench only): ``each``, then every parameter's node list is built too (the
  on-path nodes and their inputs in topological order, as trace-opt's per-parameter lists).
- ``union``: feedback to the root until the merged subgraph OptoPrime renders exists
  (trace-opt: ``OptoPrime.backward`` + ``summarize``; workbench: ``backward`` + ``subgraph``
  and its node list).
- ``prompt tok``: system + user prompt of OptoPrime for the graph, in characters / 4.

Usage:
    .venv/bin/python bench/trace_overhead.py [--sizes 10,100,1000] [--repeat 3]
        [--trace-opt-python /tmp/traceopt-venv/bin/python] [--json out.json]

Prints a markdown table and writes bench/results/trace_overhead.json (or ``--json``).
The trace-opt venv: ``python3 -m venv /tmp/traceopt-venv &&
/tmp/traceopt-venv/bin/pip install trace-opt==0.1.3.8``.
"""

from __future__ import annotations

import argparse
import gc
import json
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.setrecursionlimit(100_000)
OUT = Path(__file__).parent / "results" / "trace_overhead.json"
SIZES = [10, 50, 100, 200, 500, 1000, 2000]


def best_of(repeat: int, fn: Callable[[], float]) -> float:
    """Best time of ``repeat`` runs, with the garbage collector off while timing (as timeit)."""
    times = []
    for _ in range(repeat):
        gc.collect()
        gc.disable()
        try:
            times.append(fn())
        finally:
            gc.enable()
    return min(times)


# ---------------------------------------------------------------- workbench backend
def run_workbench(sizes: list[int], repeat: int) -> list[dict[str, Any]]:
    from workbench.trace import Graph, node, subgraph, use_graph
    from workbench.trace.propagation import backward

    try:  # the OptoPrime renderer, when present
        from workbench.optimizers.optoprime.render import SYSTEM_PROMPT, render_problem
    except ImportError:
        render_problem, SYSTEM_PROMPT = None, ""

    def build(kind: str, n: int) -> tuple[Any, list[Any]]:
        if kind == "chain":
            x = node(1.0, trainable=True, name="x")
            y = x
            for _ in range(n):
                y = y + 1.0
            return y, [x]
        leaves = [node(float(i), trainable=True, name="w") for i in range(n + 1)]
        level = leaves
        while len(level) > 1:
            nxt = [level[i] + level[i + 1] for i in range(0, len(level) - 1, 2)]
            if len(level) % 2:
                nxt.append(level[-1])
            level = nxt
        return level[0], leaves

    rows = []
    for kind in ("chain", "tree"):
        for n in sizes:

            def record(kind: str = kind, n: int = n) -> float:
                with use_graph(Graph()):
                    t = time.process_time()
                    build(kind, n)
                    return time.process_time() - t

            def back_pass(kind: str = kind, n: int = n) -> float:
                with use_graph(Graph()):
                    out, _ = build(kind, n)
                    t = time.process_time()
                    backward(out, "The output should be larger.")  # subgraphs are lazy
                    return time.process_time() - t

            def back(kind: str = kind, n: int = n) -> float:
                with use_graph(Graph()):
                    out, params = build(kind, n)
                    t = time.process_time()
                    bpass = backward(out, "The output should be larger.")
                    subgraph(bpass, params).nodes  # noqa: B018 - what OptoPrime renders
                    return time.process_time() - t

            def back_each(kind: str = kind, n: int = n) -> float:
                with use_graph(Graph()):
                    out, params = build(kind, n)
                    t = time.process_time()
                    backward(out, "The output should be larger.")
                    for p in params:  # what trace-opt builds eagerly: one per parameter
                        p.feedback[-1].subgraph()
                    return time.process_time() - t

            def back_each_nodes(kind: str = kind, n: int = n) -> float:
                with use_graph(Graph()):
                    out, params = build(kind, n)
                    t = time.process_time()
                    backward(out, "The output should be larger.")
                    for p in params:
                        p.feedback[-1].subgraph().nodes  # noqa: B018 - the list is the point
                    return time.process_time() - t

            row: dict[str, Any] = {
                "backend": "workbench",
                "graph": kind,
                "n": n,
                "record_s": best_of(repeat, record),
                "backward_pass_s": best_of(repeat, back_pass),
                "backward_s": best_of(repeat, back),
                "backward_each_s": best_of(repeat, back_each),
                "backward_each_nodes_s": best_of(repeat, back_each_nodes),
            }
            with use_graph(Graph()):
                out, params = build(kind, n)
                bpass = backward(out, "The output should be larger.")
                sub = subgraph(bpass, params)
                row["subgraph_nodes"] = len(sub.nodes)
                if render_problem is not None:
                    prompt = SYSTEM_PROMPT + render_problem(sub, params)
                    row["prompt_chars"] = len(prompt)
                    row["prompt_tokens_est"] = len(prompt) // 4
            rows.append(row)
    return rows


# ---------------------------------------------------------------- trace-opt backend
def run_trace_opt(sizes: list[int], repeat: int) -> list[dict[str, Any]]:
    from opto.trace import GRAPH, node

    def build(kind: str, n: int) -> tuple[Any, list[Any]]:
        if kind == "chain":
            x = node(1.0, trainable=True, name="x")
            y = x
            for _ in range(n):
                y = y + 1.0
            return y, [x]
        leaves = [node(float(i), trainable=True, name="w") for i in range(n + 1)]
        level = leaves
        while len(level) > 1:
            nxt = [level[i] + level[i + 1] for i in range(0, len(level) - 1, 2)]
            if len(level) % 2:
                nxt.append(level[-1])
            level = nxt
        return level[0], leaves

    rows = []
    for kind in ("chain", "tree"):
        for n in sizes:

            def record(kind: str = kind, n: int = n) -> float:
                GRAPH.clear()
                t = time.process_time()
                build(kind, n)
                return time.process_time() - t

            def back_each(kind: str = kind, n: int = n) -> float:
                GRAPH.clear()
                out, _ = build(kind, n)
                t = time.process_time()
                out.backward("The output should be larger.")  # a subgraph per parameter
                return time.process_time() - t

            def back(kind: str = kind, n: int = n) -> float:
                from opto.optimizers import OptoPrime

                GRAPH.clear()
                out, params = build(kind, n)
                opt = OptoPrime(params, llm=object())  # never called: no step is taken
                t = time.process_time()
                opt.backward(out, "The output should be larger.")
                opt.summarize()  # merges the parameters' subgraphs: what the prompt shows
                return time.process_time() - t

            row: dict[str, Any] = {
                "backend": "trace-opt",
                "graph": kind,
                "n": n,
                "record_s": best_of(repeat, record),
                "backward_each_s": best_of(repeat, back_each),
                "backward_s": best_of(repeat, back),
            }
            try:
                row.update(trace_opt_prompt(build, kind, n))
            except Exception as exc:  # the prompt is optional; keep the timings
                row["prompt_error"] = f"{type(exc).__name__}: {exc}"
            rows.append(row)
    return rows


def trace_opt_prompt(build: Callable[..., Any], kind: str, n: int) -> dict[str, Any]:
    """The user prompt OptoPrime 0.1.3.8 would send (no LLM call)."""
    from opto.optimizers import OptoPrime
    from opto.trace import GRAPH

    GRAPH.clear()
    out, params = build(kind, n)
    opt = OptoPrime(params, llm=object())  # never called: we only render
    opt.zero_feedback()
    opt.backward(out, "The output should be larger.")
    summary = opt.summarize()
    system, user = opt.construct_prompt(summary)
    text = system + user
    return {"prompt_chars": len(text), "prompt_tokens_est": len(text) // 4}


# ---------------------------------------------------------------- table
def table(rows: list[dict[str, Any]]) -> str:
    """Markdown table: one line per (graph, n), backends side by side.

    Two fair pairings: "each" = every parameter gets its own subgraph (trace-opt's
    ``backward``); "union" = the merged subgraph OptoPrime renders (trace-opt's ``backward`` +
    ``summarize``; ours ``backward`` + ``subgraph``). "pass" is our lazy ``backward`` alone.
    """
    by_key: dict[tuple[str, int], dict[str, dict[str, Any]]] = {}
    for r in rows:
        by_key.setdefault((r["graph"], r["n"]), {})[r["backend"]] = r
    backends = sorted({r["backend"] for r in rows}, key=lambda b: b != "workbench")
    columns = {
        "workbench": [("record_s", "record"), ("backward_pass_s", "pass"),
                      ("backward_each_s", "each"), ("backward_each_nodes_s", "each+list"),
                      ("backward_s", "union")],
        "trace-opt": [("record_s", "record"), ("backward_each_s", "each"),
                      ("backward_s", "union")],
    }  # fmt: skip
    head = ["graph", "n"]
    for b in backends:
        head += [f"{b} {label} ms" for _, label in columns[b]] + [f"{b} prompt tok"]
    other = backends[1] if len(backends) > 1 else None
    if other:
        head += ["speed-up each", "speed-up each+list", "speed-up union"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for (graph, n), per in by_key.items():
        cells = [graph, str(n)]
        for b in backends:
            r = per.get(b, {})
            cells += [f"{r[k] * 1e3:.2f}" if k in r else "-" for k, _ in columns[b]]
            cells.append(str(r.get("prompt_tokens_est", "-")))
        if other:
            w, o = per.get("workbench"), per.get(other)
            pairs = [
                ("backward_each_s", "backward_each_s"),
                ("backward_each_s", "backward_each_nodes_s"),
                ("backward_s", "backward_s"),
            ]
            for theirs, ours in pairs:
                ok = w and o and theirs in o and w.get(ours, 0) > 0
                cells.append(f"{o[theirs] / w[ours]:.1f}x" if ok else "-")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default=",".join(map(str, SIZES)))
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--backend", choices=["workbench", "trace-opt"], default="workbench")
    parser.add_argument("--trace-opt-python", help="interpreter of a venv with trace-opt")
    parser.add_argument("--json", type=Path, default=OUT, help=f"write the rows here ({OUT})")
    parser.add_argument("--rows-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    if args.backend == "trace-opt":
        rows = run_trace_opt(sizes, args.repeat)
    else:
        rows = run_workbench(sizes, args.repeat)
        if args.trace_opt_python:
            done = subprocess.run(
                [
                    args.trace_opt_python,
                    __file__,
                    "--backend",
                    "trace-opt",
                    "--rows-only",
                    "--sizes",
                    args.sizes,
                    "--repeat",
                    str(args.repeat),
                ],
                capture_output=True,
                text=True,
                check=True,
            )
            rows += json.loads(done.stdout.strip().splitlines()[-1])
    if args.rows_only:
        print(json.dumps(rows))
        return
    print(table(rows))
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(rows, indent=2) + "\n")


if __name__ == "__main__":
    main()
