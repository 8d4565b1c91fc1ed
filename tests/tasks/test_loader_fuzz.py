"""Fuzz the task loader: every malformed task file gives one clear message and exit code 2."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.agents.helpers import cli, hpo_task

OBJ = "def objective(params):\n    return params['x']\n"
_DROP = object()


def _set(data: dict[str, Any], path: tuple[str, ...], value: Any) -> dict[str, Any]:
    out = copy.deepcopy(data)
    node = out
    for key in path[:-1]:
        node = node.setdefault(key, {})
    if value is _DROP:
        node.pop(path[-1], None)
    else:
        node[path[-1]] = value
    return out


BAD_VALUES: dict[tuple[str, ...], list[Any]] = {
    ("name",): [123, [], {}, "bad name!", "", None, "x" * 200],
    ("kind",): [5, [], "nope", None, {}],
    ("description",): [5, [], {}],
    ("workdir",): [5, "does/not/exist", []],
    ("optimizer",): ["optuna", [], 5],
    ("optimizer", "name"): [5, "", "nope", []],
    ("optimizer", "settings"): [
        "x",
        [],
        {"sampler": "bogus"},
        {"bogus": 1},
        {"n_startup_trials": -1},
        {"sampler": 5},
        {"sampler_options": {"no_such_arg": 1}},
        {"storage": "nosuchdb://x"},
    ],
    ("budget",): ["10", [], None, {}, 5],
    ("parallel",): [0, -2, "two", 1.5, [], 1000],
    ("seed",): [-1, "abc", 1.5, []],
    ("stop",): ["x", [], 3],
    ("stop", "target"): ["high", [], {}],
    ("stop", "patience"): [0, -3, "x", 1.5],
    ("llm",): [5, [], {"bogus": 1}, {"timeout_s": "slow"}, {"model": 5}],
    ("sandbox",): [5, [], {"bogus": 1}, {"backend": "vm"}, {"limits": "x"}],
    ("hpo",): [_DROP, 5, [], "x", None],
    ("hpo", "objective"): [
        5,
        "nocolon",
        "obj:missing_fn",
        "missing_mod:f",
        "1bad:f",
        "obj:",
        ":f",
        [],
    ],
    ("hpo", "files"): [["nope.py"], "x", [5], {}],
    ("hpo", "args"): [5, [], "x"],
    ("hpo", "metric"): ["", 5, []],
    ("hpo", "direction"): ["up", 5, [], None],
    ("hpo", "timeout_s"): [0, -1, "x"],
    ("hpo", "space"): [{}, [], 5, None, "x"],
    ("hpo", "command"): ["python run.py"],  # together with `objective`: exactly one allowed
    ("hpo", "space", "x"): [
        {"type": "float"},
        {"type": "float", "low": 1, "high": 0},
        {"type": "float", "low": 0, "high": 1, "log": True},
        {"type": "float", "low": "a", "high": 1},
        {"type": "quantum"},
        {"low": 0, "high": 1},
        {"type": "int", "low": 0.5, "high": 3},
        {"type": "int", "low": 5, "high": 1},
        {"type": "int", "low": 0, "high": 10, "log": True},
        {"type": "categorical"},
        {"type": "categorical", "choices": []},
        {"type": "categorical", "choices": ["a", "a"]},
        {"type": "categorical", "choices": "ab"},
        {"type": "float", "low": 0, "high": 1, "z": 1},
        {"type": "float", "low": float("nan"), "high": 1},
        {"type": "float", "low": 0, "high": float("inf")},
        "float",
        5,
        [],
        None,
        {"type": "float", "low": 0.1, "high": 1, "log": True, "step": 0.1},
        {"type": "int", "low": 1, "high": 9, "step": 0},
        {"type": 5},
    ],
}
for field in ("iterations", "evaluations", "llm_calls", "tokens", "cost", "wall_time_s"):
    BAD_VALUES[("budget", field)] = [-1, 0, "many", [], {}, -0.5]
UNKNOWN_KEYS = [
    ("bogus",),
    ("Name",),
    ("budgets",),
    ("optimizer", "sampler"),
    ("budget", "steps"),
    ("stop", "after"),
    ("hpo", "objectives"),
    ("hpo", "space", "x", "scale"),
    ("hpo", "space", "x", "choices"),
]
MISSING = [("name",), ("kind",), ("budget",), ("hpo", "space"), ("hpo", "objective")]

FIELD_CASES = [(f"{'.'.join(p)}={v!r}"[:60], p, v) for p, vs in BAD_VALUES.items() for v in vs]
FIELD_CASES += [(f"unknown:{'.'.join(p)}", p, 1) for p in UNKNOWN_KEYS]
FIELD_CASES += [(f"missing:{'.'.join(p)}", p, _DROP) for p in MISSING]

BAD_YAML = [
    "name: [unclosed",
    "name: t\n  kind: hpo",
    "\tname: t",
    "key: value: other",
    "- a\n- b",
    "just a string",
    "",
    "   \n",
    "42",
    "name: t\nname: u\nkind: hpo",
    "!!python/object:os.system {}",
    "name: !!binary xyz",
    "{",
    "}",
    "a: b\n c",
    "name: 't",
    '"unterminated',
    "*undefined",
    "%YAML 9.9\n---\na: 1",
    "---\na: 1\n---\nb: 2",
    "name: @reserved",
    "name: `tick`",
    "name: t\nkind: hpo\nbudget: {evaluations: 3\n",
    "[1, 2",
    "name: &a\n  - *a\n  - x",
    "~",
    "null",
    "true",
    "!!set {a, b}",
    "name: t\nkind: hpo\nhpo:\n\tspace: {}",
    "name: !!python/name:os.system t",
    "? [a, b]\n: c",
    "name: {a: 1, a: 2}",
]


def _base(tmp_path: Path) -> dict[str, Any]:
    (tmp_path / "obj.py").write_text(OBJ)
    return hpo_task("fuzz")


def _run(path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    capsys.readouterr()
    code = cli(["validate", str(path)])
    return code, capsys.readouterr().err


def _assert_clear(code: int, err: str) -> None:
    assert code == 2, err
    assert "Traceback" not in err
    assert err.startswith("error:")
    assert len(err.strip()) > 20


def test_base_task_is_valid(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "task.yaml"
    path.write_text(yaml.safe_dump(_base(tmp_path)))
    assert _run(path, capsys)[0] == 0


@pytest.mark.parametrize(("case", "path", "value"), FIELD_CASES, ids=[c[0] for c in FIELD_CASES])
def test_malformed_field(
    case: str, path: tuple[str, ...], value: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = _set(_base(tmp_path), path, value)
    task = tmp_path / "task.yaml"
    task.write_text(yaml.safe_dump(data, sort_keys=False))
    code, err = _run(task, capsys)
    _assert_clear(code, err)
    if "optimizer.settings" in ".".join(path):
        assert "optimizer.settings" in err and "line " in err, err
    else:
        assert "line " in err, err
        assert path[0] in err, err  # names the field at fault


@pytest.mark.parametrize("text", BAD_YAML, ids=[f"yaml{i}" for i in range(len(BAD_YAML))])
def test_bad_yaml(text: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _base(tmp_path)
    task = tmp_path / "task.yaml"
    task.write_text(text)
    _assert_clear(*_run(task, capsys))


BAD_PATHS = ["missing.yaml", "folder", "no/such/dir/t.yaml", "binary.yaml", ""]


@pytest.mark.parametrize("name", BAD_PATHS)
def test_bad_task_path(name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "folder").mkdir()
    (tmp_path / "binary.yaml").write_bytes(b"\xff\xfe\x00name: t\x80\x81")
    _assert_clear(*_run(tmp_path / name if name else Path(""), capsys))


def test_errors_carry_line_and_path(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _base(tmp_path)
    task = tmp_path / "task.yaml"
    task.write_text(
        "name: t\n"
        "kind: hpo\n"
        "budget:\n"
        "  evaluations: -3\n"
        "bogus: 1\n"
        "hpo:\n"
        "  objective: obj:objective\n"
        "  space:\n"
        "    x: {type: float, low: 2, high: 1}\n"
        "    y: {type: int, high: 5}\n"
    )
    code, err = _run(task, capsys)
    assert code == 2
    assert "line 4: budget.evaluations: Input should be greater than 0 (got -3)" in err
    assert "line 5: bogus: unknown key" in err
    assert "line 9: hpo.space.x: need finite low < high, got low=2.0, high=1.0" in err
    assert "line 10: hpo.space.y.low: required key is missing" in err


def test_enough_cases() -> None:
    assert len(FIELD_CASES) + len(BAD_YAML) + len(BAD_PATHS) >= 200
