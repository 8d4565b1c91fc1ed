"""Run a prompt task end to end: projection, the loop, then the final prompt on the test split.

`run_prompt` wraps `workbench.runs.start_run`: it builds the `PromptOptimizer` itself (so it can
read the final prompt), runs the loop, evaluates the final prompt once on the test split and adds
a ``prompt`` block to the run's summary.json (and writes prompt.json): validation and test
accuracy, their gap, projected and actual calls. `project_task` gives the projection before a
run (for the CLI to print).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from workbench.errors import ConfigError
from workbench.optimizers.base import OptimizerContext
from workbench.tasks import TaskFile, build_task, load_task_file
from workbench.tasks.prompt.budget import CallProjection
from workbench.tasks.prompt.kind import PromptTask

__all__ = ["PROMPT_OPTIMIZERS", "PromptRunResult", "project_task", "run_prompt"]

PROMPT_OPTIMIZERS = ("ape", "opro", "protegi", "exemplars", "exemplars_opt", "joint")


@dataclass
class PromptRunResult:
    """What `run_prompt` returns: the loop's `RunResult` and the ``prompt`` summary block."""

    run: Any
    prompt: dict[str, Any]


def _method(name: str) -> str:
    return "exemplars" if name == "exemplars_opt" else name


def project_task(task_file: TaskFile | str | Path) -> CallProjection:
    """The projected task-model and optimizer-model calls of a prompt task file's run.

    Raises:
        ConfigError: not a prompt task, or not a prompt optimizer.
    """
    from workbench.optimizers.prompt.settings import make_plan, project_plan

    tf = task_file if isinstance(task_file, TaskFile) else load_task_file(task_file)
    if tf.kind != "prompt" or tf.optimizer.name not in PROMPT_OPTIMIZERS:
        raise ConfigError(
            f"project_task needs kind 'prompt' and one of {PROMPT_OPTIMIZERS}, got kind "
            f"{tf.kind!r} with optimizer {tf.optimizer.name!r}"
        )
    task = build_task(tf)
    assert isinstance(task, PromptTask)
    plan = make_plan(_method(tf.optimizer.name), tf.optimizer.settings, task.evaluations)
    s = task.splits
    return project_plan(
        plan, val_size=len(s.val), test_size=len(s.test), train_size=len(s.train or s.val)
    )


def run_prompt(
    task: str | Path | TaskFile,
    runs_dir: Path | None = None,
    *,
    use_cache: bool = True,
    on_event: Any = None,
    make_llm: Any = None,
    task_client: Any = None,
    test: bool = True,
) -> PromptRunResult:
    """Run a prompt task file and evaluate the final prompt on the test split.

    Args:
        task: task-file path or loaded `TaskFile` (kind ``prompt``, a prompt optimizer).
        runs_dir: where the run folder goes.
        use_cache: reuse evaluations of equal candidates (False: every proposal runs, so the
            task-model calls equal the projection exactly).
        on_event: progress events (see `start_run`).
        make_llm: builds the optimizer-model client (tests: a `ScriptedLLM`).
        task_client: the task-model client to use instead of opening ``task_llm``.
        test: evaluate the final prompt on the test split.
    """
    from workbench.optimizers.prompt.optimizer import PromptOptimizer
    from workbench.runs import start_run

    tf = task if isinstance(task, TaskFile) else load_task_file(task)
    made: list[PromptOptimizer] = []

    def factory(ctx: OptimizerContext) -> PromptOptimizer:
        if task_client is not None and isinstance(ctx.task, PromptTask):
            ctx.task.use_client(task_client)
        opt = PromptOptimizer(ctx, _method(tf.optimizer.name), tf.optimizer.settings)
        made.append(opt)
        return opt

    result = start_run(
        tf, runs_dir, use_cache=use_cache, on_event=on_event, optimizer=factory, make_llm=make_llm
    )
    opt = made[0]
    task_obj = opt.task
    try:
        final = opt.final()
        block: dict[str, Any] = {
            "method": opt.method,
            "plan": opt.plan.to_dict(),
            "projection": opt.projection.to_dict(),
            "projection_with_pool": opt.exemplar_projection,
            "pool_size": len(opt.pool.model),
            "parse_failures": opt.parse_failures,
            "minibatch_calls": opt.minibatch_calls,
            "evaluations": len(opt.records),
        }
        if final is not None:
            payload = opt.final_payload() or {}
            block["final"] = {"id": final.id, "stage": final.stage, "payload": payload}
            block["val_accuracy"] = final.score
            if test:
                t = task_obj.evaluate_test(payload)
                block["test_accuracy"], block["test_size"] = t["accuracy"], t["n"]
                if t["accuracy"] is not None:
                    block["gap"] = final.score - t["accuracy"]
        usage = task_obj.usage
        block["task_usage"] = usage.to_dict() if usage is not None else None
        block["optimizer_usage"] = result.summary.get("llm")
        block["actual"] = {
            "task_calls": 0 if usage is None else usage.calls,
            "optimizer_calls": (result.summary.get("llm") or {}).get("calls", 0),
        }
        result.summary["prompt"] = block
        result.run.write_summary(result.summary)
        (result.run.path / "prompt.json").write_text(
            json.dumps(block, indent=1, default=str), encoding="utf-8"
        )
    finally:
        task_obj.close()
    return PromptRunResult(result, block)
