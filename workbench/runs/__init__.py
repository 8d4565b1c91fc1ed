"""runs layer: run folders, starting and resuming runs, HTML reports (see DESIGN.md)."""

from workbench.runs.prompt import PromptRunResult, run_prompt
from workbench.runs.report import write_report
from workbench.runs.rundir import (
    EventLog,
    RunDir,
    create_run,
    default_runs_dir,
    find_run,
    list_runs,
    read_events,
)
from workbench.runs.runner import (
    RunResult,
    Session,
    check_task,
    prepare_run,
    resume_run,
    start_run,
)

__all__ = [
    "EventLog",
    "PromptRunResult",
    "RunDir",
    "RunResult",
    "Session",
    "check_task",
    "create_run",
    "default_runs_dir",
    "find_run",
    "list_runs",
    "prepare_run",
    "read_events",
    "resume_run",
    "run_prompt",
    "start_run",
    "write_report",
]
