"""Bayesmark-style objectives on scikit-learn's bundled datasets (no downloads).

Mirrors LLAMBO's ``run_bayesmark.py::evaluate_point``: an 80/20 split with ``random_state=0``,
the objective is the mean 5-fold cross-validation score on the train split, and the test score
is reported beside it. Regression targets are standardised with the train mean and std and
scored by MSE (minimize). Bayesmark's "logit" float ranges are plain linear ranges here.

Example:
    >>> s = objective({"max_depth": 3, "min_samples_split": 0.1}, model="DT", dataset="wine")
    >>> 0.5 < s["cv_score"] <= 1.0
    True
"""

from __future__ import annotations

import functools
import math
import statistics
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from workbench._imports import lazy_import

__all__ = [
    "CHECKPOINTS",
    "DATASETS",
    "MODELS",
    "RunRecord",
    "format_table",
    "normalised_regret",
    "objective",
    "summarize",
]

CHECKPOINTS = (5, 10, 15, 20, 30)

DATASETS = {
    "breast": ("load_breast_cancer", "clf"),
    "wine": ("load_wine", "clf"),
    "iris": ("load_iris", "clf"),
    "digits": ("load_digits", "clf"),
    "diabetes": ("load_diabetes", "reg"),
}
MODELS = ("DT", "RF", "SVM", "MLP-sgd")


# scikit-learn (~0.9 s to import) is loaded by the first evaluation, not by importing this module
datasets = lazy_import("sklearn.datasets")
ensemble = lazy_import("sklearn.ensemble")
exceptions = lazy_import("sklearn.exceptions")
metrics = lazy_import("sklearn.metrics")
model_selection = lazy_import("sklearn.model_selection")
neural_network = lazy_import("sklearn.neural_network")
svm = lazy_import("sklearn.svm")
tree = lazy_import("sklearn.tree")


@functools.cache
def _data(dataset: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    loader, task = DATASETS[dataset]
    x, y = getattr(datasets, loader)(return_X_y=True)
    x_tr, x_te, y_tr, y_te = model_selection.train_test_split(
        x, y, test_size=0.2, random_state=0, shuffle=True
    )
    if task == "reg":
        mean, std = y_tr.mean(), y_tr.std()
        y_tr, y_te = (y_tr - mean) / std, (y_te - mean) / std
    return x_tr, x_te, y_tr, y_te


def _estimator(model: str, task: str, params: dict[str, Any]) -> Any:
    p = dict(params)
    for name in ("max_depth", "hidden_layer_sizes", "batch_size", "n_estimators"):
        if name in p:
            p[name] = int(p[name])
    clf = task == "clf"
    if model == "DT":
        cls = tree.DecisionTreeClassifier if clf else tree.DecisionTreeRegressor
        return cls(random_state=0, **p)
    if model == "RF":
        cls = ensemble.RandomForestClassifier if clf else ensemble.RandomForestRegressor
        return cls(n_estimators=10, max_leaf_nodes=None, random_state=0, **p)
    if model == "SVM":
        return svm.SVC(kernel="rbf", random_state=0, **p) if clf else svm.SVR(kernel="rbf", **p)
    if model == "MLP-sgd":
        fixed = {
            "solver": "sgd",
            "early_stopping": True,
            "learning_rate": "invscaling",
            "nesterovs_momentum": True,
            "max_iter": 40,
            "random_state": 0,
        }
        if clf:
            return neural_network.MLPClassifier(**fixed, **p)
        return neural_network.MLPRegressor(activation="tanh", **fixed, **p)
    raise ValueError(f"unknown model {model!r}; known: {', '.join(MODELS)}")


def objective(
    params: dict[str, Any], model: str = "RF", dataset: str = "breast"
) -> dict[str, float]:
    """Cross-validated and test score of `model` on `dataset` with hyperparameters `params`.

    Args:
        params: the estimator's keyword arguments.
        model: "DT", "RF", "SVM" or "MLP-sgd".
        dataset: a key of `DATASETS`.

    Returns:
        ``{"cv_score", "test_score"}``: accuracy for classification, MSE for regression.
    """
    if dataset not in DATASETS:
        raise ValueError(f"unknown dataset {dataset!r}; known: {', '.join(DATASETS)}")
    task = DATASETS[dataset][1]
    x_tr, x_te, y_tr, y_te = _data(dataset)
    est = _estimator(model, task, params)
    scoring = "accuracy" if task == "clf" else "neg_mean_squared_error"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", exceptions.ConvergenceWarning)
        cv = float(np.mean(model_selection.cross_val_score(est, x_tr, y_tr, cv=5, scoring=scoring)))
        est.fit(x_tr, y_tr)
    pred = est.predict(x_te)
    if task == "clf":
        return {"cv_score": cv, "test_score": float(metrics.accuracy_score(y_te, pred))}
    return {"cv_score": -cv, "test_score": float(metrics.mean_squared_error(y_te, pred))}


# -- scoring (Bayesmark docs/scoring.rst) ------------------------------------------------------
def normalised_regret(best_loss: float, clip: float, opt: float) -> float:
    """Bayesmark's (min(S_t, clip) - opt) / (clip - opt); 0 = optimum, 1 = a random draw."""
    if not math.isfinite(best_loss):
        return 1.0
    return (min(best_loss, clip) - opt) / (clip - opt)


@dataclass
class RunRecord:
    """One (optimizer, task, seed) run: the loss of each evaluation in order, and its costs."""

    optimizer: str
    task: str
    seed: int
    losses: list[float]
    duplicates: int
    llm_calls: int
    tokens: int
    steps: int
    wall_s: float
    stats: dict[str, Any] = field(default_factory=dict)
    prompt_tokens: int = 0
    completion_tokens: int = 0
    server_prompt_processed: int = 0
    server_generated: int = 0
    llm_s: float = 0.0

    def best_at(self, t: int) -> float:
        """S_t: the best loss among the first `t` evaluations (inf if none succeeded)."""
        head = [x for x in self.losses[:t] if math.isfinite(x)]
        return min(head) if head else math.inf


def summarize(records: list[RunRecord], reference: dict[str, Any]) -> dict[str, Any]:
    """Mean regret at each checkpoint, mean rank of the final best, costs, per optimizer."""
    names = sorted({r.optimizer for r in records}, key=[r.optimizer for r in records].index)
    horizon = max(len(r.losses) for r in records)
    points = [t for t in CHECKPOINTS if t <= horizon] or [horizon]
    by_run: dict[tuple[str, int], dict[str, RunRecord]] = {}
    for r in records:
        by_run.setdefault((r.task, r.seed), {})[r.optimizer] = r
    ranks: dict[str, list[float]] = {n: [] for n in names}
    for runs in by_run.values():
        finals = {n: r.best_at(horizon) for n, r in runs.items()}
        for n, v in finals.items():
            better = sum(1 for w in finals.values() if w < v)
            ties = sum(1 for w in finals.values() if w == v)
            ranks[n].append(better + (ties + 1) / 2)
    out: dict[str, Any] = {"checkpoints": points, "optimizers": {}, "per_task": {}}
    for n in names:
        mine = [r for r in records if r.optimizer == n]
        regret = {
            t: statistics.mean(
                normalised_regret(r.best_at(t), **_ref(reference, r.task)) for r in mine
            )
            for t in points
        }
        evals = sum(len(r.losses) for r in mine)
        out["optimizers"][n] = {
            "regret": regret,
            "mean_rank": statistics.mean(ranks[n]) if ranks[n] else None,
            "duplicate_rate": sum(r.duplicates for r in mine) / max(evals, 1),
            "llm_calls_per_step": sum(r.llm_calls for r in mine) / sum(r.steps for r in mine),
            "tokens_per_step": sum(r.tokens for r in mine) / sum(r.steps for r in mine),
            "llm_steps": sum(int(r.stats.get("llm_steps", 0)) for r in mine),
            "llm_s_per_llm_step": _per(
                sum(r.llm_s for r in mine), sum(int(r.stats.get("llm_steps", 0)) for r in mine)
            ),
            "prompt_cache_reuse": _reuse(mine),
            "max_calls_per_step": max((r.stats.get("max_step_calls", 0) for r in mine), default=0),
            "wall_s": sum(r.wall_s for r in mine),
            "runs": len(mine),
        }
        for task in sorted({r.task for r in mine}):
            final = [
                normalised_regret(r.best_at(horizon), **_ref(reference, r.task))
                for r in mine
                if r.task == task
            ]
            out["per_task"].setdefault(task, {})[n] = statistics.mean(final)
    return out


def _per(total: float, n: int) -> float | None:
    return total / n if n else None


def _reuse(records: list[RunRecord]) -> float | None:
    """Share of the prompt tokens the server took from its cache (None without server data)."""
    sent = sum(r.prompt_tokens for r in records if r.server_prompt_processed)
    done = sum(r.server_prompt_processed for r in records)
    return 1 - done / sent if sent else None


def _ref(reference: dict[str, Any], task: str) -> dict[str, float]:
    return {"clip": float(reference[task]["clip"]), "opt": float(reference[task]["opt"])}


def _opt(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def format_table(summary: dict[str, Any]) -> str:
    """The summary as a Markdown table (regret at t, rank, duplicates, LLM cost per step)."""
    points = summary["checkpoints"]
    head = ["optimizer", *(f"t={t}" for t in points), "rank", "dup", "calls/step", "tok/step"]
    head += ["max calls", "LLM s/LLM step", "cache reuse"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for n, s in summary["optimizers"].items():
        row = [n, *(f"{s['regret'][t]:.3f}" for t in points)]
        row += [f"{s['mean_rank']:.2f}", f"{s['duplicate_rate']:.3f}"]
        row += [f"{s['llm_calls_per_step']:.2f}", f"{s['tokens_per_step']:.0f}"]
        row += [str(s["max_calls_per_step"]), _opt(s.get("llm_s_per_llm_step"), ".1f")]
        row += [_opt(s.get("prompt_cache_reuse"), ".0%")]
        lines.append("| " + " | ".join(row) + " |")
    tasks = summary["per_task"]
    if tasks:
        names = list(summary["optimizers"])
        lines += ["", "| task (final regret) | " + " | ".join(names) + " |"]
        lines.append("|" + "---|" * (len(names) + 1))
        for task, vals in tasks.items():
            cells = [f"{vals[n]:.3f}" if n in vals else "-" for n in names]
            lines.append(f"| {task} | " + " | ".join(cells) + " |")
    return "\n".join(lines)
