"""Bad input is refused up front: one message naming the field, exit 2, in bounded time and memory.

Each case runs the real `workbench` command in a child process with an address-space limit
(`RLIMIT_AS`) and a wall-clock timeout, so a regression that expands, loops or hangs fails here
instead of taking the machine with it.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.loop.helpers import cli, run_dirs

MEMORY_MB = 1024  # the CLI needs a few hundred MB; a billion laughs needs gigabytes
TIMEOUT_S = 90
OBJECTIVE = "def objective(params):\n    return params['x']\n"
HPO = "\n  objective: obj:objective\n  space:\n    x: {type: float, low: 0, high: 1}\n"


def _limit_memory() -> None:
    limit = MEMORY_MB * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def workbench(*args: str, cwd: Path) -> tuple[int, str, float]:
    """Run `workbench ARGS` bounded in memory and time: (exit code, stderr, seconds)."""
    code = "import sys; from workbench.cli import main; main(sys.argv[1:])"
    start = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-c", code, *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
        preexec_fn=_limit_memory,
    )
    return proc.returncode, proc.stderr, time.monotonic() - start


def assert_refused(rc: int, stderr: str, *needles: str) -> None:
    """Exit 2, one `error:` message containing every needle, no traceback."""
    assert rc == 2, stderr
    assert "Traceback" not in stderr, stderr
    assert stderr.count("error:") == 1, stderr
    for needle in needles:
        assert needle in stderr, f"{needle!r} not in:\n{stderr}"


def task_text(**sections: str) -> str:
    """A valid hpo task file, with some top-level sections replaced (each a YAML text)."""
    parts = {
        "name": "t",
        "kind": "hpo",
        "optimizer": "{name: optuna, settings: {sampler: random}}",
        "budget": "{evaluations: 2}",
        "hpo": HPO,
        **sections,
    }
    return "".join(f"{k}: {v.rstrip()}\n" for k, v in parts.items())


def line_of(text: str, needle: str) -> str:
    """``"line N"`` of the first line of `text` holding `needle`."""
    return f"line {next(i for i, t in enumerate(text.splitlines(), 1) if needle in t)}"


def write(folder: Path, text: str, objective: str = OBJECTIVE) -> Path:
    (folder / "obj.py").write_text(objective)
    (folder / "task.yaml").write_text(text)
    return folder


def cli_args(command: str) -> list[str]:
    return [command, "task.yaml", *(["--runs-dir", "runs"] if command == "optimize" else [])]


# -- YAML aliases ------------------------------------------------------------------------------

BILLION_LAUGHS = HPO + "  args:\n    a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n"
BILLION_LAUGHS += "".join(
    f"    {c}: &{c} [{', '.join(['*' + p] * 10)}]\n"
    for p, c in zip("abcdefgh", "bcdefghi", strict=True)
)


@pytest.mark.parametrize("command", ["validate", "optimize"])
def test_billion_laughs_in_hpo_args_is_refused(tmp_path: Path, command: str) -> None:
    text = task_text(hpo=BILLION_LAUGHS)
    assert len(text) < 1200  # and 10**9 strings once expanded
    rc, err, took = workbench(*cli_args(command), cwd=write(tmp_path, text))
    assert_refused(rc, err, "hpo.args.b.0", line_of(text, "b: &b"), "aliases (*a)")
    assert took < TIMEOUT_S
    assert not (tmp_path / "runs").exists()  # refused before a run folder was made


@pytest.mark.parametrize("command", ["validate", "optimize"])
def test_cyclic_alias_is_refused(tmp_path: Path, command: str) -> None:
    text = task_text(hpo=HPO + "  args: &loop\n    self: *loop\n")
    rc, err, _ = workbench(*cli_args(command), cwd=write(tmp_path, text))
    assert_refused(rc, err, "hpo.args.self", line_of(text, "self:"), "aliases (*loop)")


PROBLEM = """task_id: p1
entry_point: f
prompt: &p "def f(x):\\n    '''Return x.'''\\n"
canonical_solution: *p
public_tests: [{call: "f(1)", expected: "1"}]
"""


def test_alias_in_a_code_problem_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "p.yaml").write_text(PROBLEM)
    text = "name: c\nkind: code\nbudget: {evaluations: 1}\ncode: {file: p.yaml}\n"
    rc, err, _ = workbench("validate", "task.yaml", cwd=write(tmp_path, text))
    assert_refused(rc, err, "code:", "p.yaml", "aliases (*p)")


# -- finite numbers where a limit is meant, whole numbers where something is counted ----------

BAD_NUMBERS = [
    # (sections, field path shown, the line's key)
    ({"hpo": HPO + "  timeout_s: .inf\n"}, "hpo.timeout_s", "timeout_s"),
    ({"budget": "{wall_time_s: .inf}"}, "budget.wall_time_s", "budget"),
    ({"budget": "{evaluations: 2, cost: .inf}"}, "budget.cost", "budget"),
    ({"budget": "{evaluations: 2, wall_time_s: 1e300}"}, "budget.wall_time_s", "budget"),
    ({"stop": "{target: .nan}"}, "stop.target", "stop"),
    ({"sandbox": "{limits: {timeout_s: .inf}}"}, "sandbox.limits.timeout_s", "sandbox"),
    ({"sandbox": "{limits: {cpus: .nan}}"}, "sandbox.limits.cpus", "sandbox"),
    ({"llm": "{timeout_s: .inf}"}, "llm.timeout_s", "llm"),
    ({"llm": "{prices: {prompt: .nan}}"}, "llm.prices.prompt", "llm"),
    (
        {"hpo": HPO.replace("high: 1}", "high: 1, step: .inf}")},
        "hpo.space.x.step",
        "x: {type",
    ),
    (
        {
            "hpo": HPO.replace(
                "x: {type: float, low: 0, high: 1}", "x: {type: categorical, choices: [.nan, 1]}"
            )
        },
        "hpo.space.x.choices",
        "choices",
    ),
    ({"sandbox": "{limits: {pids: 0.5}}"}, "sandbox.limits.pids", "sandbox"),
    ({"sandbox": "{limits: {memory_mb: 512.5}}"}, "sandbox.limits.memory_mb", "sandbox"),
    ({"sandbox": "{limits: {open_files: true}}"}, "sandbox.limits.open_files", "sandbox"),
    ({"sandbox": "{pool_size: true}"}, "sandbox.pool_size", "sandbox"),
    ({"budget": "{evaluations: true}"}, "budget.evaluations", "budget"),
    ({"parallel": "yes"}, "parallel", "parallel"),
]


@pytest.mark.parametrize(
    ("sections", "field", "key"),
    BAD_NUMBERS,
    ids=[f"{i}-{c[1]}" for i, c in enumerate(BAD_NUMBERS)],
)
def test_bad_number_is_refused_by_validate(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    sections: dict[str, str],
    field: str,
    key: str,
) -> None:
    """In process (no memory at stake): an exception escaping `main` would fail the test too."""
    text = task_text(**sections)
    rc = cli(["validate", str(write(tmp_path, text) / "task.yaml")])
    assert_refused(rc, capsys.readouterr().err, f"{field}:", line_of(text, key))


# -- the user's code: sys.exit() and imports that hang ----------------------------------------


def test_sys_exit_in_objective_is_that_evaluation_error(tmp_path: Path) -> None:
    objective = "import sys\ndef objective(params):\n    sys.exit(3)\n"
    rc, err, _ = workbench(*cli_args("optimize"), cwd=write(tmp_path, task_text(), objective))
    assert rc == 0, err  # the run ends normally: its evaluations failed, not Workbench
    assert "Traceback" not in err
    (run,) = run_dirs(tmp_path / "runs")
    log = [json.loads(line) for line in (run / "events.jsonl").read_text().splitlines()]
    evaluations = [e for e in log if e["type"] == "evaluation"]
    assert len(evaluations) == 2
    assert all(e["status"] == "error" for e in evaluations)
    assert all("SystemExit: 3" in e["feedback"] for e in evaluations)
    summary = json.loads((run / "summary.json").read_text())
    assert summary["stop_reason"] == "budget:evaluations"


def test_sys_exit_at_import_is_refused_by_validate(tmp_path: Path) -> None:
    objective = "import sys\nsys.exit(3)\n"
    text = task_text()
    rc, err, _ = workbench("validate", "task.yaml", cwd=write(tmp_path, text, objective))
    assert_refused(rc, err, "hpo.objective:", line_of(text, "objective:"), "SystemExit: 3")


HANGS = """
import os, pathlib, time
pathlib.Path(__file__).with_name("pids").open("a").write(f"{os.getpid()}\\n")
time.sleep(600)
def objective(params):
    return 1.0
def run():
    return 1
def feedback(output):
    return 1.0, "ok"
"""

WORKFLOW = """name: w
kind: workflow
optimizer: {name: optoprime}
budget: {iterations: 1}
workflow:
  module: obj.py
  entry: run
  feedback: feedback
"""


@pytest.mark.parametrize(
    ("kind", "field"), [("hpo", "hpo.objective"), ("workflow", "workflow.module")]
)
def test_import_that_hangs_stops_validate(tmp_path: Path, kind: str, field: str) -> None:
    text = task_text() if kind == "hpo" else WORKFLOW
    folder = write(tmp_path, text, HANGS)
    rc, err, took = workbench("validate", "--import-timeout", "2", "task.yaml", cwd=folder)
    assert_refused(rc, err, f"{field}:", "took longer than 2 s")
    assert took < 40
    for pid in (folder / "pids").read_text().split():  # the hung import was stopped, not left
        with pytest.raises(ProcessLookupError):
            os.kill(int(pid), 0)
