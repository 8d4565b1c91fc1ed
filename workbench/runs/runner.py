"""Start, resume and finish runs: wires a task file to the loop and the run folder.

Example:
    >>> from workbench.runs import start_run               # doctest: +SKIP
    >>> result = start_run("tasks/hpo/quickstart.yaml")         # doctest: +SKIP
    >>> result.summary["best"]["score"]                     # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import logging
import shutil
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from workbench.agents import Loop, LoopSettings, RunStore, open_checkpointer, run_graph
from workbench.contracts import better
from workbench.errors import BudgetExceeded, UserError
from workbench.llm import Budget, LLMConfig
from workbench.optimizers import Optimizer, RunContext, SettingsError, make_optimizer
from workbench.runs.rundir import (
    EventLog,
    RunDir,
    create_run,
    default_runs_dir,
    find_run,
    read_events,
)
from workbench.sandbox import open_sandbox
from workbench.tasks import TaskFile, build_task, load_task_file, parse_task_text
from workbench.tasks.loader import config_error

__all__ = ["RunResult", "Session", "check_task", "prepare_run", "resume_run", "start_run"]

log = logging.getLogger(__name__)
Event = dict[str, Any]


@dataclass
class RunResult:
    """What a finished (or stopped) run left: its folder, final loop state and summary."""

    run: RunDir
    state: dict[str, Any]
    summary: dict[str, Any]


def _llm_budget(task_file: TaskFile) -> Any:
    b = task_file.budget
    if all(v is None for v in (b.llm_calls, b.tokens, b.cost, b.wall_time_s)):
        return None
    return Budget(calls=b.llm_calls, tokens=b.tokens, cost=b.cost, wall_time_s=b.wall_time_s)


class _LazySandbox:
    """Opens the task file's sandbox on first use; closes it with the run."""

    def __init__(self, config: Any) -> None:
        self.config = config
        self.box: Any = None
        self._lock = threading.Lock()

    def __call__(self) -> Any:
        with self._lock:
            if self.box is None:
                self.box = open_sandbox(self.config if self.config is not None else "auto")
            return self.box

    def close(self) -> None:
        if self.box is not None:
            self.box.close()


def check_task(task_file: TaskFile, source: str | Path | None = None) -> dict[str, Any] | None:
    """Everything `workbench validate` checks beyond the schema: the kind and the optimizer.

    Returns:
        The optimizer's `Optimizer.plan()` (what the run will spend), or None.

    Raises:
        ConfigError: with line numbers in `source` when given.
    """
    task = build_task(task_file)
    try:
        # no run folder: what the optimizer would persist stays in memory
        ctx = RunContext(task=task, seed=task_file.seed, run_dir=None)
        try:
            opt = make_optimizer(*task_file.proposer(), ctx)
        except SettingsError as exc:
            if source is None:
                raise
            raise config_error(source, exc.problems) from None
        try:
            return opt.plan()
        finally:
            opt.close()
    finally:
        task.close()


def _summarize(
    run: RunDir,
    task_file: TaskFile,
    store: RunStore,
    state: dict[str, Any],
    reason: str | None,
    started: float,
    usage: dict[str, Any] | None,
) -> dict[str, Any]:
    rows = store.evaluations()
    best = state.get("best")
    best_full = None
    if best:
        best_full = {**best, "payload": store.candidate(best["id"]).payload}
    return {
        "run": run.name,
        "task": task_file.name,
        "kind": task_file.kind,
        "optimizer": task_file.proposer_label,
        "stop_reason": reason,
        "finished": reason is not None,
        "steps": state.get("step", 0),
        "evaluations": state.get("n_evals", 0),
        "cached": sum(1 for r in rows if r[3]),
        "statuses": dict(Counter(r[2].status for r in rows)),
        "best": best_full,
        "elapsed_s": state.get("elapsed_s", 0.0),
        "session_wall_s": time.time() - started,
        "llm": usage,
        **({"agents": agents} if (agents := _by_agent(rows)) else {}),
    }


def _by_agent(rows: list[tuple[int, Any, Any, bool]]) -> dict[str, Any] | None:
    """Per agent of a run with `agents:`: its evaluations, their statuses and its best."""
    out: dict[str, Any] = {}
    for _, cand, ev, _cached in rows:
        name = cand.meta.get("agent")
        if name is None:
            continue
        mine = out.setdefault(name, {"evaluations": 0, "statuses": Counter(), "best": None})
        mine["evaluations"] += 1
        mine["statuses"][ev.status] += 1
        score, best = ev.score, mine["best"]
        if score is not None and better(
            score, None if best is None else best["score"], ev.direction
        ):
            mine["best"] = {"id": cand.id, "score": score}
    for mine in out.values():
        mine["statuses"] = dict(mine["statuses"])
    return out or None


def _finalize(
    task: Any,
    opt: Optimizer,
    store: RunStore,
    state: dict[str, Any],
    eval_ctx: RunContext,
    previous: dict[str, Any] | None,
) -> dict[str, Any] | None:
    """`Task.finalize` on the optimizer's final candidate (once per run: a resumed finished
    run reuses the block it already wrote). A budget that runs out here is recorded, not raised.
    """
    best = state.get("best")
    candidate = opt.final_candidate(store.candidate(best["id"]) if best else None)
    if candidate is None:
        return None
    if previous and previous.get("id") == candidate.id:
        return previous
    evaluation = store.evaluation(candidate.id)
    try:
        result = task.finalize(candidate, evaluation, eval_ctx)
    except BudgetExceeded as exc:
        result = {"skipped": f"budget:{exc.limit}"}
    if result is None:
        return None
    score = evaluation.score if evaluation is not None else None
    return {"id": candidate.id, "score": score, "payload": candidate.payload, **result}


def _llm_config(task_file: TaskFile, use_cache: bool) -> Any:
    """The task file's `llm:` section; with the cache off (`--no-cache`), also the LLM cache."""
    if use_cache:
        return task_file.llm
    return (task_file.llm or LLMConfig()).model_copy(update={"cache": False})


class Session:
    """One run being executed: its task, optimizer, contexts, stores and event log.

    Built once (`prepare_run`, `resume_run`): the task and the optimizer are built and the
    optimizer's `plan()` asked here, before anything runs, so a command can show the plan and
    then `run()`. Every resource is closed by `close()` (or the ``with`` block), in the reverse
    order of opening, also when building fails halfway.
    """

    def __init__(
        self,
        run: RunDir,
        task_file: TaskFile,
        *,
        use_cache: bool,
        optimizer: Optimizer | Callable[[RunContext], Optimizer] | None = None,
        make_llm: Callable[..., Any] | None = None,
        make_task_llm: Callable[..., Any] | None = None,
    ) -> None:
        self.run_dir, self.task_file, self.use_cache = run, task_file, use_cache
        self.started = time.time()
        self.agent_llm: dict[str, Counter[str]] = {}  # agent -> its model calls in this session
        self._agent_lock = threading.Lock()
        self.on_event: Callable[[Event], None] | None = None
        self._loop: Loop | None = None
        self._early: list[Event] | None = []  # what building emitted, logged when the run starts
        self._stack = contextlib.ExitStack()
        with self._stack:  # closes what was opened if building fails
            self.resumed = run.events_jsonl.is_file() and run.events_jsonl.stat().st_size > 0
            # A kill between an evaluation's event and the step's checkpoint makes the resumed
            # loop announce that evaluation again: the log keeps one event per evaluation.
            self._announced = {
                e.get("id") for e in read_events(run.events_jsonl) if e.get("type") == "evaluation"
            }
            self.events = EventLog(run.events_jsonl)
            self._stack.callback(self.events.close)
            self.store = RunStore(run.store_sqlite)
            self._stack.callback(self.store.close)
            self.sandbox = _LazySandbox(task_file.sandbox)
            self._stack.callback(self.sandbox.close)
            budget = _llm_budget(task_file)
            self.ctx = RunContext(
                seed=task_file.seed,
                run_dir=run.path,
                llm_config=_llm_config(task_file, use_cache),
                budget=budget,
                on_call=self._recorder("optimizer"),
                make_llm=make_llm,
                emit=self._emit,
                open_sandbox=self.sandbox,
            )
            self._stack.callback(self.ctx.close)
            self.eval_ctx = RunContext(
                open_sandbox=self.sandbox,
                run_dir=run.path,
                seed=task_file.seed,
                llm_config=_llm_config(task_file, use_cache),  # the task's own calls default
                budget=budget,
                on_call=self._recorder("task"),
                make_llm=make_task_llm,
            )
            self._stack.callback(self.eval_ctx.close)
            self.task = build_task(task_file)
            self._stack.callback(self.task.close)
            self.ctx.task = self.task
            if optimizer is None:
                self.opt = make_optimizer(*task_file.proposer(), self.ctx)
            else:
                self.opt = optimizer if isinstance(optimizer, Optimizer) else optimizer(self.ctx)
            self._stack.callback(self.opt.close)
            self.task.start(self.eval_ctx)
            self.plan = self.opt.plan()
            self._stack = self._stack.pop_all()  # built: the resources now live with the session

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close everything the session opened (the optimizer first, the event log last)."""
        self._stack.close()

    # -- events ------------------------------------------------------------------------------
    def _emit(self, event: Event) -> None:
        event = {"type": "optimizer", **event}  # an event without a type still gets one
        if self._loop is not None:
            self._loop.emit(event)
        else:
            self._handle({"t": time.time(), **event})

    def _recorder(self, role: str) -> Callable[[Any], None]:
        def on_call(record: Any) -> None:
            data = record.to_dict() if hasattr(record, "to_dict") else dict(record)
            agent = data.get("agent")
            if agent is not None:  # an agent's call: its own account too
                with self._agent_lock:
                    mine = self.agent_llm.setdefault(agent, Counter())
                    mine.update(
                        calls=1,
                        prompt_tokens=int(data.get("prompt_tokens", 0)),
                        completion_tokens=int(data.get("completion_tokens", 0)),
                        cache_hits=int(bool(data.get("cached"))),
                    )
                    mine["cost"] += float(data.get("cost", 0.0))
            self._emit({"type": "llm_call", "role": role, **data})

        return on_call

    def _handle(self, event: Event) -> None:
        if self._early is not None and event.get("type") != "run":
            self._early.append(event)  # the optimizer spoke while it was built
            return
        if event.get("type") == "evaluation":
            if event.get("id") in self._announced:
                return
            self._announced.add(event.get("id"))
        self.events.write(event)
        if event.get("type") == "best":
            self.run_dir.write_best(
                {k: event.get(k) for k in ("id", "score", "step", "payload", "evaluation")}
            )
        if self.on_event is not None:
            self.on_event(event)

    # -- the run -----------------------------------------------------------------------------
    def run(self, on_event: Callable[[Event], None] | None = None) -> RunResult:
        """Run the loop to its end (or resume it), finalize, and write the summary."""
        self.on_event = on_event
        run, task_file = self.run_dir, self.task_file
        self._handle(
            {
                "t": self.started,
                "type": "run",
                "run": run.name,
                "path": str(run.path),
                "resumed": self.resumed,
            }
        )
        early, self._early = self._early or [], None
        for event in early:
            self._handle(event)
        if self.plan is not None:
            self._handle({"t": time.time(), "type": "plan", **self.plan})
        state, reason = self._loop_to_end()
        previous = (run.read_json("summary.json") or {}).get("final")
        final = _finalize(self.task, self.opt, self.store, state, self.eval_ctx, previous)
        if final is not None and final is not previous:
            self._handle({"t": time.time(), "type": "final", **final})
        usage = self.ctx.llm_usage()
        summary = _summarize(run, task_file, self.store, state, reason, self.started, usage)
        summary.update(direction=self.task.direction, metric=self.task.primary)
        for agent, mine in summary.get("agents", {}).items():
            mine["llm"] = dict(self.agent_llm.get(agent, {}))
        # the plan again, now that the run has spent what it spent
        summary.update(task_llm=self.eval_ctx.llm_usage(), plan=self.opt.plan(), final=final)
        run.write_summary(summary)
        return RunResult(run, state, summary)

    def _loop_to_end(self) -> tuple[dict[str, Any], str | None]:
        environment = "in-process"
        if self.task.needs_sandbox:
            environment = f"sandbox:{getattr(self.sandbox(), 'image_id', 'unknown')}"
        b = self.task_file.budget
        settings = LoopSettings(
            parallel=self.task_file.parallel,
            max_iterations=b.iterations,
            max_evaluations=b.evaluations,
            wall_time_s=b.wall_time_s,
            target=self.task_file.stop.target,
            patience=self.task_file.stop.patience,
            use_cache=self.use_cache,
            environment=environment,
        )
        loop = Loop(self.task, self.opt, self.store, settings, self.eval_ctx, sink=self._handle)
        self._loop = loop
        name = self.run_dir.name
        with open_checkpointer(self.run_dir.checkpoints_sqlite) as saver:
            graph = loop.build(saver)
            try:
                state = run_graph(graph, loop, name, self._handle)
                return state, state.get("stop_reason")
            except BudgetExceeded as exc:  # raised outside propose/evaluate: stop cleanly
                state = dict(graph.get_state({"configurable": {"thread_id": name}}).values)
                reason = f"budget:{exc.limit}"
                self._handle(
                    {
                        "t": time.time(),
                        "type": "stop",
                        "reason": reason,
                        "step": state.get("step", 0),
                        "n_evals": state.get("n_evals", 0),
                        "best": state.get("best"),
                    }
                )
                return state, reason


def prepare_run(
    task: str | Path | TaskFile,
    runs_dir: Path | None = None,
    *,
    use_cache: bool = True,
    optimizer: Optimizer | Callable[[RunContext], Optimizer] | None = None,
    make_llm: Callable[..., Any] | None = None,
    make_task_llm: Callable[..., Any] | None = None,
    source: str | Path | None = None,
) -> Session:
    """Create a run folder for a task file and build its `Session` (nothing runs yet).

    Settings the optimizer rejects raise `ConfigError` (with line numbers of the task file:
    `task` when it is a path, else `source`) and leave no run folder behind.
    """
    if not isinstance(task, TaskFile):
        source = task
        task = load_task_file(task)
    if source is not None:
        source = str(Path(source).resolve())
    root = runs_dir or default_runs_dir()
    made_root = not root.exists()
    run = create_run(task, root, source)
    run.update_meta(use_cache=use_cache)
    try:
        return Session(
            run,
            task,
            use_cache=use_cache,
            optimizer=optimizer,
            make_llm=make_llm,
            make_task_llm=make_task_llm,
        )
    except UserError as exc:
        shutil.rmtree(run.path, ignore_errors=True)  # made a moment ago: nothing of value in it
        if made_root:
            with contextlib.suppress(OSError):  # another run may have started there meanwhile
                root.rmdir()
        if isinstance(exc, SettingsError) and source is not None:
            raise config_error(source, exc.problems) from None
        raise


def start_run(
    task: str | Path | TaskFile,
    runs_dir: Path | None = None,
    *,
    use_cache: bool = True,
    on_event: Callable[[Event], None] | None = None,
    optimizer: Optimizer | Callable[[RunContext], Optimizer] | None = None,
    make_llm: Callable[..., Any] | None = None,
    make_task_llm: Callable[..., Any] | None = None,
) -> RunResult:
    """Create a run folder for a task file and run the loop to its end.

    Args:
        task: a task-file path or a loaded `TaskFile`.
        runs_dir: where run folders go (default `default_runs_dir()`).
        use_cache: reuse evaluations of equal candidates within the run.
        on_event: called with every progress event (also written to events.jsonl).
        optimizer: an Optimizer, or a function of the run's `RunContext` returning one,
            instead of the task file's `optimizer:` (tests, Python API).
        make_llm: builds the LLM client instead of `open_llm` (see `RunContext`).
        make_task_llm: builds the task's model client instead of `open_llm` (see
            `RunContext.llm`); its calls share the run's budget and are logged too.
    """
    with prepare_run(
        task,
        runs_dir,
        use_cache=use_cache,
        optimizer=optimizer,
        make_llm=make_llm,
        make_task_llm=make_task_llm,
    ) as session:
        return session.run(on_event)


def resume_run(
    run: str | Path | RunDir,
    runs_dir: Path | None = None,
    *,
    on_event: Callable[[Event], None] | None = None,
    optimizer: Optimizer | Callable[[RunContext], Optimizer] | None = None,
    make_llm: Callable[..., Any] | None = None,
    make_task_llm: Callable[..., Any] | None = None,
) -> RunResult:
    """Continue a stopped or killed run from its last checkpoint (nothing is evaluated twice)."""
    rd = run if isinstance(run, RunDir) else find_run(run, runs_dir)
    task_file = parse_task_text(
        rd.task_yaml.read_text(encoding="utf-8"), rd.path, source=str(rd.task_yaml)
    )
    use_cache = bool((rd.read_json("meta.json") or {}).get("use_cache", True))
    with Session(
        rd,
        task_file,
        use_cache=use_cache,
        optimizer=optimizer,
        make_llm=make_llm,
        make_task_llm=make_task_llm,
    ) as session:
        return session.run(on_event)
