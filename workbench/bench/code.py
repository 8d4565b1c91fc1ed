"""`workbench bench code`: code generators x problems, scored by pass@1 / pass@k on hidden tests.

Problems are a fixed 20-problem HumanEval subset (`HUMANEVAL_SUBSET`: every 8th id from
HumanEval/0 to HumanEval/152) and/or the MPI library in ``tasks/mpi/`` (C++: every generator
writes the one function of each problem). Each (generator, problem) pair is one run of the loop
(`workbench.runs.start_run`) at the generator's stated budget (`BENCH_GENERATORS`, shown in the
tables' ``budget`` column); every run shares one LLM client.

Budgets and stopping: each generator has its own natural budget in LLM calls (the same on both
kinds) and stops by its own rule at public 1.0 (`sample` / `funcoder` stop proposing; `pgtd`'s
search stops at reward 1 and its task sets ``stop.target: 1.0``); `sample-n` spends all its
samples. Wall time (`WALL_TIME_S`) is a safety net: the call budget, not the clock, ends a run.
Before a run, `workbench.bench.code_plan.project` projects every run spending its whole
budget; the CLI prints it, refuses over ``--max-hours`` (exit 2), and the JSON keeps it
(``projection``) next to the measured wall time (``measured``) and per-record projected calls.

Per problem: pass@1 = the best candidate (by public tests, as the loop picks it) passes every
hidden test (``hidden_pass_rate == 1``; for `mpi`, ``passed == 1``: it validated at every np);
pass@k = the unbiased estimator (`workbench.tasks.mpi.metrics.pass_at_k`) over the n programs
the run evaluated, for each k <= n (i.i.d. samples only for ``sample-n``; for the search
generators it is "one of k of its programs passes"); LLM calls, prompt/completion tokens, wall time.

Example::

    workbench bench code --generators sample,funcoder --problems humaneval --limit 3 \
        --model local:qwen2.5-coder-0.5b-instruct --out bench/results/codegen-smoke.json
"""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from workbench.bench.code_plan import project
from workbench.bench.code_setup import (
    BENCH_GENERATORS,
    HUMANEVAL_SUBSET,
    WALL_TIME_S,
    BenchGenerator,
    budget_text,
    mpi_library,
    select_problems,
    task_yaml,
)
from workbench.bench.code_tables import format_markdown, problems_table, summary_table
from workbench.bench.server import bench_server
from workbench.errors import ConfigError, EndpointError, RunError
from workbench.llm import MeteredLLM
from workbench.runs import start_run
from workbench.tasks import parse_task_text
from workbench.tasks.mpi.metrics import pass_at_k

__all__ = [
    "BENCH_GENERATORS",
    "DEFAULT_CODE_MODEL",
    "HUMANEVAL_SUBSET",
    "KS",
    "WALL_TIME_S",
    "BenchGenerator",
    "ProblemRecord",
    "budget_text",
    "format_markdown",
    "mpi_library",
    "problems_table",
    "run_code_bench",
    "run_problem",
    "select_problems",
    "summarize_code",
    "summary_table",
    "task_yaml",
]

DEFAULT_CODE_MODEL = "local:qwen2.5-coder-1.5b-instruct"
KS = (1, 5, 10)


@dataclass
class ProblemRecord:
    """One (generator, problem) run: pass@1 of its best program, pass@k, and its costs.

    Attributes:
        status: ``ok``, ``unsupported`` (the generator refuses the kind) or ``error``.
        samples: programs evaluated; correct: those passing every hidden test.
        pass_at: ``{"1": p, "5": p, ...}``, the unbiased pass@k for every k in `KS` <= samples.
        projected_calls: the calls of the run's projection (its whole budget spent);
            projected_first_pass_calls: those when its first program passes the public
            checks; projected_wall_s: the projected time of the whole budget
            (`workbench.bench.code_plan`).
    """

    generator: str
    problem: str
    kind: str
    passed: bool
    samples: int = 0
    correct: int = 0
    pass_at: dict[str, float] = field(default_factory=dict)
    best_public: float | None = None
    best_hidden: float | None = None
    llm_calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    wall_s: float = 0.0
    stop_reason: str | None = None
    status: str = "ok"
    error: str | None = None
    budget: str = ""
    projected_calls: int | None = None
    projected_first_pass_calls: int | None = None
    projected_wall_s: float | None = None


def _correct(kind: str, scores: dict[str, float]) -> bool:
    if kind == "mpi":
        return scores.get("passed", 0.0) >= 1.0
    key = "hidden_pass_rate" if "hidden_pass_rate" in scores else "public_pass_rate"
    return scores.get(key, 0.0) >= 1.0


def run_problem(
    name: str,
    kind: str,
    problem: str,
    runs_dir: Path,
    *,
    make_llm: Callable[..., Any] | None = None,
    sandbox: str = "auto",
    seed: int = 0,
) -> ProblemRecord:
    """Run generator `name` on one problem through the loop; returns its record."""
    task_file = parse_task_text(task_yaml(name, kind, problem, sandbox, seed), runs_dir)
    evals: dict[str, dict[str, float]] = {}
    order: list[str] = []

    def on_event(event: dict[str, Any]) -> None:
        if event.get("type") == "evaluation":
            order.append(event["id"])
            ok = event.get("status") == "ok"
            evals[event["id"]] = dict(event.get("scores") or {}) if ok else {}

    record = ProblemRecord(
        generator=name, problem=problem, kind=kind, passed=False, budget=budget_text(name, kind)
    )
    started = time.time()
    try:
        result = start_run(task_file, runs_dir, on_event=on_event, make_llm=make_llm)
    except ConfigError as exc:  # the task file parsed: the generator refuses this kind
        record.status, record.error = "unsupported", str(exc)
        return record
    except (RunError, EndpointError) as exc:  # EndpointError: e.g. pgtd on a chat-only endpoint
        record.status, record.error = "error", f"{type(exc).__name__}: {exc}"
        record.wall_s = round(time.time() - started, 1)
        return record
    record.wall_s = round(time.time() - started, 1)
    summary = result.summary
    usage = summary.get("llm") or {}
    record.llm_calls = int(usage.get("calls", 0))
    record.prompt_tokens = int(usage.get("prompt_tokens", 0))
    record.completion_tokens = int(usage.get("completion_tokens", 0))
    record.stop_reason = summary.get("stop_reason")
    record.samples = len(order)
    record.correct = sum(_correct(kind, evals[cid]) for cid in order)
    record.pass_at = _pass_at(record.samples, record.correct)
    best = summary.get("best") or {}
    scores = evals.get(str(best.get("id")), {})
    if scores:
        record.best_public = scores.get("public_pass_rate", scores.get("np_pass_rate"))
        record.best_hidden = scores.get("hidden_pass_rate", scores.get("passed"))
        record.passed = _correct(kind, scores)
    return record


def _pass_at(n: int, c: int) -> dict[str, float]:
    return {str(k): pass_at_k(n, c, k) for k in KS if k <= n}


def summarize_code(records: list[ProblemRecord]) -> dict[str, Any]:
    """Per generator and kind: problems, pass@1, mean pass@k, mean calls/tokens/wall time.

    Unsupported or failed runs are counted (`skipped`, `errors`); a failed run counts as not
    passed, an unsupported one is left out.
    """
    out: dict[str, Any] = {}
    for r in records:
        out.setdefault(r.generator, {}).setdefault(r.kind, []).append(r)
    summary: dict[str, Any] = {}
    for gen, kinds in out.items():
        for kind, rows in kinds.items():
            done = [r for r in rows if r.status != "unsupported"]
            row: dict[str, Any] = {
                "problems": len(done),
                "skipped": len(rows) - len(done),
                "errors": sum(r.status == "error" for r in done),
            }
            if done:
                row["pass@1"] = statistics.mean(float(r.passed) for r in done)
                for k in KS:
                    vals = [r.pass_at[str(k)] for r in done if str(k) in r.pass_at]
                    if vals and k > 1:
                        row[f"pass@{k}"] = statistics.mean(vals)
                        row[f"pass@{k}_problems"] = len(vals)
                for key in ("llm_calls", "prompt_tokens", "completion_tokens", "wall_s"):
                    row[f"mean_{key}"] = statistics.mean(getattr(r, key) for r in done)
                row["total_wall_s"] = round(sum(r.wall_s for r in done), 1)
                row["budget"] = done[0].budget
            summary.setdefault(gen, {})[kind] = row
    return summary


def run_code_bench(
    generators: list[str],
    problems: list[tuple[str, str]],
    *,
    model: str | None = DEFAULT_CODE_MODEL,
    runs_dir: Path | None = None,
    sandbox: str = "auto",
    make_llm: Callable[..., Any] | None = None,
    on_record: Callable[[ProblemRecord, dict[str, Any]], None] | None = None,
    projection: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Run generators x problems; returns ``{"setup", "summary", "records", "projection",
    "measured"}`` (JSON).

    Args:
        generators: names in `BENCH_GENERATORS`.
        problems: (kind, id) pairs, e.g. from `select_problems`.
        model: the LLM shared by every run (``local:<name>`` starts a 1-slot, 1-thread server).
        runs_dir: where run folders go (default: a temporary folder).
        sandbox: the sandbox backend of every task (``auto``, ``docker``, ``local``).
        make_llm: builds each run's client instead of `model` (tests: a `ScriptedLLM`).
        on_record: called after each run with its record and the result so far.
        projection: `workbench.bench.code_plan.project`'s result for these runs; it is
            stored next to the measured wall time, and each record gets its run's projected
            calls and time (None: computed here).

    Raises:
        ConfigError: an unknown generator name.
    """
    unknown = [g for g in generators if g not in BENCH_GENERATORS]
    if unknown:
        raise ConfigError(f"unknown generator(s) {unknown}; known: {', '.join(BENCH_GENERATORS)}")
    if projection is None:
        projection = project(generators, problems)
    planned = {(r["generator"], r["problem"]): r for r in projection["runs"]}
    records: list[ProblemRecord] = []
    started = time.time()
    setup = {
        "generators": {g: asdict(BENCH_GENERATORS[g]) for g in generators},
        "wall_time_s": dict(WALL_TIME_S),
        "stop": "each generator's own rule at public 1.0 (pgtd: stop.target 1.0); see budget",
        "problems": [p for _, p in problems],
        "humaneval_subset": "every 8th id, HumanEval/0..HumanEval/152 (20 problems)",
        "model": model if make_llm is None else "scripted",
        "sandbox": sandbox,
    }

    def result() -> dict[str, Any]:
        return {
            "setup": setup,
            "summary": summarize_code(records),
            "records": [asdict(r) for r in records],
            "projection": projection,
            "measured": {
                "wall_s": round(time.time() - started, 1),
                "runs": len(records),
                "projected_s_of_these_runs": round(
                    sum(r.projected_wall_s or 0.0 for r in records), 1
                ),
                "projected_total_s": projection["total_s"],
            },
        }

    with ExitStack() as stack:
        build = make_llm
        if build is None:
            shared, _ = stack.enter_context(bench_server(model))

            def build(budget: Any = None, on_call: Any = None) -> Any:
                return MeteredLLM(shared, budget=budget, on_call=on_call)

        if runs_dir is None:
            runs_dir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-code-")))
        for kind, problem in problems:
            for name in generators:
                rec = run_problem(name, kind, problem, runs_dir, make_llm=build, sandbox=sandbox)
                plan = planned.get((name, problem))
                if plan is not None:
                    rec.projected_calls = plan["llm_calls"]
                    rec.projected_first_pass_calls = plan["first_pass_calls"]
                    rec.projected_wall_s = plan["projected_s"]
                records.append(rec)
                if on_record is not None:
                    on_record(rec, result())
    return result()
