"""The projection of `workbench bench code` against scripted runs, and the `--max-hours` guard.

Scripted models never pass every public check, so each run spends its whole budget: the
projection's call count must equal the calls the run really made, for each generator on one
HumanEval problem and one `tasks/mpi/` problem (local sandbox; MPI needs the host's mpicxx).
"""

from __future__ import annotations

import importlib
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from tests.fixtures.needs import missing
from workbench.bench.code import run_code_bench, run_problem, select_problems
from workbench.bench.code_plan import chat_tokens, plan_run, problem_views, project
from workbench.cli.bench import app
from workbench.errors import ConfigError
from workbench.llm import (
    ChatRequest,
    CompletionRequest,
    CompletionResult,
    ScriptedLLM,
    TokenLogprob,
)

bench_code = importlib.import_module("workbench.bench.code")  # the module the CLI calls into
MPI_PROBLEM = "reduce_argmin"
WRONG_PY = "def has_close_elements(numbers, threshold):\n    return len(numbers) < -{i}\n"
INPUTS = "has_close_elements([1.0, 2.0], 0.5)\nhas_close_elements([1.0, 1.1], 0.5)\n"


def _wrong_cpp() -> str:
    root = Path(__file__).resolve().parents[2] / "tasks" / "mpi" / MPI_PROBLEM
    return (root / "wrong.cpp").read_text(encoding="utf-8")


class ChatModel:
    """Wrong programs (distinct on `code`, so FunCoder's consensus asks for inputs)."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.requests: list[ChatRequest] = []

    def __call__(self, request: Any) -> str:
        assert isinstance(request, ChatRequest)
        self.requests.append(request)
        if self.kind == "mpi":
            return f"```cpp\n{_wrong_cpp()}\n```"
        i = len(self.requests)
        return f"```python\n{WRONG_PY.format(i=i)}\n\n{INPUTS}```"


class CharModel:
    """llama-server completions with logprobs over byte tokens: greedily the `body` after the
    prefilled prompt, two other characters as alternatives at every step (each branch gives
    a new, still wrong program)."""

    def __init__(self, prompt: str, body: str) -> None:
        self.prompt = prompt
        self.target = ("" if prompt.endswith("\n") else "\n") + body + "\n```"

    def _next(self, generated: str) -> list[tuple[str, float]]:
        nxt = self.target[len(generated)] if len(generated) < len(self.target) else "`"
        return [(nxt, -0.05), *[(c, lp) for c, lp in (("#", -3.0), ("@", -4.0)) if c != nxt]]

    def __call__(self, request: Any) -> CompletionResult:
        assert isinstance(request, CompletionRequest)
        generated = bytes(request.prompt).decode().rsplit(self.prompt, 1)[1]
        out, toks = "", []
        for _ in range(request.max_tokens):
            alts = self._next(generated + out)[: request.logprobs or 1]
            char, lp = alts[0]
            toks.append(TokenLogprob(char, ord(char), lp, [(c, ord(c), p) for c, p in alts]))
            out += char
            if request.stop and any(s in out for s in request.stop):
                cut = min(out.index(s) for s in request.stop if s in out)
                return CompletionResult(out[:cut], "scripted", toks, finish_reason="stop")
        return CompletionResult(out, "scripted", toks, finish_reason="length")


def _pgtd_model(kind: str, problem: str) -> CharModel:
    view = problem_views([(kind, problem)])[(kind, problem)]
    body = "    return len(numbers) < 0\n"
    if kind == "mpi":  # builds, calls MPI, and is wrong at every np
        body = "  int size = 1;\n  MPI_Comm_size(MPI_COMM_WORLD, &size);\n  return -size;\n}\n"
    return CharModel(view.prompt, body)


def _make(fn: Any) -> Any:
    def make_llm(budget: Any = None, on_call: Any = None) -> ScriptedLLM:
        return ScriptedLLM(fn, budget=budget, on_call=on_call)

    return make_llm


CASES = [
    (gen, kind, problem)
    for kind, problem in (("code", "HumanEval/0"), ("mpi", MPI_PROBLEM))
    for gen in ("sample", "funcoder", "pgtd")
]


@pytest.mark.parametrize(("generator", "kind", "problem"), CASES)
def test_projected_calls_equal_a_scripted_run(
    generator: str, kind: str, problem: str, tmp_path: Path
) -> None:
    if kind == "mpi" and shutil.which("mpicxx") is None:
        missing("mpicxx (mpich) is needed to build MPI candidates in the local sandbox")
    plan = plan_run(generator, kind, problem)
    chat = ChatModel(kind)
    model = _pgtd_model(kind, problem) if generator == "pgtd" else chat
    rec = run_problem(generator, kind, problem, tmp_path, make_llm=_make(model), sandbox="local")
    assert rec.status == "ok", rec.error
    assert not rec.passed and rec.best_public is not None and rec.best_public < 1.0
    assert rec.llm_calls == plan.llm_calls
    assert plan.llm_calls == bench_code.BENCH_GENERATORS[generator].budget["llm_calls"]
    assert plan.first_pass_calls < plan.llm_calls
    if generator != "pgtd":  # the first prompt is the one the projection rendered
        assert chat_tokens(list(chat.requests[0].messages)) == plan.calls[0].prompt_tokens
        assert plan.calls[0].reused_tokens == 0


def test_repair_prompts_reuse_only_a_shared_prefix() -> None:
    sample = plan_run("sample", "code", "HumanEval/8")
    first, repair = sample.calls[0], sample.calls[1]
    assert repair.step == "repair" and repair.reused_tokens == first.prompt_tokens
    assert repair.prompt_tokens > first.prompt_tokens
    funcoder = plan_run("funcoder", "mpi", MPI_PROBLEM)
    assert [c.step for c in funcoder.calls[:2]] == ["divide", "conquer"]
    assert all(c.reused_tokens == 0 for c in funcoder.calls)  # different prompts each
    assert funcoder.calls[1].n == 3 and "tests" not in {c.step for c in funcoder.calls}
    pgtd = plan_run("pgtd", "code", "HumanEval/8")
    assert pgtd.calls[0].step == "topk" and pgtd.calls[0].completion_tokens == 1
    assert all(c.reused_tokens == pgtd.calls[0].prompt_tokens for c in pgtd.calls[1:])


def test_the_whole_bench_projects_within_the_target() -> None:
    problems = select_problems("humaneval,mpi")
    proj = project(["sample", "funcoder", "pgtd"], problems)
    assert len(proj["runs"]) == 3 * len(problems) == 90
    assert 1.0 < proj["total_h"] <= 1.8  # under the 2 h target, with margin
    assert all(r["within_cap"] for r in proj["runs"])  # budgets, not wall caps, end runs
    per = proj["by_generator"]
    # FunCoder gets the most compute per problem (its divide / conquer / consensus rounds)
    assert per["funcoder"]["code"]["seconds"] > per["sample"]["code"]["seconds"]
    assert per["funcoder"]["code"]["seconds"] > per["pgtd"]["code"]["seconds"]


def test_guard_refuses_and_dry_run_runs_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    def never(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the bench must not run")

    monkeypatch.setattr(bench_code, "run_code_bench", never)
    runner = CliRunner()
    args = ["code", "--problems", "humaneval,mpi", "--model", "local:none"]
    over = runner.invoke(app, [*args, "--max-hours", "1.0"])
    assert over.exit_code == 2, over.output
    assert re.search(r"projected 1\.\d\d h > --max-hours 1\b", over.output.replace("\n", " "))
    dry = runner.invoke(app, [*args, "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "projection" in dry.output and re.search(r"total .* 1\.\d\d h", dry.output)


def test_result_json_holds_projection_and_measured_time(tmp_path: Path) -> None:
    result = run_code_bench(
        ["sample"],
        [("code", "HumanEval/0")],
        runs_dir=tmp_path,
        sandbox="local",
        make_llm=_make(ChatModel("code")),
    )
    (rec,) = result["records"]
    assert rec["llm_calls"] == rec["projected_calls"] == 2
    assert rec["projected_first_pass_calls"] == 1 and rec["projected_wall_s"] > 0
    assert result["projection"]["runs"][0]["llm_calls"] == 2
    measured = result["measured"]
    assert measured["runs"] == 1 and measured["wall_s"] >= 0
    assert measured["projected_s_of_these_runs"] == rec["projected_wall_s"]


def test_dry_run_projects_a_users_problem_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import shutil

    from workbench.tasks.mpi import library_dir

    shutil.copytree(library_dir() / "reduce_argmin", tmp_path / "mine" / "reduce_argmin")
    monkeypatch.setattr(bench_code, "run_code_bench", lambda *a, **k: pytest.fail("ran"))
    args = ["code", "--problems", str(tmp_path / "mine"), "--generators", "sample"]
    dry = CliRunner().invoke(app, [*args, "--model", "local:none", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert re.search(r"sample\s.*mpi\s.*\b1\b", dry.output)  # one MPI problem projected
    bad = CliRunner().invoke(app, ["code", "--problems", str(tmp_path), "--dry-run"])
    # a ConfigError: `workbench` prints it and exits 2 (workbench.cli.main)
    assert isinstance(bad.exception, ConfigError) and "not an MPI problem" in str(bad.exception)
