"""The composition of `pipeline_wine.yaml`, from Python: two agents on tasks/graph/pipeline.py.

    python tasks/graph/compose_pipeline.py [dataset] [runs_dir]

`task()` builds with `workbench.compose` the task the YAML file declares (the traced objects
of the module name what each agent owns); running the file optimizes it, as
`workbench optimize tasks/graph/pipeline_wine.yaml` does.
"""

from __future__ import annotations

import sys
from pathlib import Path

import workbench as wb
from workbench.tasks import TaskFile
from workbench.tasks.workflow import load_module

HERE = Path(__file__).resolve().parent


def task(dataset: str = "wine") -> TaskFile:
    """The two-agent pipeline task on `dataset` (wine, breast_cancer or digits)."""
    pipeline = load_module(HERE / "pipeline.py")
    log_range = {"type": "float", "log": True}
    return wb.compose(
        pipeline,
        name=f"graph-pipeline-{dataset}".replace("_", "-"),
        description=(
            "Maximize the 5-fold cross-validated accuracy of an RBF SVC on the "
            f"{dataset.replace('_', ' ')} data set by engineering its input features and "
            "tuning C and gamma."
        ),
        llm={"model": "local"},
        agents=[
            wb.Agent(
                "coder",
                "optoprime",
                owns=[pipeline.features],
                settings={"temperatures": [0.0], "max_tokens": 400},
            ),
            wb.Agent(
                "tuner",
                "llambo",
                owns={
                    pipeline.C: {**log_range, "low": 0.001, "high": 1000.0},
                    pipeline.gamma: {**log_range, "low": 0.00001, "high": 10.0},
                },
                settings={"warm_start": 3},
            ),
        ],
        routing={"rules": [{"when": "error", "agent": "coder"}], "policy": "gains"},
        budget={"evaluations": 30, "llm_calls": 45},
        seed=0,
        stop={"target": 1.0},
        entry=pipeline.run,
        feedback=pipeline.feedback,
        args={"dataset": dataset, "split_name": "train"},
        sandboxed=["score"],
        metric="cv_accuracy",
        direction="maximize",
        run_in="sandbox",
        timeout_s=60,
    )


if __name__ == "__main__":
    name = sys.argv[1] if len(sys.argv) > 1 else "wine"
    runs = sys.argv[2] if len(sys.argv) > 2 else None
    summary = wb.optimize(task(name), runs)
    print(summary["best"]["score"], summary["stop_reason"])
