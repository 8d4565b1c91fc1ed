"""The `optuna` optimizer: samplers, ask/tell, storage, resume from its JSON state."""

from __future__ import annotations

import importlib.util
import json
import sqlite3
from pathlib import Path
from typing import Any

import optuna
import pytest

from tests.agents.helpers import hpo_task, write_task
from workbench.contracts import Evaluation
from workbench.errors import ConfigError, NotSetUp
from workbench.optimizers import RunContext, make_optimizer
from workbench.tasks import load_task

SPACE = {
    "lr": {"type": "float", "low": 1e-4, "high": 1.0, "log": True},
    "depth": {"type": "int", "low": 1, "high": 64, "log": True},
    "units": {"type": "int", "low": 8, "high": 64, "step": 8},
    "act": {"type": "categorical", "choices": ["relu", "tanh", None]},
    "drop": {"type": "float", "low": 0.0, "high": 0.5, "step": 0.1},
}


def _ctx(tmp_path: Path, seed: int = 0) -> RunContext:
    tmp_path.mkdir(parents=True, exist_ok=True)
    (tmp_path / "obj.py").write_text("def objective(p):\n    return 0.0\n")
    data = hpo_task("opt")
    data["hpo"]["space"] = SPACE
    _, task = load_task(write_task(tmp_path, data))
    run = tmp_path / f"run{seed}"
    run.mkdir(exist_ok=True)
    return RunContext(task=task, seed=seed, run_dir=run)


def _score(params: dict) -> float:
    return -abs(params["lr"] - 0.01) - params["drop"]


@pytest.mark.parametrize("sampler", ["tpe", "random", "cmaes"])
def test_sampler_proposes_in_space_and_learns(tmp_path: Path, sampler: str) -> None:
    ctx = _ctx(tmp_path)
    opt = make_optimizer("optuna", {"sampler": sampler, "n_startup_trials": 4}, ctx)
    space = ctx.task.search_space()  # type: ignore[union-attr]
    for _ in range(4):
        cands = opt.propose(3)
        assert len({c.id for c in cands}) == 3
        for c in cands:
            for name, spec in space.items():
                assert spec.check(c.payload["params"][name]) is None, (name, c.payload)
        opt.observe([Evaluation(c.id, "ok", {"score": _score(c.payload["params"])}) for c in cands])
    trials = opt.study.get_trials(states=(optuna.trial.TrialState.COMPLETE,))  # type: ignore[attr-defined]
    assert len(trials) == 12
    assert (ctx.run_dir / "optuna.sqlite").is_file()  # type: ignore[operator]
    opt.close()


def test_same_seed_same_proposals_and_failed_trials(tmp_path: Path) -> None:
    a = make_optimizer("optuna", {"sampler": "tpe"}, _ctx(tmp_path / "a"))
    b = make_optimizer("optuna", {"sampler": "tpe"}, _ctx(tmp_path / "b"))
    pa, pb = a.propose(2), b.propose(2)
    assert [c.payload for c in pa] == [c.payload for c in pb]
    a.observe([Evaluation(pa[0].id, "error"), Evaluation(pa[1].id, "ok", {"score": 1.0})])
    a.observe([Evaluation(pa[1].id, "ok", {"score": 1.0})])  # idempotent
    states = [t.state for t in a.study.get_trials()]  # type: ignore[attr-defined]
    assert states == [optuna.trial.TrialState.FAIL, optuna.trial.TrialState.COMPLETE]


def test_resume_from_json_state_in_a_fresh_optimizer(tmp_path: Path) -> None:
    ctx = _ctx(tmp_path)
    settings = {"sampler": "tpe", "n_startup_trials": 2}
    first = make_optimizer("optuna", settings, ctx)
    done = first.propose(2)
    first.observe([Evaluation(c.id, "ok", {"score": 0.5}) for c in done])
    pending = first.propose(1)
    state = json.loads(json.dumps(first.state()))
    first.propose(1)  # asked after the saved state: must not survive a resume
    first.close()

    second = make_optimizer("optuna", settings, ctx)
    second.load_state(state)
    trials = second.study.get_trials()  # type: ignore[attr-defined]
    assert [t.state.name for t in trials] == ["COMPLETE", "COMPLETE", "RUNNING", "FAIL"]
    second.observe([Evaluation(pending[0].id, "ok", {"score": 0.9})])
    assert second.study.best_value == 0.9  # type: ignore[attr-defined]


def test_gp_needs_torch(tmp_path: Path) -> None:
    ctx = _ctx(tmp_path)
    if importlib.util.find_spec("torch") is None:
        with pytest.raises(NotSetUp, match="torch"):
            make_optimizer("optuna", {"sampler": "gp"}, ctx)
    else:
        opt = make_optimizer("optuna", {"sampler": "gp", "n_startup_trials": 2}, ctx)
        for _ in range(3):
            cands = opt.propose(1)
            opt.observe(
                [Evaluation(c.id, "ok", {"score": _score(c.payload["params"])}) for c in cands]
            )


def test_bad_settings_name_the_field(tmp_path: Path) -> None:
    ctx = _ctx(tmp_path)
    with pytest.raises(ConfigError, match=r"optimizer\.settings\.sampler"):
        make_optimizer("optuna", {"sampler": "annealing"}, ctx)
    with pytest.raises(ConfigError, match=r"optimizer\.name.*unknown optimizer 'nope'"):
        make_optimizer("nope", {}, ctx)


class _HistorySpy:
    """Fails on `Study.trials` and records every read of a study's trials (deepcopy or not)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        from optuna.storages._cached_storage import _CachedStorage

        self.copies = 0
        real = _CachedStorage.get_all_trials

        def get_all_trials(storage: Any, study_id: int, deepcopy: bool = True, states: Any = None):
            self.copies += bool(deepcopy)
            return real(storage, study_id, deepcopy=deepcopy, states=states)

        def trials(study: Any) -> None:
            raise AssertionError("Study.trials deep-copies every trial")

        monkeypatch.setattr(_CachedStorage, "get_all_trials", get_all_trials)
        monkeypatch.setattr(optuna.study.Study, "trials", property(trials))


@pytest.mark.parametrize("sampler", ["random", "tpe"])
def test_a_step_copies_no_trial_of_the_history(
    tmp_path: Path, sampler: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Counting trials must not copy them: `Study.trials` deep-copied the whole history on
    every propose, so each step cost more than the last."""
    opt = make_optimizer("optuna", {"sampler": sampler, "n_startup_trials": 3}, _ctx(tmp_path))
    spy = _HistorySpy(monkeypatch)
    for _ in range(8):
        cands = opt.propose(2)
        opt.observe([Evaluation(c.id, "ok", {"score": _score(c.payload["params"])}) for c in cands])
        json.dumps(opt.state())
    assert spy.copies == 0
    assert opt.state()["n_trials"] == 16
    opt.close()


def test_a_resume_proposes_what_the_unbroken_run_would_have(tmp_path: Path) -> None:
    """The sampler's seed comes from the trial counter in the saved state: a trial asked by a
    step that never checkpointed is failed and not counted, so the resumed step proposes the
    same parameters as that lost step (under a new trial number)."""
    ctx = _ctx(tmp_path)
    first = make_optimizer("optuna", {"sampler": "random"}, ctx)
    done = first.propose(2)
    first.observe([Evaluation(c.id, "ok", {"score": 0.5}) for c in done])
    state = json.loads(json.dumps(first.state()))
    (lost,) = first.propose(1)  # asked after the saved state: its step never checkpointed
    first.close()

    second = make_optimizer("optuna", {"sampler": "random"}, ctx)
    second.load_state(state)
    (again,) = second.propose(1)
    assert again.payload == lost.payload
    assert again.id != lost.id  # the lost trial keeps its number, failed
    states = [t.state.name for t in second.study.get_trials()]  # type: ignore[attr-defined]
    assert states == ["COMPLETE", "COMPLETE", "FAIL", "RUNNING"]
    second.close()


def test_a_state_saved_before_the_counter_counts_the_trials_once(tmp_path: Path) -> None:
    ctx = _ctx(tmp_path)
    first = make_optimizer("optuna", {"sampler": "random"}, ctx)
    first.propose(3)
    state = {k: v for k, v in first.state().items() if k != "n_trials"}
    first.close()
    second = make_optimizer("optuna", {"sampler": "random"}, ctx)
    second.load_state(state)
    assert second.state()["n_trials"] == 3
    second.close()


def test_sqlite_studies_use_wal_without_a_sync_per_commit(tmp_path: Path) -> None:
    """WAL with synchronous=NORMAL from the first table on (a commit survives kill -9, see
    `study_storage`); other storages are left as they are."""
    from workbench.optimizers.optuna import study_storage

    ctx = _ctx(tmp_path)
    opt = make_optimizer("optuna", {"sampler": "random"}, ctx)
    opt.observe([Evaluation(c.id, "ok", {"score": 0.1}) for c in opt.propose(2)])
    path = ctx.run_dir / "optuna.sqlite"  # type: ignore[operator]
    with sqlite3.connect(path) as con:
        assert con.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    backend = opt.study._storage._backend  # type: ignore[attr-defined]
    with backend.engine.connect() as con:
        assert con.exec_driver_sql("PRAGMA synchronous").fetchone() == (1,)  # NORMAL
    opt.close()
    for url in ("sqlite://", "sqlite:///:memory:", "postgresql://u@h/db", "mysql://u@h/db"):
        assert study_storage(url) == url
    assert study_storage(f"sqlite:///{tmp_path / 'x.sqlite'}?timeout=30") == (
        f"sqlite:///{tmp_path / 'x.sqlite'}?timeout=30"
    )


@pytest.mark.parametrize("name", ["optuna", "llambo"])
def test_without_a_run_folder_the_study_lives_in_memory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    """`workbench validate` and the Python API build optimizers with no run folder: nothing
    is written (the pre-run check used to create and drop a throwaway SQLite study)."""
    ctx = _ctx(tmp_path / "task")
    ctx.run_dir = None
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    opt = make_optimizer(name, {}, ctx)
    assert opt.study_name == "workbench"  # type: ignore[attr-defined]
    assert isinstance(opt.study._storage, optuna.storages.InMemoryStorage)  # type: ignore[attr-defined]
    if name == "optuna":
        (c,) = opt.propose(1)
        opt.observe([Evaluation(c.id, "ok", {"score": 1.0})])
        assert len(opt.study.trials) == 1  # type: ignore[attr-defined]
    opt.close()
    assert list(cwd.iterdir()) == []
