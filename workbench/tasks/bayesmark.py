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
from typing import Any

import numpy as np

__all__ = ["DATASETS", "MODELS", "objective"]

DATASETS = {
    "breast": ("load_breast_cancer", "clf"),
    "wine": ("load_wine", "clf"),
    "iris": ("load_iris", "clf"),
    "digits": ("load_digits", "clf"),
    "diabetes": ("load_diabetes", "reg"),
}
MODELS = ("DT", "RF", "SVM", "MLP-sgd")


@functools.cache
def _data(dataset: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    from sklearn import datasets
    from sklearn.model_selection import train_test_split

    loader, task = DATASETS[dataset]
    x, y = getattr(datasets, loader)(return_X_y=True)
    x_tr, x_te, y_tr, y_te = train_test_split(x, y, test_size=0.2, random_state=0, shuffle=True)
    if task == "reg":
        mean, std = y_tr.mean(), y_tr.std()
        y_tr, y_te = (y_tr - mean) / std, (y_te - mean) / std
    return x_tr, x_te, y_tr, y_te


def _estimator(model: str, task: str, params: dict[str, Any]) -> Any:
    from sklearn import ensemble, neural_network, svm, tree

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
    import warnings

    from sklearn.exceptions import ConvergenceWarning
    from sklearn.metrics import accuracy_score, mean_squared_error
    from sklearn.model_selection import cross_val_score

    if dataset not in DATASETS:
        raise ValueError(f"unknown dataset {dataset!r}; known: {', '.join(DATASETS)}")
    task = DATASETS[dataset][1]
    x_tr, x_te, y_tr, y_te = _data(dataset)
    est = _estimator(model, task, params)
    scoring = "accuracy" if task == "clf" else "neg_mean_squared_error"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        cv = float(np.mean(cross_val_score(est, x_tr, y_tr, cv=5, scoring=scoring)))
        est.fit(x_tr, y_tr)
    pred = est.predict(x_te)
    if task == "clf":
        return {"cv_score": cv, "test_score": float(accuracy_score(y_te, pred))}
    return {"cv_score": -cv, "test_score": float(mean_squared_error(y_te, pred))}
