"""Bundled BBH data, the JSONL loader and deterministic splits."""

from __future__ import annotations

import json
import subprocess
import sys
from importlib import resources
from pathlib import Path

import pytest

from workbench.errors import ConfigError
from workbench.tasks.prompt import Example, list_bbh_tasks, load_bbh, load_jsonl, split

BBH_DIR = resources.files("workbench.tasks.prompt") / "data" / "bbh"


def test_all_27_bbh_tasks_ship_with_licence_and_canary() -> None:
    tasks = list_bbh_tasks()
    assert len(tasks) == 27
    assert tasks == sorted(tasks)
    assert "MIT License" in (BBH_DIR / "LICENSE").read_text()
    assert "suzgunmirac/BIG-Bench-Hard" in (BBH_DIR / "README.md").read_text()
    for task in tasks:
        raw = json.loads((BBH_DIR / f"{task}.json").read_text())
        assert "canary GUID" in raw["canary"], task


def test_load_bbh_reads_inputs_and_targets() -> None:
    date = load_bbh("date_understanding")
    assert len(date) == 250
    assert date[0].target == "(B)"
    assert date[0].input.startswith("Today is Christmas Eve of 1937.")
    assert len(load_bbh("causal_judgement")) == 187
    assert all(isinstance(e, Example) and e.input and e.target for e in load_bbh("object_counting"))


def test_load_bbh_unknown_task_names_the_known_ones() -> None:
    with pytest.raises(ConfigError, match=r"unknown BBH task 'date'.*date_understanding"):
        load_bbh("date")


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "data.jsonl"
    path.write_text(text, encoding="utf-8")
    return path


def test_load_jsonl_reads_pairs_and_custom_keys(tmp_path: Path) -> None:
    path = _write(tmp_path, '{"q": "2+2", "a": 4}\n\n{"q": "ok?", "a": true}\n')
    assert load_jsonl(path, input_key="q", target_key="a") == [
        Example("2+2", "4"),
        Example("ok?", "True"),
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"input": "a", "target": "b"}\n{"input": "c"\n', r"data.jsonl:2: not valid JSON"),
        ('{"input": "a", "target": "b"}\n["x"]\n', r"data.jsonl:2: expected a JSON object"),
        ('{"input": "a", "answer": "b"}\n', r"data.jsonl:1: missing key 'target'.*\['answer', 'in"),
        ('{"input": "a", "target": null}\n', r"data.jsonl:1: 'target' must be a string"),
        ('{"input": ["a"], "target": "b"}\n', r"data.jsonl:1: 'input' must be a string"),
        ("\n  \n", r"holds no examples"),
    ],
)
def test_load_jsonl_bad_files_name_the_line(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_jsonl(_write(tmp_path, text))


def test_load_jsonl_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"does not exist"):
        load_jsonl(tmp_path / "nope.jsonl")


def test_load_jsonl_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_bytes(b'{"input": "\xff", "target": "x"}\n')
    with pytest.raises(ConfigError, match=r"cannot read dataset file"):
        load_jsonl(path)


# --- splits -----------------------------------------------------------------------------------


def test_split_is_pinned_for_a_seed() -> None:
    # Golden indices: a change here means every saved split moved (seeded Random.shuffle of
    # range(n); stable across CPython 3 versions).
    parts = split(list(range(10)), train=3, val=3, seed=0)
    assert (parts.train, parts.val, parts.test) == ([7, 8, 1], [5, 3, 4], [2, 0, 9, 6])


def test_split_same_in_a_fresh_interpreter_with_other_hash_seed() -> None:
    code = (
        "from workbench.tasks.prompt import split, load_bbh;"
        "p = split(load_bbh('navigate'), train=20, val=30, test=50, seed=7);"
        "print([e.input[-40:] for e in p.val][:5], [e.target for e in p.test])"
    )
    outs = {
        subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            check=True,
            env={"PYTHONHASHSEED": seed, "PATH": ""},
            cwd=Path(__file__).resolve().parents[3],
        ).stdout
        for seed in ("1", "2")
    }
    assert len(outs) == 1
    here = split(load_bbh("navigate"), train=20, val=30, test=50, seed=7)
    assert str([e.target for e in here.test]) in outs.pop()


def test_split_parts_are_disjoint_and_cover() -> None:
    data = list(range(101))
    parts = split(data, train=0.2, val=0.3, test=0.5, seed=3)
    assert parts.sizes() == {"train": 21, "val": 30, "test": 50}  # rounding loss goes to train
    assert sorted(parts.train + parts.val + parts.test) == data


def test_split_seed_changes_order_and_zero_is_a_seed() -> None:
    data = list(range(50))
    assert split(data, train=10, val=10, seed=0) == split(data, train=10, val=10, seed=0)
    assert split(data, train=10, val=10, seed=0).val != split(data, train=10, val=10, seed=1).val


def test_split_counts_and_fractions_mix_and_test_none_takes_rest() -> None:
    parts = split(list(range(20)), train=5, val=0.25, seed=0)
    assert parts.sizes() == {"train": 5, "val": 5, "test": 10}
    assert split(list(range(20)), train=5, val=5, test=3, seed=0).sizes()["test"] == 3


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"train": 15, "val": 10}, r"need 25 examples but the dataset has 20"),
        ({"train": -1, "val": 1}, r"cannot be negative"),
        ({"train": 1.5, "val": 1}, r"between 0 and 1"),
        ({"train": True, "val": 1}, r"give a count"),
        ({"train": 5, "val": 5, "test": 11}, r"need 21 examples"),
    ],
)
def test_split_rejects_bad_sizes(kwargs: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        split(list(range(20)), **kwargs)
