"""The contract suite's cases: every registered optimizer on the smallest task of a kind it
supports, with a scripted model that is a pure function of the request (see
`workbench.testing.optimizers`).

Kinds: `hpo` (a toy objective) for optuna and llambo, `workflow` (the shipped numeric one) for
optoprime, `code` (one Python function, run in a `LocalSandbox`) for sample, funcoder and pgtd,
`prompt` (sums, answered by a scripted task model) for the prompt optimizers.
"""

from __future__ import annotations

import copy
import json
import random
import re
from pathlib import Path
from typing import Any

import pytest

from tests.optimizers.llambo.helpers import SPACE, random_config
from tests.tasks.prompt.test_kind import solver, write_task
from workbench.llm import ChatRequest, CompletionRequest, CompletionResult, TokenLogprob
from workbench.optimizers.codegen.funcoder.prompts import CONQUER_SYSTEM, DIVIDE_SYSTEM
from workbench.sandbox import ExecResult, FunctionSandbox, RunRequest, Sandbox
from workbench.tasks import build_task, load_task, load_task_file, parse_task_text
from workbench.testing import OptimizerCase

REPO = Path(__file__).resolve().parents[2]

# -- hpo: optuna, llambo ----------------------------------------------------------------------
HPO = {
    "name": "toy",
    "kind": "hpo",
    "description": "a toy objective",
    "budget": {"evaluations": 30},
    "hpo": {
        "objective": "tests.optimizers.llambo.helpers:toy_objective",
        "metric": "score",
        "space": SPACE,
    },
}


def hpo_task(folder: Path) -> Any:
    return build_task(parse_task_text(json.dumps(HPO), folder, source="toy.yaml"))


def llambo_model(request: ChatRequest) -> str:
    """Valid rows (or predictions), different for every prompt."""
    rng = random.Random(request.key())
    text = request.messages[-1]["content"]
    if "predictions" in text:
        k = int(text.split("each of these ")[1].split()[0])
        return json.dumps({"predictions": [rng.uniform(-3, 0) for _ in range(k)]})
    k = int(m.group(1)) if (m := re.search(r"Propose (\d+)", text)) else 4
    return json.dumps({"configs": [list(random_config(rng).values()) for _ in range(k)]})


# -- workflow: optoprime ----------------------------------------------------------------------
def numeric_task(folder: Path) -> Any:
    return load_task(REPO / "tasks" / "workflow" / "numeric.yaml")[1]


def optoprime_model(request: ChatRequest) -> str:
    """Moves x by 4 (plus the temperature) the way the feedback asks."""
    user = str(request.messages[-1]["content"])
    found = re.search(r"\(float\) (x\d+)=(-?[\d.]+)", user)
    assert found is not None, user
    sign = 1 if "too small" in user.split("\n#Feedback\n")[1] else -1
    value = float(found.group(2)) + sign * 4.0 + request.temperature
    return json.dumps({"reasoning": "r", "suggestion": {found.group(1): value}})


# -- code: sample, funcoder, pgtd -------------------------------------------------------------
PROMPT = 'def mul(a, b):\n    """Return a times b."""\n'
CODE = f"""
name: mul
kind: code
sandbox: {{backend: local}}
budget: {{iterations: 10}}
code:
  problem:
    entry_point: mul
    prompt: {json.dumps(PROMPT)}
    public_tests: [{{input: [2, 3], output: 6}}, {{input: [4, 5], output: 20}}]
    hidden_tests: ["assert mul(0, 7) == 0"]
"""


def code_task(folder: Path) -> Any:
    return build_task(parse_task_text(CODE, folder, source="mul.yaml"))


def mul(body: str) -> str:
    return f"```python\n{PROMPT}    return {body}\n```"


def sample_model(request: ChatRequest) -> str:
    """Off by 2, 1, then right as the rounds go (the round is in the request's seed)."""
    off = max(0, 2 - (request.seed or 0) // 1000) + request.sample_index
    return mul(f"a * b + {off}" if off else "a * b")


def funcoder_model(request: ChatRequest) -> str:
    """Wrong (off by one), then half right, then right as repair rounds show it its last try;
    three test inputs for the consensus."""
    messages = request.messages
    if messages[0]["content"] == DIVIDE_SYSTEM:
        return mul("a * b + 1")
    if messages[0]["content"] == CONQUER_SYSTEM:
        previous = messages[4]["content"] if len(messages) > 4 else ""  # a repair round's
        if "(a == 4)" in previous:
            return mul("a * b")
        return mul("a * b + (a == 4)" if previous else "a * b + 1")
    return "```python\nmul(1, 2)\nmul(3, 3)\nmul(0, 5)\n```"


BRANCH = "    return a "
OPS = [("+", -0.2), ("*", -1.9), ("-", -2.5)]
ENDING = "b\n```\nThis function multiplies."


def _next_chars(generated: str) -> list[tuple[str, float]]:
    if generated == BRANCH:
        return list(OPS)
    nxt = "`"  # off script: close the fence
    for op, _ in OPS:
        target = BRANCH + op + " " + ENDING
        if target.startswith(generated) and len(generated) < len(target):
            nxt = target[len(generated)]
            break
    return [(nxt, -0.01), *[(c, lp) for c, lp in (("#", -5.0), ("x", -6.0)) if c != nxt]]


def pgtd_model(request: CompletionRequest) -> CompletionResult:
    """A character-level model (token ids are bytes) whose second choice at one place is `*`."""
    generated = bytes(request.prompt).decode().rsplit(PROMPT, 1)[1]  # type: ignore[arg-type]
    k, out, tokens = request.logprobs or 1, "", []
    for _ in range(request.max_tokens):
        alts = _next_chars(generated + out)[:k]
        char, lp = alts[0]
        tokens.append(TokenLogprob(char, ord(char), lp, [(c, ord(c), p) for c, p in alts]))
        out += char
        if request.stop and any(s in out for s in request.stop):
            cut = min(out.index(s) for s in request.stop if s in out)
            return CompletionResult(out[:cut], "scripted", tokens, finish_reason="stop")
    return CompletionResult(out, "scripted", tokens, finish_reason="length")


# -- prompt: ape, opro, protegi, exemplars, exemplars_opt, joint ------------------------------
def prompt_task(folder: Path) -> Any:
    task = build_task(load_task_file(write_task(folder, evals=8)))
    task.use_client(solver())  # the task model: its calls are the task's, not the optimizer's
    return task


def prompt_model(request: ChatRequest) -> str:
    """An instruction (careful or not, by the request's hash), or a textual gradient."""
    text = "\n".join(m["content"] for m in request.messages)
    if "Give one reason" in text:
        return "It does not say to be careful."
    tag = request.key()[:6]
    return f"<INS>Be {'CAREFUL' if int(tag, 16) % 2 else 'quick'} ({tag}).</INS>"


@pytest.fixture(scope="session")
def memo_sandbox(local_sandbox: Sandbox) -> Sandbox:
    """The session's `LocalSandbox` behind a memo: the same run is made once.

    The cases' programs are deterministic and twins run the same ones: the memo saves most of
    the suite's time and gives twins the same results (timings included).
    """
    memo: dict[str, ExecResult] = {}

    def run(r: RunRequest) -> ExecResult:
        key = repr(r)
        if key not in memo:
            memo[key] = local_sandbox.run(
                r.files, r.command, r.limits, fetch=r.fetch, judge=r.judge
            )
        return copy.deepcopy(memo[key])

    return FunctionSandbox(run, image_id=local_sandbox.image_id)


@pytest.fixture
def contract_cases(memo_sandbox: Sandbox) -> dict[str, OptimizerCase]:
    """One case per registered optimizer name."""

    def box() -> Sandbox:  # the run's sandbox: lent to the optimizers, never closed by them
        return memo_sandbox

    pgtd = {"horizon": 40, "max_calls": 30, "early_stop": None}
    protegi = {"beam": 2, "gradients": 1, "edits_per_gradient": 2, "minibatch": 4}
    joint = {"instruction": "ape", "search": "tpe", "sets": 3, "selector_settings": {"k": 1}}
    prompt = {
        "ape": {"demos": 3},
        "opro": {"candidates_per_step": 2},
        "protegi": protegi,
        "exemplars": {"selector": "random_search", "k": 2},
        "exemplars_opt": {"selector": "mutation", "k": 2},
        "joint": joint,
    }
    cases = {
        "optuna": OptimizerCase("optuna", hpo_task, None, {"n_startup_trials": 2}),
        "llambo": OptimizerCase("llambo", hpo_task, llambo_model, {"warm_start": 2}, warmup=3),
        "optoprime": OptimizerCase(
            "optoprime", numeric_task, optoprime_model, {"temperatures": [0.0, 0.5]}
        ),
        "sample": OptimizerCase(
            "sample", code_task, sample_model, {"samples": 2, "temperature": 0.8}, open_sandbox=box
        ),
        "funcoder": OptimizerCase(
            "funcoder",
            code_task,
            funcoder_model,
            {"conquer_samples": 2},
            open_sandbox=box,
            n=1,
            warmup=1,
        ),
        "pgtd": OptimizerCase("pgtd", code_task, pgtd_model, pgtd, open_sandbox=box, n=1, warmup=1),
    }
    for name, settings in prompt.items():
        cases[name] = OptimizerCase(name, prompt_task, prompt_model, settings)
    return cases
