"""The projection of `workbench bench code` before it runs: calls, tokens and wall time per run.

Each (generator, problem) run is planned as the sequence of LLM calls the generator makes when
it spends its whole budget, i.e. no program ever passes the public tests (its natural early stop
only makes a run shorter; `RunPlan.first_pass_calls` is the count when the first program
passes). Per call:

- prompt tokens: the generator's own prompts rendered for the problem view it sees, counted as
  ``chars / 3.5`` + 4 per message: an approximation, not a tokenizer (within ~15 % of the smoke
  run's real counts). Later prompts carry a previous answer (of the expected completion's
  length) and `FEEDBACK_CHARS` of feedback.
- prompt reuse: llama-server keeps its one slot's last prompt, so only a prompt starting with the
  previous call's is partly free, counted conservatively: the n samples of one chat share their
  prompt (the first pays it); a `sample` repair reuses its solve prompt; a `pgtd` call reuses
  the chat prompt and pays for its generated-token prefix (<= one token deeper per call).
  Nothing else is reused (divide / conquer / tests prompts all differ).
- completion tokens: the observed mean per call of bench/results/codegen-smoke.json (HumanEval;
  `pgtd`: per rollout, its one top-k call generates 1 token), and for `mpi` the length of the
  problem's correct solution (``solution.cpp``), each capped by the call's ``max_tokens``.
- sandbox time per evaluation (`Rates.sandbox_s`): a Python test run 0.52 s (docker one-shot,
  bench/results/sandbox_latency.json); an MPI build + runs at np 1-4 ~2.6 s.

Assumed (and checked against scripted runs): FunCoder's divide adds no helper (with helpers, its
schedule keeps the same budget: each helper's divide call and the direct root sample are paid for
by not refining helpers and by a smaller repair) and its candidates differ (`code` asks for inputs
once per function; repair rounds reuse them);
each `pgtd` rollout is a new program (one top-k call at the root; rollouts' alternatives make
the other top-k lists free).
"""

from __future__ import annotations

import json
import math
import tempfile
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from workbench.bench.code_setup import BENCH_GENERATORS, WALL_TIME_S, task_yaml
from workbench.errors import ConfigError
from workbench.optimizers.codegen.funcoder import FunCoderSettings
from workbench.optimizers.codegen.funcoder.prompts import (
    conquer_messages,
    divide_messages,
    tests_messages,
)
from workbench.optimizers.codegen.funcoder.steps import context_of
from workbench.optimizers.codegen.pgtd import PGTDSettings
from workbench.optimizers.codegen.pgtd.prompts import assistant_prefix, chat_messages
from workbench.optimizers.codegen.sample import SampleSettings
from workbench.optimizers.codegen.sample.prompts import repair_messages, solve_messages
from workbench.optimizers.codegen.view import problem_view
from workbench.tasks import parse_task_text
from workbench.tasks.code.examples import docstring_examples
from workbench.tasks.code.humaneval import load_humaneval
from workbench.tasks.loader import build_task
from workbench.tasks.mpi.kind import resolve_problem_dir
from workbench.tasks.mpi.problem import load_problem

__all__ = [
    "CHARS_PER_TOKEN",
    "PlannedCall",
    "Rates",
    "RunPlan",
    "chat_tokens",
    "observed_completions",
    "plan_run",
    "problem_views",
    "project",
    "tokens",
]

CHARS_PER_TOKEN = 3.5
MESSAGE_TOKENS = 4  # ChatML per message: <|im_start|>role\n ... <|im_end|>\n
# feedback in a repair prompt: MPI at the prompts' 1500-character cap (compiler errors fill it);
# HumanEval at 800, twice the mean of a wrong program's public-test report on the subset (max 611)
FEEDBACK_CHARS = {"code": 800, "mpi": 1500}
SMOKE = Path(__file__).resolve().parents[2] / "bench" / "results" / "codegen-smoke.json"


@dataclass(frozen=True)
class Rates:
    """Speeds of qwen2.5-coder-1.5b-instruct on 2 idle cores (prompt / generated tokens per
    second), seconds per sandbox evaluation by kind, and per-run set-up seconds."""

    prompt_tps: float = 68.0
    gen_tps: float = 26.0
    sandbox_s: dict[str, float] = field(default_factory=lambda: {"code": 0.52, "mpi": 2.6})
    run_overhead_s: float = 1.0


@dataclass
class PlannedCall:
    """One LLM call of a plan: `n` samples of one prompt (`step`: solve, repair, divide, conquer,
    tests, topk, rollout), the part of the prompt llama-server still holds from the previous
    call, tokens generated per sample, and the sandbox runs that follow (consensus, reward,
    the loop's evaluation)."""

    step: str
    n: int
    prompt_tokens: int
    reused_tokens: int
    completion_tokens: int
    sandbox_runs: int = 0

    def llm_seconds(self, rates: Rates) -> float:
        """Prompt time (new tokens once; the other samples reuse the prompt) + generation."""
        new = max(self.prompt_tokens - self.reused_tokens, 1) + (self.n - 1)
        return new / rates.prompt_tps + self.n * self.completion_tokens / rates.gen_tps


@dataclass
class RunPlan:
    """The projected cost of one (generator, problem) run that spends its whole budget."""

    generator: str
    problem: str
    kind: str
    calls: list[PlannedCall]
    first_pass_calls: int
    end_runs: int = 0  # sandbox runs after the last call (a partial program's evaluation)

    @property
    def llm_calls(self) -> int:
        """LLM calls as the budget counts them (a chat with n samples counts n)."""
        return sum(c.n for c in self.calls)

    def totals(self, rates: Rates) -> dict[str, Any]:
        """Calls, tokens, seconds (LLM, sandbox, total) and whether the wall cap holds."""
        llm_s = sum(c.llm_seconds(rates) for c in self.calls)
        runs = sum(c.sandbox_runs for c in self.calls) + self.end_runs
        box_s = runs * rates.sandbox_s[self.kind]
        wall = llm_s + box_s + rates.run_overhead_s
        return {
            "generator": self.generator,
            "problem": self.problem,
            "kind": self.kind,
            "llm_calls": self.llm_calls,
            "first_pass_calls": self.first_pass_calls,
            "prompt_tokens": sum(c.n * c.prompt_tokens for c in self.calls),
            "new_prompt_tokens": sum(
                max(c.prompt_tokens - c.reused_tokens, 1) + c.n - 1 for c in self.calls
            ),
            "completion_tokens": sum(c.n * c.completion_tokens for c in self.calls),
            "sandbox_runs": runs,
            "llm_s": round(llm_s, 1),
            "sandbox_s": round(box_s, 1),
            "wall_s": round(wall, 1),
            "wall_cap_s": WALL_TIME_S[self.kind],
            "within_cap": wall <= WALL_TIME_S[self.kind],
        }


def tokens(text: str) -> int:
    """Approximate tokens of code / prose: ``ceil(chars / 3.5)``."""
    return math.ceil(len(text) / CHARS_PER_TOKEN)


def chat_tokens(messages: list[dict[str, Any]]) -> int:
    """Approximate prompt tokens of chat `messages` (ChatML framing included)."""
    return sum(tokens(str(m.get("content", ""))) + MESSAGE_TOKENS for m in messages) + 3


def observed_completions(path: Path = SMOKE) -> dict[str, float]:
    """Mean completion tokens per call (`pgtd`: per rollout) by generator, from a bench JSON.

    Falls back to 135 tokens (a HumanEval function) for a generator the file lacks.
    """
    data = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {"records": []}
    sums: dict[str, list[int]] = {}
    for r in data.get("records", []):
        if r.get("kind", "code") != "code" or not r.get("llm_calls"):
            continue
        gen = r["generator"]
        calls, done = int(r["llm_calls"]), int(r["completion_tokens"])
        if gen == "pgtd":  # one top-k call of 1 token; the rest are rollouts
            calls, done = calls - 1, done - 1
        acc = sums.setdefault(gen, [0, 0])
        acc[0], acc[1] = acc[0] + done, acc[1] + max(calls, 0)
    out = {"sample": 135.0, "funcoder": 135.0, "pgtd": 50.0}
    out.update({g: round(d / c, 1) for g, (d, c) in sums.items() if c})
    return out


def problem_views(problems: list[tuple[str, str]]) -> dict[tuple[str, str], Any]:
    """The view each generator has of each problem (HumanEval loaded once; no hidden tests)."""
    views: dict[tuple[str, str], Any] = {}
    humaneval: dict[str, Any] = {}
    if any(kind == "code" for kind, _ in problems):
        humaneval = {p.task_id: p for p in load_humaneval()}
    for kind, problem in problems:
        if kind == "code" and problem in humaneval:  # = CodeTask.public_problem() of the task
            full = humaneval[problem]
            public_tests = full.public_tests or docstring_examples(full.prompt, full.entry_point)
            public = replace(
                full, public_tests=list(public_tests), hidden_tests=[], canonical_solution=None
            )
            views[(kind, problem)] = problem_view(_Carrier(public), "bench")
            continue
        with tempfile.TemporaryDirectory(prefix="bench-plan-") as tmp:
            yaml = task_yaml("sample", kind, problem, "local")
            task = build_task(parse_task_text(yaml, Path(tmp)))
        views[(kind, problem)] = problem_view(task, "bench")
    return views


@dataclass
class _Carrier:
    """A task that only carries its (public) problem (`ProvidesPublicProblem`)."""

    problem: Any

    def public_problem(self) -> Any:
        return self.problem


def _completion(
    gen: str,
    kind: str,
    problem: str,
    view: Any,
    observed: dict[str, float],
    cap: int,
    body: bool = False,
) -> int:
    """Expected tokens per sample: the smoke mean (HumanEval) or ``solution.cpp`` (MPI; with
    `body`, only what follows the signature's ``{``, as `pgtd` generates it), capped."""
    if kind == "mpi":  # the generators' view holds no solution: read the problem folder's
        folder = resolve_problem_dir(problem, Path.cwd())
        solution = load_problem(folder).solution if folder.is_dir() else None
        text = solution or view.problem.prompt
        head = text.find(f"{view.problem.function}(")
        if body and head >= 0 and "{" in text[head:]:
            text = text[text.index("{", head) + 1 :]
        expected = tokens(text) + 3  # + the closing fence
    else:
        expected = round(observed.get(gen, 135.0))
    return max(1, min(expected, cap))


def _sample_plan(
    name: str, kind: str, problem: str, view: Any, observed: dict[str, float]
) -> RunPlan:
    gen = BENCH_GENERATORS[name]
    s = SampleSettings.model_validate(gen.settings_for(kind))
    budget = int(gen.budget.get("llm_calls", 10**6))
    rounds = min(s.max_rounds or budget, budget)
    comp = _completion(name, kind, problem, view, observed, s.max_tokens)
    solve = chat_tokens(solve_messages(view))
    answer = "x" * int(comp * CHARS_PER_TOKEN)
    repair = chat_tokens(repair_messages(view, answer, "y" * FEEDBACK_CHARS[kind]))
    calls, left = [], budget
    for r in range(rounds):
        k = min(s.samples, left)
        if k <= 0:
            break
        left -= k
        again = s.repair and r > 0
        calls.append(
            PlannedCall(
                "repair" if again else "solve",
                k,
                repair if again else solve,
                solve if again else 0,
                comp,
                sandbox_runs=k,
            )
        )
    return RunPlan(name, problem, kind, calls, first_pass_calls=min(s.samples, budget))


def _funcoder_plan(
    name: str, kind: str, problem: str, view: Any, observed: dict[str, float]
) -> RunPlan:
    gen = BENCH_GENERATORS[name]
    s = FunCoderSettings.model_validate(gen.settings_for(kind))
    budget = int(gen.budget.get("llm_calls", 10**6))
    tree = view.prompt_tree()
    stub = view.stub(tree.functions[view.entry])
    context = context_of(tree, view.entry)
    lang = view.language
    comp = _completion(name, kind, problem, view, observed, s.max_tokens)
    answer = "x" * int(comp * CHARS_PER_TOKEN)
    divide = chat_tokens(divide_messages(context, stub, lang))
    conquer = chat_tokens(conquer_messages(context, stub, language=lang))
    repair = chat_tokens(
        conquer_messages(
            context, stub, previous=answer, feedback="y" * FEEDBACK_CHARS[kind], language=lang
        )
    )
    test_inputs = chat_tokens(tests_messages(stub, s.tests_per_function))
    ask_inputs = s.tests_per_function > 0 and not view.whole_program
    firm = view.whole_program or bool(view.examples)
    cands = s.conquer_samples + int(s.include_architect)
    # each vote: consensus inputs run on every candidate (one sandbox run each), the public
    # checks too; the round's winner is then evaluated by the loop (+1)
    vote_runs = cands * (int(ask_inputs) + int(firm)) + 1
    steps: list[tuple[str, int, int, int, int]] = [("divide", 1, divide, comp, 0)]
    steps.append(("conquer", s.conquer_samples, conquer, comp, 0 if ask_inputs else vote_runs))
    if ask_inputs:
        steps.append(("tests", 1, test_inputs, min(comp, s.tests_max_tokens), vote_runs))
    first = sum(step[1] for step in steps)
    # a repair round re-conquers the root; its test inputs were asked once and are reused
    round_ = [("conquer", s.conquer_samples, repair, comp, vote_runs)]
    calls: list[PlannedCall] = []
    left, queue = budget, list(steps)
    while left > 0:
        if not queue:
            if not s.repair:
                break
            queue = list(round_)
        step, n, prompt, done, runs = queue.pop(0)
        k = min(n, left)
        left -= k
        calls.append(PlannedCall(step, k, prompt, 0, done, runs))
    end = 1  # the budget ran out: the partial program is still evaluated (conservative)
    return RunPlan(name, problem, kind, calls, min(first, budget), end_runs=end)


def _pgtd_plan(
    name: str, kind: str, problem: str, view: Any, observed: dict[str, float]
) -> RunPlan:
    gen = BENCH_GENERATORS[name]
    s = PGTDSettings.model_validate(gen.settings_for(kind))
    budget = min(int(gen.budget.get("llm_calls", 10**6)), s.max_calls)
    prompt = chat_tokens(chat_messages(view.prompt, view.language)) + tokens(
        assistant_prefix(view.prompt, prefill_signature=s.prefill_signature, language=view.language)
    )
    body = _completion(name, kind, problem, view, observed, s.horizon, body=s.prefill_signature)
    calls = [PlannedCall("topk", 1, prompt, 0, 1)]
    for i in range(1, budget):
        # each program: its public reward, then the loop's evaluation
        calls.append(PlannedCall("rollout", 1, prompt + i, prompt, body, sandbox_runs=2))
    return RunPlan(name, problem, kind, calls, first_pass_calls=min(2, budget))


_PLANNERS = {"sample": _sample_plan, "funcoder": _funcoder_plan, "pgtd": _pgtd_plan}


def plan_run(
    name: str,
    kind: str,
    problem: str,
    observed: dict[str, float] | None = None,
    view: Any = None,
) -> RunPlan:
    """The call plan of generator `name` (a `BENCH_GENERATORS` key) on one problem.

    Raises:
        ConfigError: a generator the projection cannot plan.
    """
    gen = BENCH_GENERATORS.get(name)
    planner = _PLANNERS.get(gen.optimizer) if gen is not None else None
    if planner is None:
        raise ConfigError(
            f"no projection for generator {name!r}; known: {', '.join(BENCH_GENERATORS)}"
        )
    if view is None:
        view = problem_views([(kind, problem)])[(kind, problem)]
    observed = observed if observed is not None else observed_completions()
    return planner(name, kind, problem, view, observed)


def project(
    generators: list[str],
    problems: list[tuple[str, str]],
    rates: Rates | None = None,
    observed: dict[str, float] | None = None,
) -> dict[str, Any]:
    """The projection of a bench: per run, per (generator, kind), and the total in hours.

    Returns:
        JSON: ``{"method", "rates", "completions", "runs": [...], "by_generator": {...},
        "total_s", "total_h"}``; a run's wall time is its projection, or its wall cap when
        that is smaller (the cap ends the run).
    """
    rates = rates or Rates()
    observed = observed if observed is not None else observed_completions()
    views = problem_views(problems)
    runs = []
    for kind, problem in problems:
        for name in generators:
            row = plan_run(name, kind, problem, observed, views[(kind, problem)]).totals(rates)
            row["projected_s"] = min(row["wall_s"], row["wall_cap_s"])
            runs.append(row)
    by_gen: dict[str, dict[str, Any]] = {}
    for row in runs:
        acc = by_gen.setdefault(row["generator"], {}).setdefault(
            row["kind"], {"problems": 0, "llm_calls": 0, "completion_tokens": 0,
                          "new_prompt_tokens": 0, "sandbox_runs": 0, "seconds": 0.0}
        )  # fmt: skip
        acc["problems"] += 1
        for key in ("llm_calls", "completion_tokens", "new_prompt_tokens", "sandbox_runs"):
            acc[key] += row[key]
        acc["seconds"] = round(acc["seconds"] + row["projected_s"], 1)
    total = sum(r["projected_s"] for r in runs)
    return {
        "method": (
            "every run spends its whole budget; prompts rendered per problem, tokens = chars/3.5 "
            "+ 4 per message; completions: smoke-run means (HumanEval), solution.cpp length "
            "(MPI), capped by max_tokens; prompt reuse only within a chat's n samples, a "
            "sample repair's solve prefix and pgtd's chat prompt"
        ),
        "rates": asdict(rates),
        "completions": observed,
        "runs": runs,
        "by_generator": by_gen,
        "total_s": round(total, 1),
        "total_h": round(total / 3600, 3),
    }
