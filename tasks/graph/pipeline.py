"""An ML pipeline: feature-engineering code feeding an RBF support-vector classifier.

`features(rows)` maps the raw measurements of every sample (a list of rows of numbers, one row
per sample, no labels) to the classifier's inputs, one row per sample in the same order; it
may compute statistics over all rows (scaling, say). `C` and `gamma` set the classifier
(sklearn.svm.SVC(kernel="rbf", C=C, gamma=gamma)). On the training split the score is the
mean 5-fold cross-validated accuracy; on the held-out test split it is the accuracy of the
classifier fitted on the training rows. Both are computed in the sandbox.
"""

from sklearn import datasets
from sklearn.model_selection import train_test_split

from workbench.trace import bundle, node

LOADERS = {
    "wine": datasets.load_wine,
    "breast_cancer": datasets.load_breast_cancer,
    "digits": datasets.load_digits,
}
TEST_SIZE = 0.3
SPLIT_SEED = 0  # the held-out split is fixed: a bench reports on it, nothing tunes on it

C = node(1.0, trainable=True, name="C", description="The SVC's regularisation C (> 0).")
gamma = node(1.0, trainable=True, name="gamma", description="The RBF kernel's gamma (> 0).")


@bundle(trainable=True)
def features(rows):
    """Turn each sample's raw measurements into the classifier's inputs: a list with one list of
    numbers per sample, in order. The function runs on its own: import what it uses inside its
    body (numpy and scikit-learn are installed)."""
    return [list(row) for row in rows]


@bundle()
def score(table, labels, n_train, C, gamma):
    """Accuracy of SVC(C, gamma) on `table`: 5-fold cross-validated over all rows when
    n_train is None, else fitted on the first n_train rows and tested on the rest."""
    import numpy as np
    from sklearn.model_selection import StratifiedKFold, cross_val_score
    from sklearn.svm import SVC

    if not isinstance(table, list) or len(table) != len(labels):
        got = len(table) if isinstance(table, list) else type(table).__name__
        raise ValueError(f"features must return one row per sample: {len(labels)} rows, got {got}")
    widths = {len(row) if isinstance(row, list | tuple) else -1 for row in table}
    if -1 in widths or len(widths) != 1 or 0 in widths:
        raise ValueError(f"every row must be a non-empty list of one width; widths: {widths}")
    x = np.asarray(table, dtype=float)
    if not np.isfinite(x).all():
        raise ValueError(f"{int((~np.isfinite(x)).sum())} values are NaN or infinite")
    y = np.asarray(labels)
    model = SVC(kernel="rbf", C=float(C), gamma=float(gamma))
    if n_train is None:
        folds = StratifiedKFold(n_splits=5, shuffle=True, random_state=0)
        accuracies = cross_val_score(model, x, y, cv=folds)
        return {
            "accuracy": float(accuracies.mean()),
            "folds": [round(float(a), 4) for a in accuracies],
            "columns": x.shape[1],
        }
    model.fit(x[:n_train], y[:n_train])
    accuracy = float((model.predict(x[n_train:]) == y[n_train:]).mean())
    return {"accuracy": accuracy, "folds": [], "columns": x.shape[1]}


def split(dataset):
    """The fixed (train rows, train labels, test rows, test labels) of a data set."""
    data = LOADERS[dataset]()
    x_train, x_test, y_train, y_test = train_test_split(
        data.data.tolist(),
        data.target.tolist(),
        test_size=TEST_SIZE,
        random_state=SPLIT_SEED,
        stratify=data.target,
    )
    return x_train, y_train, x_test, y_test


def run(dataset="wine", split_name="train"):
    """The workflow: features of the rows, then the classifier's accuracy."""
    x_train, y_train, x_test, y_test = split(dataset)
    if split_name == "train":
        return score(features(x_train), y_train, None, C, gamma)
    return score(features(x_train + x_test), y_train + y_test, len(x_train), C, gamma)


def feedback(result):
    """The score is the accuracy; the text says how the folds went."""
    accuracy = result["accuracy"]
    folds = f" (folds: {result['folds']})" if result["folds"] else ""
    text = (
        f"Accuracy {accuracy:.4f}{folds} with {result['columns']} input columns. "
        "Higher is better; 1.0 is perfect."
    )
    return accuracy, text
