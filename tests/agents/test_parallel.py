"""`parallel: 2` runs two evaluations at once; `parallel: 1` never overlaps them."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest

from tests.agents.helpers import cli, hpo_task, write_task

SLEEPER = """
import json, time
from pathlib import Path

def objective(params, seconds=0.3):
    start = time.time()
    time.sleep(seconds)
    end = time.time()
    with (Path(__file__).parent / "intervals.jsonl").open("a") as f:
        f.write(json.dumps([start, end]) + "\\n")
    return params["x"]
"""


def _intervals(parallel: int, folder: Path) -> list[tuple[float, float]]:
    folder.mkdir()
    (folder / "obj.py").write_text(SLEEPER)
    task = write_task(folder, hpo_task("par", parallel=parallel, budget={"evaluations": 6}))
    assert cli(["optimize", str(task), "--runs-dir", str(folder / "runs")]) == 0
    return [tuple(json.loads(x)) for x in (folder / "intervals.jsonl").read_text().splitlines()]


def _overlaps(iv: list[tuple[float, float]]) -> int:
    return sum(1 for (a, b), (c, d) in itertools.combinations(iv, 2) if a < d and c < b)


@pytest.mark.slow
def test_parallel_two_overlaps_and_parallel_one_does_not(tmp_path: Path) -> None:
    two = _intervals(2, tmp_path / "two")
    one = _intervals(1, tmp_path / "one")
    assert len(two) == len(one) == 6
    assert _overlaps(one) == 0
    # 3 steps of 2 evaluations: each pair ran at the same time
    assert _overlaps(two) >= 3
