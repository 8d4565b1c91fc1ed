"""Scripted model answers and a small hpo context for the LLAMBO tests."""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

from workbench.optimizers import RunContext
from workbench.tasks import load_task

REPO = Path(__file__).resolve().parents[3]
SUITE = REPO / "tasks" / "hpo" / "bayesmark"

SPACE = {
    "lr": {"type": "float", "low": 1e-5, "high": 1e-1, "log": True},
    "drop": {"type": "float", "low": 0.0, "high": 0.5},
    "depth": {"type": "int", "low": 1, "high": 15},
    "act": {"type": "categorical", "choices": ["relu", "tanh", None]},
}


def toy_objective(params: dict[str, Any]) -> float:
    """Maximized near lr=1e-3, drop=0, depth=7, act=tanh."""
    import math

    score = -((math.log10(params["lr"]) + 3) ** 2) - params["drop"] - abs(params["depth"] - 7) / 7
    return score + (0.5 if params["act"] == "tanh" else 0.0)


def context(tmp_path: Path, make_llm: Callable[..., Any] | None, seed: int = 0) -> Any:
    """An RunContext on a toy hpo task with `SPACE` and a run folder."""
    import yaml

    tmp_path.mkdir(parents=True, exist_ok=True)
    (tmp_path / "toy.py").write_text(
        "from tests.optimizers.llambo.helpers import toy_objective\n\n"
        "def objective(p):\n    return toy_objective(p)\n"
    )
    data = {
        "name": "toy",
        "kind": "hpo",
        "description": "a toy objective",
        "optimizer": {"name": "llambo", "settings": {}},
        "budget": {"evaluations": 10},
        "seed": seed,
        "hpo": {"objective": "toy:objective", "metric": "score", "space": SPACE},
    }
    (tmp_path / "toy.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    _, task = load_task(tmp_path / "toy.yaml")
    run = tmp_path / "run"
    run.mkdir(exist_ok=True)
    return RunContext(task=task, seed=seed, run_dir=run, make_llm=make_llm)


def random_config(rng: random.Random) -> dict[str, Any]:
    """A valid configuration of `SPACE`."""
    return {
        "lr": 10 ** rng.uniform(-5, -1),
        "drop": rng.uniform(0, 0.5),
        "depth": rng.randint(1, 15),
        "act": rng.choice(["relu", "tanh", None]),
    }


def tree_config(rng: random.Random) -> dict[str, Any]:
    """A valid configuration of the Bayesmark tree space (DT/RF tasks)."""
    return {
        "max_depth": rng.randint(1, 15),
        "max_features": rng.uniform(0.01, 0.99),
        "min_impurity_decrease": rng.uniform(0, 0.01),
        "min_samples_leaf": rng.uniform(0.01, 0.1),
        "min_samples_split": rng.uniform(0.01, 0.3),
        "min_weight_fraction_leaf": rng.uniform(0.01, 0.1),
    }


def good_script(
    seed: int = 0, make: Callable[[random.Random], dict[str, Any]] = random_config
) -> Callable[[Any], str]:
    """A well-behaved model: valid rows (from `make`), one prediction per candidate."""
    rng = random.Random(seed)

    def fn(request: Any) -> str:
        text = request.messages[-1]["content"]
        if "predictions" in text:
            k = int(text.split("each of these ")[1].split()[0])
            return json.dumps({"predictions": [rng.uniform(-3, 0) for _ in range(k)]})
        k = int(text.split("Propose ")[1].split()[0])
        return json.dumps({"configs": [list(make(rng).values()) for _ in range(k)]})

    return fn
