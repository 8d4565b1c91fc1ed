"""`optoprime` on `code` and `mpi` tasks: the program is a traced parameter judged in the sandbox.

The sandbox's verdict is the output of ``judge(program)`` and its feedback (failed tests,
compiler errors) reaches the model through ``backward``; hidden tests never do. The whole
optimizer contract suite runs on the code case too.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.optimizers.conftest import PROMPT, code_task, hpo_task
from workbench.errors import ConfigError
from workbench.llm import ChatRequest, ScriptedLLM
from workbench.optimizers import make_optimizer
from workbench.runs import start_run
from workbench.sandbox import Sandbox
from workbench.tasks import RunContext
from workbench.testing import OptimizerCase
from workbench.testing.pytest_optimizers import OptimizerTestCase

REPO = Path(__file__).resolve().parents[3]


def _program(user: str) -> str:
    found = re.search(r"\(str\) program0=(.*?)\n\n#Constraints", user, re.S)
    assert found is not None, user
    return found.group(1)


def mul_model(request: ChatRequest) -> str:
    """Off by one more than it was, unless the feedback says what `mul` got; then right."""
    user = str(request.messages[-1]["content"])
    feedback = user.split("\n#Feedback\n")[1]
    if "got:" in feedback and "return a * b +" in _program(user):
        body = "a * b"  # told what it got: the fix
    else:
        body = f"a * b + {1 + int(10 * request.temperature)}"
    code = f"```python\n{PROMPT}    return {body}\n```"
    return json.dumps({"reasoning": "r", "suggestion": {"program0": code}})


class TestOptoPrimeOnCodeContract(OptimizerTestCase):
    """The contract suite, with OptoPrime writing a `code` task's program."""

    @pytest.fixture
    def optimizer_case(self, memo_sandbox: Sandbox) -> OptimizerCase:
        return OptimizerCase(
            "optoprime",
            code_task,
            mul_model,
            {"temperatures": [0.0, 0.5]},
            open_sandbox=lambda: memo_sandbox,
        )


def _run_code_task(tmp_path: Path, script: Any) -> tuple[Any, list[ChatRequest]]:
    tmp_path.mkdir(exist_ok=True)
    task = code_task(tmp_path)
    seen: list[ChatRequest] = []

    def model(request: ChatRequest) -> str:
        seen.append(request)
        return script(request)

    llm = ScriptedLLM(model)
    ctx = RunContext(task=task, seed=0, make_llm=lambda **kw: llm)
    # accept: best, as Trace does: the next prompt shows the last program and its feedback
    return make_optimizer("optoprime", {"temperatures": [0.0], "accept": "best"}, ctx), seen


def test_the_sandbox_feedback_reaches_the_program_and_fixes_it(
    tmp_path: Path, memo_sandbox: Sandbox
) -> None:
    opt, seen = _run_code_task(tmp_path, mul_model)
    task, ctx = opt.task, RunContext(open_sandbox=lambda: memo_sandbox)
    scores = []
    for _ in range(3):
        (cand,) = opt.propose(1)
        assert cand.payload["language"] == "python" and "def mul(a, b):" in cand.payload["code"]
        ev = task.evaluate(cand, ctx)
        opt.observe([ev])
        scores.append(ev.score)
    # the baseline is the bare prompt (returns None), then off by one, then the fix
    assert scores == [0.0, 0.0, 1.0]
    assert "```" not in opt.state()["values"]["program"]  # the reply's fence is unwrapped
    first, second = (str(r.messages[-1]["content"]) for r in seen)
    assert "judge0 = judge(program=program0)" in first
    assert "public unit tests" in first  # the judge's documentation
    assert "judge0=status: ok; public_pass_rate = 0" in first
    assert "got:      None" in first  # the public tests' feedback on the baseline
    assert "return a * b + 1" in second and "got:      7" in second
    for request in seen:  # hidden tests never reach the model
        assert "mul(0, 7)" not in "\n".join(str(m["content"]) for m in request.messages)


def test_a_resumed_optimizer_shows_the_same_verdict(tmp_path: Path, memo_sandbox: Sandbox) -> None:
    opt, seen = _run_code_task(tmp_path, mul_model)
    ctx = RunContext(open_sandbox=lambda: memo_sandbox)
    for _ in range(2):
        (cand,) = opt.propose(1)
        opt.observe([opt.task.evaluate(cand, ctx)])
    fresh, fresh_seen = _run_code_task(tmp_path / "again", mul_model)
    fresh.load_state(json.loads(json.dumps(opt.state())))
    assert [c.payload for c in fresh.propose(1)] == [c.payload for c in opt.propose(1)]
    assert fresh_seen[-1].messages == seen[-1].messages  # same program, verdict and feedback


def test_a_task_without_parameters_or_program_is_refused(tmp_path: Path) -> None:
    ctx = RunContext(task=hpo_task(tmp_path), seed=0)
    with pytest.raises(ConfigError, match=r"kind: workflow\) or a program to write"):
        make_optimizer("optoprime", {}, ctx)


@pytest.mark.skipif(shutil.which("mpicxx") is None, reason="needs MPICH (mpicxx, mpirun)")
def test_the_mpi_kinds_own_example_runs(tmp_path: Path) -> None:
    """The task file in `workbench.tasks.mpi.kind`'s docstring, on the local sandbox."""
    solution = (REPO / "tasks" / "mpi" / "reduce_dot_product" / "solution.cpp").read_text()
    prompts: list[str] = []

    def model(request: ChatRequest) -> str:
        prompts.append(str(request.messages[-1]["content"]))
        fenced = f"```cpp\n{solution}\n```"
        return json.dumps({"reasoning": "reduce", "suggestion": {"program0": fenced}})

    task = {
        "name": "dot",
        "kind": "mpi",
        "optimizer": {"name": "optoprime", "settings": {"temperatures": [0.0]}},
        "budget": {"iterations": 2, "llm_calls": 20},
        "sandbox": {"backend": "local"},
        "mpi": {"problem": "reduce_dot_product"},
    }
    path = tmp_path / "task.yaml"
    path.write_text(yaml.safe_dump(task))
    llm = ScriptedLLM(model)
    result = start_run(path, tmp_path / "runs", make_llm=lambda **kw: llm)
    assert result.summary["statuses"] == {"error": 1, "ok": 1}
    assert result.summary["best"]["score"] == 1.0
    assert result.summary["best"]["payload"]["language"] == "cpp"
    (prompt,) = prompts
    assert "mpicxx" in prompt and "judge0=status: error; no score" in prompt
    assert "the code makes no MPI call" in prompt  # the baseline's feedback, through backward
