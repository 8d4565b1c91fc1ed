"""`optoprime` on `workflow` tasks through the loop: run folder, checkpoint, resume, report."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from workbench.cli import main
from workbench.llm import ScriptedLLM
from workbench.optimizers.optoprime.optimizer import PROMPT_VERSION
from workbench.runs import resume_run, start_run, write_report

ROOT = Path(__file__).resolve().parents[3]
EXAMPLES = ROOT / "tasks" / "workflow"
GOOD_SORT = (
    'def sort_words(text):\n    """Sort."""\n'
    '    return " ".join(sorted(text.split(), key=str.lower))\n'
)


def toward_target(request: Any) -> str:
    """Moves x by 5.5 toward the target that the feedback names (x: -5 -> 0.5 -> 6)."""
    user = str(request.messages[-1]["content"])
    name, value = re.search(r"\(float\) (x\d+)=(-?[\d.]+)", user).groups()  # type: ignore[union-attr]
    sign = 1 if "too small" in user.split("\n#Feedback\n")[1] else -1
    return json.dumps({"reasoning": "move", "suggestion": {name: float(value) + sign * 5.5}})


def local_copy(tmp_path: Path, name: str) -> Path:
    """The example copied with ``sandbox: {backend: local}``: the tests name the host backend."""
    folder = tmp_path / "examples"
    shutil.copytree(EXAMPLES, folder)
    path = folder / f"{name}.yaml"
    data = yaml.safe_load(path.read_text())
    data["sandbox"] = {"backend": "local"}
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def scripted(fn: Any) -> Any:
    return lambda **kw: ScriptedLLM(fn, **kw)


def events(run: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (run / "events.jsonl").read_text().splitlines()]


def test_numeric_example_reaches_its_target_through_the_loop(tmp_path: Path) -> None:
    result = start_run(EXAMPLES / "numeric.yaml", tmp_path, make_llm=scripted(toward_target))
    s = result.summary
    assert s["stop_reason"] == "target"
    assert s["best"]["payload"] == {"params": {"x": 6.0}} and s["best"]["score"] == 0.0
    assert s["evaluations"] == 3  # baseline, 0.5, 6.0 (both temperatures agreed: deduplicated)
    log = events(result.run.path)
    assert all(e["backend"] is None for e in log if e["type"] == "evaluation")  # no code ran
    calls = [e for e in log if e["type"] == "optoprime_call"]
    assert len(calls) == 4 and {c["temperature"] for c in calls} == {0.0, 0.8}
    assert all(c["prompt_version"] == PROMPT_VERSION for c in calls)
    assert sum(e["type"] == "llm_call" for e in log) == 4
    proposals = [e for e in log if e["type"] == "proposal"]
    assert [p["meta"].get("changed") for p in proposals] == [None, ["x"], ["x"]]
    report = write_report(result.run)
    assert "workflow-numeric" in report.read_text()


def test_an_interrupted_run_resumes_from_its_checkpoint(tmp_path: Path) -> None:
    calls: list[int] = []

    def flaky(request: Any) -> str:
        calls.append(1)
        if len(calls) == 3:  # the second step's first call: the process "dies"
            raise KeyboardInterrupt
        return toward_target(request)

    with pytest.raises(KeyboardInterrupt):
        start_run(EXAMPLES / "numeric.yaml", tmp_path, make_llm=scripted(flaky))
    (run,) = [p for p in tmp_path.iterdir() if p.is_dir()]
    evaluated = [e["id"] for e in events(run) if e["type"] == "evaluation"]
    assert evaluated == ["o00000", "o00001"]
    result = resume_run(run, make_llm=scripted(toward_target))
    assert result.summary["stop_reason"] == "target"
    assert result.summary["best"]["payload"] == {"params": {"x": 6.0}}
    evaluated = [e["id"] for e in events(run) if e["type"] == "evaluation"]
    assert evaluated == ["o00000", "o00001", "o00002"]  # nothing evaluated twice


def rewrite(request: Any) -> str:
    """Answers every OptoPrime call with the correct `sort_words`."""
    name = re.search(r"\(code\) (__code_sort_words\d+):", str(request.messages[-1]["content"]))
    return json.dumps({"reasoning": "sort", "suggestion": {name.group(1): GOOD_SORT}})  # type: ignore[union-attr]


def test_unit_test_example_runs_in_the_sandbox_through_the_loop(tmp_path: Path) -> None:
    task = local_copy(tmp_path, "words")
    result = start_run(task, tmp_path / "runs", make_llm=scripted(rewrite))
    s = result.summary
    assert s["stop_reason"] == "target" and s["best"]["score"] == 1.0
    assert s["best"]["payload"]["params"]["sort_words.__code"] == GOOD_SORT
    evaluations = [e for e in events(result.run.path) if e["type"] == "evaluation"]
    assert evaluations[0]["scores"]["pass_rate"] == 0.25
    assert {e["backend"] for e in evaluations} == {"local"}


@pytest.mark.docker
def test_the_unit_test_example_as_shipped_runs_in_docker(
    tmp_path: Path, docker_sandbox: Any
) -> None:
    result = start_run(EXAMPLES / "words.yaml", tmp_path, make_llm=scripted(rewrite))
    assert result.summary["best"]["score"] == 1.0
    evaluations = [e for e in events(result.run.path) if e["type"] == "evaluation"]
    assert evaluations and {e["backend"] for e in evaluations} == {"docker"}


@pytest.mark.parametrize("name", sorted(p.stem for p in EXAMPLES.glob("*.yaml")))
def test_the_examples_validate_on_the_command_line(name: str) -> None:
    try:
        main(["validate", str(EXAMPLES / f"{name}.yaml")])
    except SystemExit as exc:
        assert exc.code in (0, None)
