"""What the run hands optimizers: an event hook, its sandbox, and the task's description."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import workbench.runs.runner
from tests.agents.helpers import events, hpo_task, write_task
from workbench.contracts import Candidate
from workbench.llm import ScriptedLLM
from workbench.optimizers import FunctionOptimizer, RunContext, make_optimizer
from workbench.optimizers.codegen.pgtd.optimizer import PGTDOptimizer
from workbench.optimizers.codegen.sample.common import sandbox_of
from workbench.runs import start_run
from workbench.sandbox import LocalSandbox
from workbench.tasks import load_task
from workbench.tasks.code import problem_from_dict

ROOT = Path(__file__).resolve().parents[2]


def _objective(folder: Path) -> None:
    (folder / "obj.py").write_text("def objective(p):\n    return -(p['x'] - 0.3) ** 2\n")


class Chatty(FunctionOptimizer):
    """Emits one event when built (before the loop exists) and one per proposal."""

    def __init__(self, ctx: RunContext) -> None:
        super().__init__(lambda n, seen: [{"params": {"x": 0.1 * len(seen), "k": "a"}}] * n)
        self.ctx = ctx
        assert ctx.emit is not None
        ctx.emit({"type": "chatty_hello", "seed": ctx.seed})

    def propose(self, n: int) -> list[Candidate]:
        out = super().propose(n)
        assert self.ctx.emit is not None
        self.ctx.emit({"type": "chatty_propose", "ids": [c.id for c in out]})
        return out


def test_optimizer_events_land_in_events_jsonl_with_their_type(tmp_path: Path) -> None:
    _objective(tmp_path)
    task = write_task(tmp_path, hpo_task("hooks", budget={"evaluations": 3}))
    seen: list[dict[str, Any]] = []
    result = start_run(task, tmp_path / "runs", optimizer=Chatty, on_event=seen.append)
    logged = events(result.run.path)
    hello = [e for e in logged if e["type"] == "chatty_hello"]
    proposes = [e for e in logged if e["type"] == "chatty_propose"]
    assert len(hello) == 1 and hello[0]["seed"] == 0 and "t" in hello[0]
    assert [e["ids"] for e in proposes] == [["f00000"], ["f00001"], ["f00002"]]
    assert not [e for e in logged if e["type"] == "llm_call"]
    # each proposal event comes before the loop's own proposal event of the same candidate
    order = [e.get("ids", [e.get("id")])[0] for e in logged if "propose" in e["type"]]
    assert order == ["f00000", "f00001", "f00002"]
    assert [e["type"] for e in seen] == [e["type"] for e in logged]


def _numeric_script(request: Any) -> str:
    import json
    import re

    user = str(request.messages[-1]["content"])
    name, value = re.search(r"\(float\) (x\d+)=(-?[\d.]+)", user).groups()  # type: ignore[union-attr]
    return json.dumps({"reasoning": "r", "suggestion": {name: float(value) + 1.0}})


def test_optoprime_events_go_through_emit_not_the_call_hook() -> None:

    _, task = load_task(ROOT / "tasks" / "workflow" / "numeric.yaml")
    emitted: list[dict[str, Any]] = []
    calls: list[Any] = []
    ctx = RunContext(
        task=task,
        seed=0,
        on_call=calls.append,
        emit=emitted.append,
        make_llm=lambda **kw: ScriptedLLM(_numeric_script, **kw),
    )
    opt = make_optimizer("optoprime", {"temperatures": [0.0]}, ctx)
    for _ in range(2):
        cands = opt.propose(1)
        opt.observe([task.evaluate(c, RunContext()) for c in cands])
    opt.close()
    ctx.close()
    assert [e for e in emitted if e["type"] == "optoprime_call"]
    assert calls and not [c for c in calls if isinstance(c, dict)]  # only LLM call records


class _Counted:
    """A sandbox proxy that counts `close` calls."""

    def __init__(self, box: Any) -> None:
        self.box = box
        self.closed = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.box, name)

    def close(self) -> None:
        self.closed += 1
        self.box.close()


def test_optimizers_share_the_runs_sandbox(tmp_path: Path, monkeypatch: Any) -> None:
    opened: list[_Counted] = []
    real = workbench.runs.runner.open_sandbox

    def spy(config: Any = "auto") -> _Counted:
        opened.append(_Counted(real(config)))
        return opened[-1]

    monkeypatch.setattr(workbench.runs.runner, "open_sandbox", spy)  # where the run looks it up
    (tmp_path / "score.py").write_text(
        "import json\np = json.load(open('params.json'))\nprint(-(p['x'] - 0.5) ** 2)\n"
    )
    data = hpo_task("box", budget={"evaluations": 2}, sandbox={"backend": "local"})
    data["hpo"].pop("objective")
    data["hpo"].update(command=["python3", "score.py"], files=["score.py"])
    got: list[tuple[Any, bool]] = []

    class Sampler(FunctionOptimizer):
        def __init__(self, ctx: RunContext) -> None:
            super().__init__(lambda n, seen: [{"params": {"x": 0.5, "k": "a"}}] * n)
            self.ctx = ctx

        def propose(self, n: int) -> list[Candidate]:
            got.append(sandbox_of(self.ctx))  # as the sample/FunCoder generators do
            return super().propose(n)

    result = start_run(write_task(tmp_path, data), tmp_path / "runs", optimizer=Sampler)
    assert result.summary["statuses"] == {"ok": 2}  # the task evaluated in that sandbox
    assert len(opened) == 1 and isinstance(opened[0].box, LocalSandbox)
    assert [box for box, _ in got] == [opened[0], opened[0]]
    assert not any(own for _, own in got)  # the run owns it
    assert opened[0].closed == 1  # closed once, by the run


class _CodeTask:
    def __init__(self) -> None:
        self.problem = problem_from_dict(
            {
                "task_id": "toy/add",
                "entry_point": "add",
                "prompt": 'def add(a, b):\n    """Return a plus b."""\n',
                "public_tests": [{"input": [1, 2], "output": 3}],
                "hidden_tests": [{"input": [0, 0], "output": 0}],
            }
        )

    def public_problem(self) -> Any:  # the `ProvidesPublicProblem` capability
        return self.problem


def test_pgtd_uses_the_runs_sandbox_and_leaves_it_open(tmp_path: Path) -> None:
    box = _Counted(LocalSandbox())
    ctx = RunContext(task=_CodeTask(), seed=0, open_sandbox=lambda: box)  # type: ignore[arg-type]
    opt = PGTDOptimizer(ctx)
    assert opt._sandbox_now() is box
    opt.close()
    assert box.closed == 0
    box.close()
    # an explicit `sandbox:` setting still opens (and closes) the optimizer's own
    own = PGTDOptimizer(ctx, {"sandbox": "local"})
    mine = own._sandbox_now()
    assert mine is not box and isinstance(mine, LocalSandbox)
    own.close()


def test_hpo_describe_includes_the_task_files_description(tmp_path: Path) -> None:
    _objective(tmp_path)
    text = "Tune the learning rate of a tiny MLP on digits; x is log10(lr)."
    _, task = load_task(write_task(tmp_path, hpo_task("desc", description=text)))
    described = task.describe()
    assert described.startswith(text)
    assert "maximize 'score'" in described and '"x"' in described
    _, plain = load_task(write_task(tmp_path, hpo_task("desc"), name="plain.yaml"))
    assert plain.describe().startswith("maximize 'score' of 'desc'")
    assert task.fingerprint() == plain.fingerprint()  # the text changes no evaluation
