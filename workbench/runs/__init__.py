"""runs layer: run folders, starting and resuming runs, HTML reports (see DESIGN.md)."""

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
from workbench.runs.runner import RunResult, check_task, resume_run, start_run

__all__ = [
    "EventLog",
    "RunDir",
    "RunResult",
    "check_task",
    "create_run",
    "default_runs_dir",
    "find_run",
    "list_runs",
    "read_events",
    "resume_run",
    "start_run",
    "write_report",
]
