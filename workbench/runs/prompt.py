"""Run a prompt task end to end: projection, the loop, then the final prompt on the test split.

`run_prompt` wraps `start_run` (which, like ``workbench optimize``, logs the plan first and
scores the final prompt on the test split through the generic hooks) and adds a ``prompt`` block
to the run's summary.json (and prompt.json): validation and test accuracy, their gap, projected
and actual calls, the pool size. The projection of a task file without a run is
`workbench.optimizers.prompt.project_task`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from workbench.optimizers import RunContext
from workbench.optimizers.prompt.optimizer import PromptOptimizer
from workbench.optimizers.prompt.project import prompt_method
from workbench.runs.runner import RunResult, start_run
from workbench.tasks import TaskFile, load_task_file
from workbench.tasks.prompt.kind import PromptTask

__all__ = ["PromptRunResult", "run_prompt"]


@dataclass
class PromptRunResult:
    """What `run_prompt` returns: the loop's `RunResult` and the ``prompt`` summary block."""

    run: RunResult
    prompt: dict[str, Any]


def run_prompt(
    task: str | Path | TaskFile,
    runs_dir: Path | None = None,
    *,
    use_cache: bool = True,
    on_event: Any = None,
    make_llm: Any = None,
    make_task_llm: Any = None,
    task_client: Any = None,
) -> PromptRunResult:
    """Run a prompt task file with `start_run` and gather its ``prompt`` block.

    The loop itself prints nothing here and does what ``workbench optimize`` does: the plan
    (`PromptOptimizer.plan`) is logged before the run, the final prompt is scored once on the
    test split (`PromptTask.finalize`, summary.json ``final``). This adds a ``prompt`` block
    to summary.json (and prompt.json) with the optimizer's internals next to those numbers.

    Args:
        task: task-file path or loaded `TaskFile` (kind ``prompt``, a prompt optimizer).
        runs_dir: where the run folder goes.
        use_cache: reuse evaluations of equal candidates (False: every proposal runs, so the
            task-model calls equal the projection exactly).
        on_event: progress events (see `start_run`).
        make_llm: builds the optimizer-model client (tests: a `ScriptedLLM`).
        make_task_llm: builds the task-model client (``make_task_llm(budget=, on_call=)``);
            its calls share the run's budget and are logged with ``role: task``.
        task_client: a ready task-model client, used as is (outside the run's budget).
    """
    tf = task if isinstance(task, TaskFile) else load_task_file(task)
    made: list[PromptOptimizer] = []

    def factory(ctx: RunContext) -> PromptOptimizer:
        if task_client is not None and isinstance(ctx.task, PromptTask):
            ctx.task.use_client(task_client)
        opt = PromptOptimizer(ctx, prompt_method(tf.optimizer.name), tf.optimizer.settings)
        made.append(opt)
        return opt

    result = start_run(
        tf,
        runs_dir,
        use_cache=use_cache,
        on_event=on_event,
        optimizer=factory,
        make_llm=make_llm,
        make_task_llm=make_task_llm,
    )
    opt = made[0]
    final = result.summary.get("final") or {}
    task_usage = result.summary.get("task_llm")
    if task_usage is None and task_client is not None:
        task_usage = task_client.usage.to_dict()
    block: dict[str, Any] = {
        "method": opt.method,
        "plan": opt.spec.to_dict(),
        "projection": opt.projection.to_dict(),
        "projection_with_pool": opt.exemplar_projection,
        "pool_size": len(opt.pool.model),
        "parse_failures": opt.parse_failures,
        "minibatch_calls": opt.minibatch_calls,
        "evaluations": len(opt.records),
        "task_usage": task_usage,
        "optimizer_usage": result.summary.get("llm"),
        "actual": {
            "task_calls": (task_usage or {}).get("calls", 0),
            "optimizer_calls": (result.summary.get("llm") or {}).get("calls", 0),
            "val_examples": opt.val_examples,
        },
    }
    if final:
        rec = opt.final()
        block["final"] = {
            "id": final["id"],
            "stage": rec.stage if rec is not None else None,
            "payload": final["payload"],
        }
        for key in ("val_accuracy", "test_accuracy", "test_size", "gap"):
            if key in final:
                block[key] = final[key]
    result.summary["prompt"] = block
    result.run.write_summary(result.summary)
    (result.run.path / "prompt.json").write_text(
        json.dumps(block, indent=1, default=str), encoding="utf-8"
    )
    return PromptRunResult(result, block)
