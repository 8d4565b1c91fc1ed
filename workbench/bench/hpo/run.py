"""The bench grid (`run_bench`), one run of it (optimizer x task x seed) and its projection."""

from __future__ import annotations

import json
import math
import tempfile
import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import optuna

from workbench.bench.hpo.suite import (
    BENCH_OPTIMIZERS,
    SuiteTask,
    compute_reference,
    initial_configs,
    load_reference,
    load_suite,
)
from workbench.bench.server import bench_server
from workbench.errors import ConfigError
from workbench.llm import MeteredLLM
from workbench.optimizers import make_optimizer
from workbench.optimizers.llambo import LlamboSettings, prompts, tpe_share
from workbench.optimizers.llambo.cost import estimate_step_cost, read_server_log
from workbench.optimizers.llambo.serialize import config_row, snap_config
from workbench.runs import start_run
from workbench.tasks.bayesmark import RunRecord, summarize

__all__ = ["Projection", "project", "run_bench", "run_one", "token_counter"]


def _trial_losses(study: Any, sign: float) -> tuple[list[float], int]:
    """Losses in trial order and the number of evaluations that repeat an earlier one exactly."""
    losses, keys, dups = [], set(), 0
    for t in sorted(study.get_trials(deepcopy=False), key=lambda t: t.number):
        if t.state not in (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.FAIL):
            continue
        key = json.dumps(t.params, sort_keys=True)
        dups += key in keys
        keys.add(key)
        ok = t.state == optuna.trial.TrialState.COMPLETE and t.value is not None
        losses.append(sign * float(t.value) if ok else math.inf)
    return losses, dups


def run_one(
    task: SuiteTask,
    bench_name: str,
    seed: int,
    evaluations: int,
    runs_dir: Path,
    shared_llm: Any = None,
    n_init: int = 5,
    log_path: Path | None = None,
) -> RunRecord:
    """Run one optimizer on one task and seed from the fixed initial points.

    `log_path`: the llama-server log, read for what the server processed during the run.
    """
    name, settings = BENCH_OPTIMIZERS[bench_name]
    settings = dict(settings)
    if name == "llambo":
        settings.setdefault("context", task.task_file.description)
    budget = task.task_file.budget.model_copy(update={"evaluations": evaluations})
    task_file = task.task_file.model_copy(update={"seed": seed, "budget": budget, "parallel": 1})
    holder: list[Any] = []

    def build(ctx: Any) -> Any:
        storage = f"sqlite:///{(ctx.run_dir / 'optuna.sqlite').resolve()}"
        study = optuna.create_study(
            storage=storage,
            study_name=ctx.run_dir.resolve().name,
            direction=task.direction,
            load_if_exists=True,
        )
        if not study.trials:
            for config in initial_configs(task, seed, n_init):
                study.enqueue_trial(config, user_attrs={"llambo_source": "init"})
        study._storage.engine.dispose() if hasattr(study._storage, "engine") else None
        opt = make_optimizer(name, settings, ctx)
        holder.append(opt)
        return opt

    make_llm = None
    if shared_llm is not None:

        def make_llm(budget: Any = None, on_call: Any = None) -> Any:
            return MeteredLLM(shared_llm, budget=budget, on_call=on_call)

    offset = log_path.stat().st_size if log_path is not None and log_path.is_file() else 0
    started = time.time()
    result = start_run(task_file, runs_dir, optimizer=build, make_llm=make_llm)
    wall = time.time() - started
    study = optuna.load_study(
        study_name=result.run.path.resolve().name,
        storage=f"sqlite:///{(result.run.path / 'optuna.sqlite').resolve()}",
    )
    sign = -1.0 if task.direction == "maximize" else 1.0
    losses, dups = _trial_losses(study, sign)
    stats = holder[0].state().get("stats", {}) if holder else {}
    server = read_server_log(log_path, offset)[0] if log_path is not None else None
    return RunRecord(
        optimizer=bench_name,
        task=task.name,
        seed=seed,
        losses=losses,
        duplicates=dups,
        llm_calls=int(stats.get("llm_calls", 0)),  # HTTP requests, repair calls included
        tokens=int(stats.get("prompt_tokens", 0)) + int(stats.get("completion_tokens", 0)),
        steps=max(len(losses) - n_init, 1),
        wall_s=round(wall, 1),
        stats=stats,
        prompt_tokens=int(stats.get("prompt_tokens", 0)),
        completion_tokens=int(stats.get("completion_tokens", 0)),
        server_prompt_processed=server.prompt_processed if server else 0,
        server_generated=server.generated if server else 0,
        llm_s=round((server.prompt_ms + server.generate_ms) / 1000, 1) if server else 0.0,
    )


def run_bench(
    optimizers: list[str],
    tasks: list[str] | None,
    seeds: list[int],
    evaluations: int = 30,
    model: str | None = None,
    runs_dir: Path | None = None,
    on_record: Callable[[RunRecord], None] | None = None,
    *,
    max_hours: float | None = None,
    threads: int = 1,
    prompt_tps: float = 68.0,
    gen_tps: float = 26.0,
    on_projection: Callable[[Projection], None] | None = None,
    reference_evaluations: int = 200,
) -> dict[str, Any]:
    """Run optimizers x tasks x seeds; returns ``{"summary", "records", "setup"}`` (JSON).

    Args:
        optimizers: names in `BENCH_OPTIMIZERS`.
        tasks: suite task names, or paths of a user's own hpo task files or folders of them
            (None: the suite's 9).
        seeds: the seeds (each fixes the 5 initial points).
        evaluations: evaluations per run, initial points included.
        model: the LLM (`LLMConfig.model`, e.g. ``local:qwen2.5-coder-1.5b-instruct``), one
            client shared by every run; None: the default local model.
        runs_dir: where run folders go (default: a temporary folder).
        on_record: called after each run.
        max_hours: refuse to start when the projection exceeds it, and start no new run once
            it has passed (the result then says ``stopped_early``).
        threads: llama-server threads (one slot) for a local model.
        prompt_tps, gen_tps: the model's prompt and generation rates for the projection.
        on_projection: called with the projection before the first run.
        reference_evaluations: evaluations of the regret reference of a task outside the
            suite (half random, half TPE; `compute_reference`), computed before its runs.

    Raises:
        ConfigError: unknown optimizer or task, or a projection over `max_hours`.
    """
    unknown = [o for o in optimizers if o not in BENCH_OPTIMIZERS]
    if unknown:
        raise ConfigError(f"unknown optimizer(s) {unknown}; known: {', '.join(BENCH_OPTIMIZERS)}")
    suite = load_suite(tasks)
    shipped = load_reference() if any(t.in_suite for t in suite) else {}
    reference = {t.name: shipped[t.name] for t in suite if t.in_suite and t.name in shipped}
    missing = [t.name for t in suite if t.in_suite and t.name not in reference]
    if missing:
        raise ConfigError(f"no regret reference for {missing}: run bench/bayesmark_reference.py")
    records: list[RunRecord] = []
    started = time.time()
    stopped = False
    with ExitStack() as stack:
        optuna.logging.set_verbosity(optuna.logging.WARNING)
        shared, log_path = None, None
        uses_llm = any(BENCH_OPTIMIZERS[o][0] == "llambo" for o in optimizers)
        if uses_llm:
            shared, log_path = stack.enter_context(bench_server(model, threads))
        count = token_counter(shared)
        own = [t for t in suite if not t.in_suite]
        projection = project(
            suite, optimizers, seeds, evaluations, count, prompt_tps, gen_tps,
            reference_runs={t.name: reference_evaluations for t in own},
        )  # fmt: skip
        if on_projection is not None:
            on_projection(projection)
        if max_hours is not None and projection.total_s > max_hours * 3600:
            raise ConfigError(
                f"the bench is projected to take {projection.total_s / 3600:.2f} h, over "
                f"--max-hours {max_hours}; run fewer tasks/seeds/evaluations or raise --max-hours"
            )
        for task in own:
            half = max(reference_evaluations // 2, 1)
            reference[task.name] = compute_reference(task, half, half) | {"computed": True}
        if runs_dir is None:
            runs_dir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-hpo-")))
        for task in suite:
            for seed in seeds:
                for name in optimizers:
                    if max_hours is not None and time.time() - started > max_hours * 3600:
                        stopped = True
                        break
                    rec = run_one(
                        task, name, seed, evaluations, runs_dir, shared_llm=shared,
                        log_path=log_path,
                    )  # fmt: skip
                    records.append(rec)
                    if on_record is not None:
                        on_record(rec)
    return {
        "summary": summarize(records, reference) if records else {},
        "records": [asdict(r) for r in records],
        "setup": {
            "optimizers": optimizers,
            "tasks": [t.name for t in suite],
            "task_files": {t.name: str(t.path) for t in suite if not t.in_suite},
            "references": {t.name: reference[t.name] for t in suite if not t.in_suite},
            "seeds": seeds,
            "evaluations": evaluations,
            "model": model,
            "threads": threads,
            "projection": asdict(projection) | {"total_s": projection.total_s},
            "wall_s": round(time.time() - started, 1),
            "stopped_early": stopped,
        },
    }


@dataclass
class Projection:
    """The bench's projected wall time, from prompt sizes, token rates and timed evaluations."""

    llm_s: float
    eval_s: float
    llm_steps: float
    first_prompt: float
    step_prompt: float
    step_completion: float

    @property
    def total_s(self) -> float:
        """Projected seconds of the whole bench."""
        return self.llm_s + self.eval_s

    def text(self) -> str:
        """One line for the terminal."""
        return (
            f"projected {self.total_s / 60:.0f} min: LLM {self.llm_s / 60:.0f} min "
            f"({self.llm_steps:.0f} LLM steps; per step ~{self.step_prompt:.0f} new prompt + "
            f"~{self.step_completion:.0f} generated tokens; first call of a run "
            f"~{self.first_prompt:.0f} prompt tokens), evaluations {self.eval_s / 60:.0f} min"
        )


def project(
    suite: list[SuiteTask],
    optimizers: list[str],
    seeds: list[int],
    evaluations: int,
    count: Callable[[str], int],
    prompt_tps: float = 68.0,
    gen_tps: float = 26.0,
    calls_per_step: float = 1.3,
    overhead_s: float = 0.25,
    n_init: int = 5,
    reference_runs: dict[str, int] | None = None,
) -> Projection:
    """Project the bench's wall time before it starts.

    LLM time per LLAMBO run: the first prompt in full, then per LLM step the prompt tokens
    beyond the cached prefix and the answer (`n_candidates` rows), at the given rates, times
    `calls_per_step` (re-asks, repairs). Evaluation time: one timed evaluation per task (after
    a warm-up one) plus `overhead_s` (loop, storage, TPE) per evaluation, for every optimizer,
    and the `reference_runs` evaluations of the tasks whose regret reference is computed.
    """
    llm_s = eval_s = steps = 0.0
    sums = [0.0, 0.0, 0.0]  # first prompt, step prompt, step completion: weighted by runs
    for task in suite:
        space = task.search_space()
        inits = initial_configs(task, seeds[0] if seeds else 0, n_init + 1)
        task.objective(inits[0])  # warm: data loading and imports are paid once per bench
        started = time.perf_counter()
        task.objective(inits[1])
        one_eval = time.perf_counter() - started + overhead_s
        eval_s += one_eval * evaluations * len(seeds) * len(optimizers)
        eval_s += one_eval * (reference_runs or {}).get(task.name, 0)
        for name in optimizers:
            opt_name, settings = BENCH_OPTIMIZERS[name]
            if opt_name != "llambo":
                continue
            s = LlamboSettings.model_validate(settings)
            # the zero-shot call after the inits (counted as one step), then the sampler's
            n_warm = s.warm_start_after_inits
            n_steps = (n_warm > 0) + sum(
                1 - tpe_share(s, n) for n in range(n_init + n_warm, evaluations)
            )
            obs = [
                prompts.Observation(snap_config(c, space), 0.9 - 0.0123 * i)
                for i, c in enumerate(inits)
            ]
            head = (task.task_file.description or task.name, task.task.primary, task.direction)
            first = prompts.candidate_messages(*head, space, obs[:n_init], s.n_candidates, 0.95)
            nxt = prompts.candidate_messages(*head, space, obs, s.n_candidates, 0.95)
            row = config_row(obs[0].config, space)
            cost = estimate_step_cost(first, nxt, row, s.n_candidates, n_steps, count)
            runs = len(seeds)
            llm_s += runs * cost.seconds(prompt_tps, gen_tps, calls_per_step)
            steps += runs * n_steps
            sums[0] += runs * cost.first_prompt
            sums[1] += runs * n_steps * cost.step_prompt
            sums[2] += runs * n_steps * cost.step_completion
    n_runs = len(seeds) * len(suite) * sum(BENCH_OPTIMIZERS[o][0] == "llambo" for o in optimizers)
    return Projection(
        llm_s,
        eval_s,
        steps,
        sums[0] / max(n_runs, 1),
        sums[1] / max(steps, 1),
        sums[2] / max(steps, 1),
    )


def token_counter(client: Any) -> Callable[[str], int]:
    """Tokens of a text: the server's tokenizer when there is one, else ~3.2 characters each."""

    def estimate(text: str) -> int:
        return max(1, round(len(text) / 3.2))

    tokenize = getattr(client, "tokenize", None)
    if tokenize is None:
        return estimate

    def count(text: str) -> int:
        try:
            return len(tokenize(text))
        except Exception:  # an endpoint without /tokenize
            return estimate(text)

    return count
