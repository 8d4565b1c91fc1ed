"""The run folder: ``runs/<YYYYmmdd-HHMMSS>-<task-name>/``.

```
task.yaml          the task as run (paths resolved), enough to resume
meta.json          where it came from and when it started
events.jsonl       every proposal, evaluation, LLM call, step and stop, one JSON object a line
store.sqlite       candidates, evaluations, optimizer states, the evaluation cache
checkpoints.sqlite langgraph's checkpoints (one thread, the run's name)
optuna.sqlite      the Optuna study (optimizer `optuna` with the default storage)
best.json          the best candidate so far and its evaluation
summary.json       written when the run stops
report.html        `workbench report RUN`
```
"""

from __future__ import annotations

import json
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from workbench.errors import ConfigError
from workbench.tasks.schema import TaskFile

__all__ = ["EventLog", "RunDir", "create_run", "default_runs_dir", "find_run", "list_runs"]


def default_runs_dir() -> Path:
    """``$WORKBENCH_RUNS_DIR`` or ``./runs``."""
    return Path(os.environ.get("WORKBENCH_RUNS_DIR") or "runs")


def _write_json(path: Path, data: Any) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(data, indent=2, default=str) + "\n", encoding="utf-8")
    os.replace(tmp, path)  # atomic: a kill never leaves half a file


class EventLog:
    """Append-only JSON lines, safe to call from several threads and against kill -9.

    Each event is one `os.write` on an O_APPEND descriptor, so a killed process leaves at most
    one torn last line; opening the log again ends such a line first, so the next event is never
    glued to it (and lost with it by `read_events`).
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._fd: int | None = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        if path.stat().st_size:
            with path.open("rb") as fh:
                fh.seek(-1, os.SEEK_END)
                if fh.read(1) != b"\n":
                    self._write_all(b"\n")

    def _write_all(self, data: bytes) -> None:
        assert self._fd is not None
        view = memoryview(data)
        while view:
            view = view[os.write(self._fd, view) :]

    def write(self, event: dict[str, Any]) -> None:
        """Append one event (written through to the file)."""
        data = (json.dumps(event, default=str) + "\n").encode("utf-8")
        with self._lock:
            if self._fd is not None:
                self._write_all(data)

    def close(self) -> None:
        """Close the file."""
        with self._lock:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None


def read_events(path: Path) -> list[dict[str, Any]]:
    """Every event of an events.jsonl (a line cut by a kill is skipped)."""
    out = []
    if path.is_file():
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError:
                continue
    return out


@dataclass
class RunDir:
    """A run folder and the names of the files in it."""

    path: Path

    @property
    def name(self) -> str:
        """The run's name (the folder's), also its checkpoint thread id."""
        return self.path.name

    task_yaml = property(lambda self: self.path / "task.yaml")
    meta_json = property(lambda self: self.path / "meta.json")
    events_jsonl = property(lambda self: self.path / "events.jsonl")
    store_sqlite = property(lambda self: self.path / "store.sqlite")
    checkpoints_sqlite = property(lambda self: self.path / "checkpoints.sqlite")
    best_json = property(lambda self: self.path / "best.json")
    summary_json = property(lambda self: self.path / "summary.json")
    report_html = property(lambda self: self.path / "report.html")

    def write_best(self, data: dict[str, Any]) -> None:
        """Replace best.json."""
        _write_json(self.best_json, data)

    def write_summary(self, data: dict[str, Any]) -> None:
        """Replace summary.json."""
        _write_json(self.summary_json, data)

    def update_meta(self, **fields: Any) -> None:
        """Add fields to meta.json."""
        _write_json(self.meta_json, {**(self.read_json("meta.json") or {}), **fields})

    def read_json(self, name: str) -> dict[str, Any] | None:
        """A JSON file of the run, or None when absent or unreadable."""
        try:
            return json.loads((self.path / name).read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            return None

    def events(self) -> list[dict[str, Any]]:
        """The run's events so far."""
        return read_events(self.events_jsonl)


class _NoAliasDumper(yaml.SafeDumper):
    """Writes a value used twice out twice: a run's task.yaml is re-read by `resume`, whose
    loader refuses YAML aliases."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def create_run(task_file: TaskFile, runs_dir: Path, source: str | None = None) -> RunDir:
    """Make ``<runs_dir>/<YYYYmmdd-HHMMSS>-<name>[-k]/`` with task.yaml and meta.json."""
    runs_dir.mkdir(parents=True, exist_ok=True)
    stem = f"{time.strftime('%Y%m%d-%H%M%S')}-{task_file.name}"
    for k in range(1, 1000):
        path = runs_dir / (stem if k == 1 else f"{stem}-{k}")
        try:
            path.mkdir()
            break
        except FileExistsError:
            continue
    else:  # pragma: no cover - a thousand runs in one second
        raise ConfigError(f"cannot create a run folder under {runs_dir}")
    run = RunDir(path)
    run.task_yaml.write_text(
        yaml.dump(
            task_file.to_yaml_dict(), Dumper=_NoAliasDumper, sort_keys=False, allow_unicode=True
        ),
        encoding="utf-8",
    )
    _write_json(
        run.meta_json,
        {"run": run.name, "task": task_file.name, "source": source, "created": time.time()},
    )
    return run


def find_run(spec: str | Path, runs_dir: Path | None = None) -> RunDir:
    """A run by folder path, by name under `runs_dir`, or ``latest``.

    Raises:
        ConfigError: when no such run exists (names the runs folder looked in).
    """
    runs_dir = runs_dir or default_runs_dir()
    if str(spec) == "latest":
        runs = list_runs(runs_dir)
        if not runs:
            raise ConfigError(f"no runs in {runs_dir}; start one with `workbench optimize TASK`")
        return runs[-1]
    for path in (Path(spec), runs_dir / str(spec)):
        if (path / "task.yaml").is_file():
            return RunDir(path)
    raise ConfigError(
        f"run {str(spec)!r} not found (no task.yaml in it or under {runs_dir}); "
        "see `workbench runs list`"
    )


def list_runs(runs_dir: Path | None = None) -> list[RunDir]:
    """Every run under `runs_dir`, oldest first."""
    runs_dir = runs_dir or default_runs_dir()
    if not runs_dir.is_dir():
        return []
    return [RunDir(p) for p in sorted(runs_dir.iterdir()) if (p / "task.yaml").is_file()]
