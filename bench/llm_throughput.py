"""Throughput and latency of the embedded llama-server through the full client stack.

For each thread setting: 1 and 4 concurrent short chat requests (no cache), then the latency of
a cache hit. Prints a table and writes bench/results/llm_throughput.json.

    python bench/llm_throughput.py [--model qwen2.5-coder-0.5b-instruct] [--threads 1,2]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from rich.console import Console
from rich.table import Table

from workbench.llm import DEFAULT_LOCAL_MODEL, LLMClient, LLMConfig, ResponseCache, open_llm
from workbench.llm.local import start_llama_server

PROMPTS = [
    "Write a Python function that returns the square of a number.",
    "Name three prime numbers.",
    "What does MPI_Allreduce do? One sentence.",
    "Give a short tip for faster Python loops.",
    "Explain a hash map in one sentence.",
    "Write a haiku about compilers.",
    "What is 17 * 3?",
    "Suggest a variable name for a list of users.",
]
OUT = Path(__file__).parent / "results" / "llm_throughput.json"


def _one(llm: LLMClient, i: int, max_tokens: int) -> tuple[float, int]:
    started = time.perf_counter()
    result = llm.chat(
        [{"role": "user", "content": PROMPTS[i % len(PROMPTS)]}],
        max_tokens=max_tokens,
        temperature=0.7,
        seed=i,
    )
    return time.perf_counter() - started, result.completion_tokens


def measure(llm: LLMClient, concurrency: int, requests: int, max_tokens: int) -> dict[str, float]:
    started = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        done = list(pool.map(lambda i: _one(llm, i, max_tokens), range(requests)))
    wall = time.perf_counter() - started
    latencies = [lat for lat, _ in done]
    tokens = sum(n for _, n in done)
    return {
        "concurrency": concurrency,
        "requests": requests,
        "completion_tokens": tokens,
        "wall_s": round(wall, 3),
        "tokens_per_s": round(tokens / wall, 1),
        "latency_mean_s": round(statistics.mean(latencies), 3),
        "latency_p50_s": round(statistics.median(latencies), 3),
        "latency_max_s": round(max(latencies), 3),
    }


def cache_hit_latency(base_url: str, model: str, repeats: int = 50) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        config = LLMConfig(model=f"endpoint:{model}", base_url=base_url)
        with open_llm(config, cache=ResponseCache(Path(tmp) / "c.sqlite")) as llm:
            messages = [{"role": "user", "content": "Cache me."}]
            llm.chat(messages, max_tokens=8)
            times = []
            for _ in range(repeats):
                started = time.perf_counter()
                assert llm.chat(messages, max_tokens=8).cached
                times.append(time.perf_counter() - started)
    return {
        "repeats": repeats,
        "latency_mean_ms": round(1000 * statistics.mean(times), 3),
        "latency_p50_ms": round(1000 * statistics.median(times), 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=DEFAULT_LOCAL_MODEL)
    parser.add_argument("--threads", default="1,2", help="comma-separated -t values to compare")
    parser.add_argument("--parallel", type=int, default=4, help="server slots")
    parser.add_argument("--requests", type=int, default=8, help="requests per measurement")
    parser.add_argument("--max-tokens", type=int, default=32)
    args = parser.parse_args()

    runs = []
    for threads in (int(t) for t in args.threads.split(",")):
        started = time.perf_counter()
        server = start_llama_server(
            args.model, parallel=args.parallel, threads=threads, ctx_per_slot=1024
        )
        startup = time.perf_counter() - started
        try:
            config = LLMConfig(
                model=f"endpoint:{args.model}",
                base_url=server.base_url,
                cache=False,
                concurrency=args.parallel,
            )
            with open_llm(config) as llm:
                _one(llm, 0, 4)  # warm-up
                for concurrency in (1, 4):
                    row = measure(llm, concurrency, args.requests, args.max_tokens)
                    runs.append({"threads": threads, "startup_s": round(startup, 2), **row})
            cache = cache_hit_latency(server.base_url, args.model)
        finally:
            server.stop()

    result = {
        "model": args.model,
        "parallel": args.parallel,
        "max_tokens": args.max_tokens,
        "cpus": os.cpu_count(),
        "machine": platform.processor() or platform.machine(),
        "load_avg_at_end": os.getloadavg()[0],
        "runs": runs,
        "cache_hit": cache,
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(result, indent=2) + "\n")

    table = Table(
        title=f"llama-server {args.model}, {args.parallel} slots, {args.max_tokens} tokens"
    )
    for col in ("-t", "conc.", "req", "tok/s", "lat mean s", "lat p50 s", "lat max s", "wall s"):
        table.add_column(col, justify="right")
    for r in runs:
        table.add_row(
            str(r["threads"]),
            str(r["concurrency"]),
            str(r["requests"]),
            f"{r['tokens_per_s']:.1f}",
            f"{r['latency_mean_s']:.2f}",
            f"{r['latency_p50_s']:.2f}",
            f"{r['latency_max_s']:.2f}",
            f"{r['wall_s']:.2f}",
        )
    console = Console()
    console.print(table)
    console.print(
        f"cache hit: {cache['latency_mean_ms']:.2f} ms mean, "
        f"{cache['latency_p50_ms']:.2f} ms p50 over {cache['repeats']}"
    )
    console.print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
