"""LLAMBO's `History`: what a full read of the study gives, each finished trial read once."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import optuna
import pytest

from tests.optimizers.llambo.helpers import context, good_script, toy_objective
from workbench.contracts import Evaluation
from workbench.llm import ScriptedLLM
from workbench.optimizers import make_optimizer
from workbench.optimizers.llambo import Observation, check_config, config_text
from workbench.optimizers.llambo import history as history_module
from workbench.optimizers.llambo.history import History
from workbench.optimizers.optuna import optuna_distributions
from workbench.tasks.hpo import CategoricalParam, FloatParam

SPACE: dict[str, Any] = {
    "x": FloatParam(type="float", low=0.0, high=1.0),
    "k": CategoricalParam(type="categorical", choices=["a", "b"]),
}
WAITING, COMPLETE = optuna.trial.TrialState.WAITING, optuna.trial.TrialState.COMPLETE


def _full_read(study: Any) -> tuple[set[str], list[Observation], int]:
    """What LLAMBO computed from every trial on every step before `History`."""
    seen: set[str] = set()
    observed: list[Observation] = []
    waiting = 0
    for t in study.get_trials(deepcopy=False):
        params = t.params
        if t.state == WAITING:
            waiting += 1
            params = t.system_attrs.get("fixed_params", {})
        config, _ = check_config(dict(params), SPACE)
        if config is None:
            continue
        seen.add(config_text(config, SPACE))
        if t.state == COMPLETE and t.value is not None:
            observed.append(Observation(config, float(t.value)))
    return seen, observed, waiting


def _all_tied(observed: list[Observation], direction: str) -> bool:
    """`Engine.tied(observed) == len(observed)`, spelled out."""
    if not observed:
        return True
    scores = [o.score for o in observed]
    best = max(scores) if direction == "maximize" else min(scores)
    tol = 1e-9 * max(1.0, abs(best))
    return all(abs(s - best) <= tol for s in scores)


@pytest.mark.filterwarnings("ignore:Fixed parameter x with value 1.5 is out of range")
@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("direction", ["maximize", "minimize"])
def test_history_gives_what_a_full_read_gives(seed: int, direction: str) -> None:
    """Enqueued, running, failed, completed and out-of-space trials, finished out of order,
    with and without tied scores: after every change `History` equals a full read."""
    rng = random.Random(seed)
    study = optuna.create_study(direction=direction)
    space = optuna_distributions(SPACE)
    history = History(SPACE, direction)
    running: list[Any] = []
    scores = [0.5] if seed % 2 else [0.5, 0.25, 1.0, 1e-12 + 0.5]
    for _ in range(80):
        roll = rng.random()
        if roll < 0.15:
            x = rng.choice([rng.random(), 1.5])  # 1.5: outside the space
            study.enqueue_trial({"x": x, "k": rng.choice("ab")})
        elif roll < 0.55 or not running:
            trial = study.ask(space) if rng.random() < 0.9 else study.ask()  # no params
            running.append(trial)
        else:
            trial = running.pop(rng.randrange(len(running)))  # finish out of order
            if rng.random() < 0.2:
                study.tell(trial, state=optuna.trial.TrialState.FAIL)
            else:
                study.tell(trial, rng.choice(scores))
        history.read(study)
        seen, observed, waiting = _full_read(study)
        assert history.seen() == seen
        assert history.observed() == observed
        assert history.n_observed == len(observed)
        assert history.waiting == waiting
        assert history.n_trials == len(study.get_trials(deepcopy=False))
        assert history.all_tied() == _all_tied(observed, direction)


def test_history_reads_the_whole_study_again_when_another_history_began_elsewhere() -> None:
    """A `History` that has read a study and is then shown another one (fewer trials) starts
    over rather than trusting what it kept."""
    space = optuna_distributions(SPACE)
    big, small = optuna.create_study(), optuna.create_study()
    for study, n in ((big, 5), (small, 2)):
        for _ in range(n):
            study.tell(study.ask(space), 1.0)
    history = History(SPACE, "maximize")
    history.read(big)
    history.read(small)
    assert history.n_observed == 2 and history.observed() == _full_read(small)[1]


def _drive(opt: Any, steps: int) -> None:
    for _ in range(steps):
        (c,) = opt.propose(1)
        opt.observe([Evaluation(c.id, "ok", {"score": toy_objective(c.payload["params"])})])


def test_each_finished_trial_is_read_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A step checks only the trials that changed since the last one, not the whole history
    (which made LLAMBO's steps cost more as the study grew)."""
    calls = [0]
    real = history_module.check_config

    def counting(config: Any, space: Any) -> Any:
        calls[0] += 1
        return real(config, space)

    monkeypatch.setattr(history_module, "check_config", counting)
    llm = ScriptedLLM(good_script())
    opt = make_optimizer("llambo", {"warm_start": 3}, context(tmp_path, lambda **kw: llm))
    _drive(opt, 20)
    before = calls[0]
    _drive(opt, 20)
    assert calls[0] - before <= 20  # one trial finished per step: read once
    assert opt.history.n_trials == 39  # read before the step's trial was asked
    opt.close()


def test_llambo_steps_copy_no_trial_of_the_history(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from optuna.storages._cached_storage import _CachedStorage

    llm = ScriptedLLM(good_script())
    opt = make_optimizer("llambo", {"warm_start": 3}, context(tmp_path, lambda **kw: llm))
    copies = [0]
    real = _CachedStorage.get_all_trials

    def get_all_trials(storage: Any, study_id: int, deepcopy: bool = True, states: Any = None):
        copies[0] += bool(deepcopy)
        return real(storage, study_id, deepcopy=deepcopy, states=states)

    def trials(study: Any) -> None:
        raise AssertionError("Study.trials deep-copies every trial")

    monkeypatch.setattr(_CachedStorage, "get_all_trials", get_all_trials)
    monkeypatch.setattr(optuna.study.Study, "trials", property(trials))
    _drive(opt, 20)  # warm start, LLM steps, the hand-over to TPE
    assert copies[0] == 0
    assert llm.usage.calls > 0
    opt.close()
