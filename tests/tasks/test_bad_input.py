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

from tests.agents.helpers import cli, run_dirs

MEMORY_MB = 1024  # the CLI needs a few hundred MB; a billion laughs needs gigabytes
TIMEOUT_S = 90
OBJECTIVE = "def objective(params):\n    return params['x']\n"
HPO = "\n  objective: obj:objective\n  space:\n    x: {type: float, low: 0, high: 1}\n"


def _limit_memory() -> None:
    limit = MEMORY_MB * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


MAIN = "import sys; from workbench.cli import main; main(sys.argv[1:])"


def workbench(*args: str, cwd: Path, code: str = MAIN) -> tuple[int, str, float]:
    """Run `workbench ARGS` bounded in memory and time: (exit code, stderr, seconds).

    `code` is the child's program (default: the `workbench` command itself).
    """
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
    ({"llm": "{max_retries: true}"}, "llm.max_retries", "llm"),
    ({"llm": "{concurrency: true}"}, "llm.concurrency", "llm"),
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


# -- optimizer and agent settings, and the other sections of each kind -------------------------

CODE = """
  problem:
    task_id: t/f
    entry_point: f
    prompt: "def f(x):\\n    '''Return x.'''\\n"
    public_tests: [{input: [1], output: 1}]
"""
WORKFLOW_MODULE = """from workbench.trace import node
x = node(1.0, trainable=True, name="x")
def run():
    return x * 2.0
def feedback(output):
    return abs(output), "ok"
"""
PROMPT = "\n  dataset: navigate\n  split: {train: 20, val: 16, test: 50}\n"
SECTIONS = {
    "hpo": HPO,
    "code": CODE,
    "workflow": "\n  module: obj.py\n  entry: run\n  feedback: feedback\n  direction: minimize\n",
    "prompt": PROMPT,
}
MODULES = {"hpo": OBJECTIVE, "code": "", "workflow": WORKFLOW_MODULE, "prompt": ""}
NOT_FINITE = "must be a finite number (no .inf, no .nan)"
NOT_BOOL = "must be a number, not true"
FRACTION = "a fraction of the dataset is from 0 to 1; write a count as a whole number"
NEGATIVE = "a count cannot be negative"


def kind_text(kind: str, optimizer: str, **sections: str) -> str:
    """A valid task file of `kind` with `optimizer`, some sections replaced (YAML texts)."""
    parts = {
        "name": "t",
        "kind": kind,
        "optimizer": optimizer,
        "budget": "{evaluations: 2}",
        kind: SECTIONS[kind],
        **sections,
    }
    return "".join(f"{k}: {v.rstrip()}\n" for k, v in parts.items())


BAD_SETTINGS = [
    # (kind, optimizer section, field under optimizer.settings, why) -- each was accepted
    ("hpo", "{name: optuna, settings: {n_startup_trials: true}}", "n_startup_trials", NOT_BOOL),
    ("hpo", "{name: llambo, settings: {alpha: .inf}}", "alpha", NOT_FINITE),
    ("hpo", "{name: llambo, settings: {max_tpe_share: .nan}}", "max_tpe_share", NOT_FINITE),
    ("hpo", "{name: llambo, settings: {n_candidates: true}}", "n_candidates", NOT_BOOL),
    ("code", "{name: pgtd, settings: {c: .inf}}", "c", NOT_FINITE),
    ("code", "{name: pgtd, settings: {early_stop: .nan}}", "early_stop", NOT_FINITE),
    ("code", "{name: pgtd, settings: {max_calls: true}}", "max_calls", NOT_BOOL),
    ("code", "{name: funcoder, settings: {max_depth: true}}", "max_depth", NOT_BOOL),
    ("code", "{name: funcoder, settings: {test_timeout_s: .nan}}", "test_timeout_s", NOT_FINITE),
    ("code", "{name: sample, settings: {temperature: .inf}}", "temperature", NOT_FINITE),
    ("code", "{name: sample, settings: {samples: true}}", "samples", NOT_BOOL),
    (
        "workflow",
        "{name: optoprime, settings: {temperatures: [0.0, .inf]}}",
        "temperatures.1",
        NOT_FINITE,
    ),
    ("workflow", "{name: optoprime, settings: {memory_size: true}}", "memory_size", NOT_BOOL),
    ("prompt", "{name: ape, settings: {temperature: .inf}}", "temperature", NOT_FINITE),
    ("prompt", "{name: opro, settings: {temperature: .nan}}", "temperature", NOT_FINITE),
    ("prompt", "{name: protegi, settings: {beam: true}}", "beam", NOT_BOOL),
    ("prompt", "{name: exemplars, settings: {k: true}}", "k", NOT_BOOL),
    ("prompt", "{name: joint, settings: {sets: true}}", "sets", NOT_BOOL),
    (
        "prompt",
        "{name: joint, settings: {instruction_settings: {temperature: .inf}}}",
        "instruction_settings.temperature",
        NOT_FINITE,
    ),
    (
        "prompt",
        "{name: ape, settings: {racing: {examples: 32, split: .nan}}}",
        "racing.split",
        NOT_FINITE,
    ),
    ("prompt", "{name: ape, settings: {racing: {examples: true}}}", "racing.examples", NOT_BOOL),
]


@pytest.mark.parametrize(
    ("kind", "optimizer", "field", "why"),
    BAD_SETTINGS,
    ids=[f"{i}-{c[1].split(',')[0][7:]}-{c[2]}" for i, c in enumerate(BAD_SETTINGS)],
)
def test_bad_optimizer_setting_is_refused_by_validate(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    kind: str,
    optimizer: str,
    field: str,
    why: str,
) -> None:
    text = kind_text(kind, optimizer)
    rc = cli(["validate", str(write(tmp_path, text, MODULES[kind]) / "task.yaml")])
    err = capsys.readouterr().err
    assert_refused(rc, err, f"optimizer.settings.{field}: {why}", line_of(text, "optimizer:"))


@pytest.mark.parametrize("case", [0, 4, 13])  # optuna, pgtd, ape
def test_bad_optimizer_setting_is_refused_by_optimize_leaving_no_run_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], case: int
) -> None:
    """`optimize` builds the optimizer once, inside the run's session: a setting it rejects
    removes the run folder just made (and the runs folder, if the run made it)."""
    kind, optimizer, field, why = BAD_SETTINGS[case]
    text = kind_text(kind, optimizer)
    folder = write(tmp_path, text, MODULES[kind])
    rc = cli(["optimize", str(folder / "task.yaml"), "--runs-dir", str(folder / "runs")])
    err = capsys.readouterr().err
    assert_refused(rc, err, f"optimizer.settings.{field}: {why}", line_of(text, "optimizer:"))
    assert not (folder / "runs").exists()


BAD_SECTIONS = [
    # (kind, its section, field path shown, why) -- each was accepted, or refused without its field
    ("prompt", PROMPT.replace("train: 20", "train: .inf"), "prompt.split.train", NOT_FINITE),
    ("prompt", PROMPT.replace("val: 16", "val: .nan"), "prompt.split.val", NOT_FINITE),
    ("prompt", PROMPT.replace("test: 50", "test: .inf"), "prompt.split.test", NOT_FINITE),
    ("prompt", PROMPT.replace("train: 20", "train: true"), "prompt.split.train", NOT_BOOL),
    ("prompt", PROMPT.replace("train: 20", "train: 2.5"), "prompt.split.train", FRACTION),
    ("prompt", PROMPT.replace("val: 16", "val: 16.0"), "prompt.split.val", FRACTION),
    ("prompt", PROMPT.replace("test: 50", "test: -1"), "prompt.split.test", NEGATIVE),
    ("prompt", PROMPT + "  k: true\n", "prompt.k", NOT_BOOL),
    ("prompt", PROMPT + "  max_tokens: true\n", "prompt.max_tokens", NOT_BOOL),
    ("code", CODE + "  test_timeout_s: .nan\n", "code.test_timeout_s", NOT_FINITE),
]


@pytest.mark.parametrize(
    ("kind", "section", "field", "why"),
    BAD_SECTIONS,
    ids=[f"{i}-{c[2]}" for i, c in enumerate(BAD_SECTIONS)],
)
def test_bad_number_in_a_kind_section_is_refused_by_validate(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    kind: str,
    section: str,
    field: str,
    why: str,
) -> None:
    optimizer = {"prompt": "{name: ape}", "code": "{name: sample}"}[kind]
    text = kind_text(kind, optimizer, **{kind: section})
    rc = cli(["validate", str(write(tmp_path, text) / "task.yaml")])
    key = field.rsplit(".", 1)[1]
    assert_refused(rc, capsys.readouterr().err, f"{field}: {why}", line_of(text, f"{key}:"))


@pytest.mark.parametrize(
    ("kind", "optimizer", "sections", "field"),
    [
        ("hpo", "{name: llambo, settings: {alpha: .nan}}", {}, "optimizer.settings.alpha"),
        (
            "prompt",
            "{name: ape}",
            {"prompt": PROMPT.replace("train: 20", "train: .inf")},
            "prompt.split.train",
        ),
    ],
)
def test_bad_number_is_refused_by_optimize_before_a_run_folder(
    tmp_path: Path, kind: str, optimizer: str, sections: dict[str, str], field: str
) -> None:
    text = kind_text(kind, optimizer, **sections)
    rc, err, took = workbench(*cli_args("optimize"), cwd=write(tmp_path, text, MODULES[kind]))
    assert_refused(rc, err, f"{field}: {NOT_FINITE}")
    assert took < TIMEOUT_S
    assert not (tmp_path / "runs").exists()


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
def score(output, target):
    return 1.0
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


@pytest.mark.parametrize("command", ["validate", "optimize"])
@pytest.mark.parametrize(
    ("kind", "field"),
    [("hpo", "hpo.objective"), ("workflow", "workflow.module"), ("prompt", "prompt.scorer")],
)
def test_import_that_hangs_is_stopped(tmp_path: Path, command: str, kind: str, field: str) -> None:
    text = {
        "hpo": task_text(),
        "workflow": WORKFLOW,
        "prompt": kind_text("prompt", "{name: ape}", prompt=PROMPT + "  scorer: obj:score\n"),
    }[kind]
    folder = write(tmp_path, text, HANGS)
    args = cli_args(command)
    rc, err, took = workbench(args[0], "--import-timeout", "2", *args[1:], cwd=folder)
    assert_refused(rc, err, f"{field}:", "'obj.py' took longer than 2 s", "--import-timeout")
    assert took < 40
    assert not (folder / "runs").exists()  # optimize: stopped before a run folder was made
    for pid in (folder / "pids").read_text().split():  # the hung import was stopped, not left
        with pytest.raises(ProcessLookupError):
            os.kill(int(pid), 0)


# -- a prompt task's scorer: the user's function too ------------------------------------------

# The child runs `workbench` with a scripted model for every model the run opens (the optimizer's
# and the task model): always the same answer, which the scorer never gets to grade.
SCRIPTED = """
import contextlib, sys
import workbench.llm
from workbench.llm import ScriptedLLM

@contextlib.contextmanager
def scripted(config, *, budget=None, on_call=None, **_):
    yield ScriptedLLM(lambda request: "So the answer is 1.", budget=budget, on_call=on_call)

workbench.llm.open_llm = scripted
from workbench.cli import main
main(sys.argv[1:])
"""
SUMS = "".join(f'{{"input": "{a}+{b}", "target": "{a + b}"}}\n' for a in range(5) for b in range(5))
SUMS_TASK = kind_text(
    "prompt",
    "{name: ape, settings: {demos: 2}}",
    prompt="""
  dataset: sums.jsonl
  scorer: obj:score
  split: {train: 6, val: 4, test: 5}
  max_tokens: 16
""",
)


@pytest.mark.parametrize(
    ("body", "raised"),
    [
        ("sys.exit(3)", "SystemExit: 3"),
        ("raise GeneratorExit('stop')", "GeneratorExit: stop"),  # any BaseException
        ("return 2.0", "returned 2.0"),
    ],
)
def test_a_scorer_that_fails_is_that_evaluation_error(
    tmp_path: Path, body: str, raised: str
) -> None:
    (tmp_path / "sums.jsonl").write_text(SUMS)
    scorer = f"import sys\ndef score(output, target):\n    {body}\n"
    folder = write(tmp_path, SUMS_TASK, scorer)
    rc, err, _ = workbench(*cli_args("optimize"), cwd=folder, code=SCRIPTED)
    assert rc == 0, err  # the run ends normally: its evaluations failed, not Workbench
    assert "Traceback" not in err
    (run,) = run_dirs(tmp_path / "runs")
    log = [json.loads(line) for line in (run / "events.jsonl").read_text().splitlines()]
    evaluations = [e for e in log if e["type"] == "evaluation"]
    assert len(evaluations) == 2
    assert all(e["status"] == "error" for e in evaluations)
    assert all(raised in e["feedback"] for e in evaluations), evaluations[0]["feedback"]
    summary = json.loads((run / "summary.json").read_text())
    assert summary["stop_reason"] == "budget:evaluations"
    assert raised in summary["final"]["test_error"]  # the final prompt's test run: no accuracy


def test_sys_exit_at_scorer_import_is_refused_by_validate(tmp_path: Path) -> None:
    (tmp_path / "sums.jsonl").write_text(SUMS)
    folder = write(tmp_path, SUMS_TASK, "import sys\nsys.exit(3)\n")
    rc, err, _ = workbench("validate", "task.yaml", cwd=folder)
    assert_refused(rc, err, "prompt.scorer:", "importing 'obj' failed: SystemExit: 3")


def test_resume_stops_a_module_that_now_hangs_at_import(tmp_path: Path) -> None:
    """A run resumed after its objective module changed into one that hangs at import."""
    folder = write(tmp_path, task_text())
    rc, err, _ = workbench("optimize", "task.yaml", "--runs-dir", "runs", cwd=folder)
    assert rc == 0, err
    (run,) = (folder / "runs").iterdir()
    (folder / "obj.py").write_text(HANGS)
    rc, err, took = workbench("resume", str(run), "--import-timeout", "2", cwd=folder)
    assert_refused(rc, err, "hpo.objective:", "'obj.py' took longer than 2 s")
    assert took < 40
    for pid in (folder / "pids").read_text().split():
        with pytest.raises(ProcessLookupError):
            os.kill(int(pid), 0)
