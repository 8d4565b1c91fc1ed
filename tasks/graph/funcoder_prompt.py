"""FunCoder with a learned instruction and exemplars, over a train split of HumanEval problems.

`instruction` is guidance appended to FunCoder's divide and conquer system prompts; `exemplars`
names a set of worked examples (problems of a separate pool with their reference solutions)
shown in those prompts. For each problem of the split, FunCoder (`funcoder_settings`) writes a
program from the problem's signature, docstring and public examples; the program then runs the
problem's hidden tests in the sandbox. The score is the mean share of hidden tests passed over
the split. The splits are fixed and disjoint: `pool` (exemplar sources), `train` (what the
agents optimize), `test` (held out: a bench scores the learned prompt there once).
"""

import random

from workbench.optimizers.codegen.solve import solve
from workbench.tasks.code import load_humaneval
from workbench.trace import bundle, node

# HumanEval without the problems Workbench's generators were developed on (every 8th, the
# codegen bench's subset) and HumanEval/53 (tasks/code/humaneval_53.yaml)
IDS = [f"HumanEval/{i}" for i in range(164) if i % 8 and i != 53]
random.Random(16).shuffle(IDS)
SPLITS = {"pool": IDS[:6], "train": IDS[6:12], "test": IDS[12:36]}
EXEMPLAR_SETS = {
    "none": [],
    "a": SPLITS["pool"][0:2],
    "b": SPLITS["pool"][2:4],
    "c": SPLITS["pool"][4:6],
}
FUNCODER = {
    "max_depth": 1,
    "conquer_samples": 2,
    "tests_per_function": 3,
    "direct": False,
    "max_tokens": 384,
    "repair": False,
}

instruction = node(
    "",
    trainable=True,
    name="instruction",
    description="Guidance appended to FunCoder's system prompts (empty: none).",
)
exemplars = node(
    "none",
    trainable=True,
    name="exemplars",
    description=f"The worked examples FunCoder sees: one of {', '.join(EXEMPLAR_SETS)}.",
)
_run: dict = {}  # the run's context for this evaluation (entries run one at a time)


@bundle()
def funcoder_settings(instruction, exemplars):
    """FunCoder's settings with the instruction and the named exemplar set."""
    problems = {p.task_id: p for p in load_humaneval()}
    if exemplars not in EXEMPLAR_SETS:
        raise ValueError(f"exemplars must be one of {sorted(EXEMPLAR_SETS)}, got {exemplars!r}")
    shots = []
    for pid in EXEMPLAR_SETS[exemplars]:
        p = problems[pid]
        shots.append({"problem": p.prompt.strip(), "solution": p.canonical_solution.strip()})
    return {**FUNCODER, "instruction": str(instruction), "exemplars": shots}


@bundle()
def solve_split(settings, split):
    """FunCoder on every problem of the split; the hidden tests judge each program."""
    rows = []
    for pid in SPLITS[split]:
        s = solve(pid, context=_run["context"], generator="funcoder", settings=settings)
        rows.append(
            {
                "problem": pid,
                "hidden_pass_rate": s.hidden_pass_rate or 0.0,
                "solved": s.solved,
                "status": s.status,
                "public_feedback": s.feedback[:300],
            }
        )
    rate = sum(r["hidden_pass_rate"] for r in rows) / len(rows)
    return {"pass_rate": rate, "solved": sum(r["solved"] for r in rows), "problems": rows}


def run(context, split="train"):
    """The workflow: FunCoder's settings from the two parameters, then the split solved."""
    _run["context"] = context
    return solve_split(funcoder_settings(instruction, exemplars), split)


def feedback(result):
    """The score is the mean hidden pass rate; the text names the problems not solved."""
    rows = result["problems"]
    lines = [
        f"FunCoder solved {result['solved']} of {len(rows)} problems; mean hidden-test pass "
        f"rate {result['pass_rate']:.3f} (higher is better)."
    ]
    for r in rows:
        if not r["solved"]:
            detail = r["public_feedback"].strip().splitlines()[:2]
            lines.append(
                f"- {r['problem']}: {r['hidden_pass_rate']:.2f} of hidden tests ({r['status']})"
                + (f"; public tests: {' '.join(detail)}" if detail else "")
            )
    return result["pass_rate"], "\n".join(lines)
