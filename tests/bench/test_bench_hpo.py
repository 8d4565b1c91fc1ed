"""The Bayesmark suite and `workbench bench hpo` plumbing (scripted model, small grids)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import optuna
import pytest

from tests.optimizers.llambo.helpers import good_script, tree_config
from workbench.bench import (
    SUITE_DIR,
    RunRecord,
    format_table,
    initial_configs,
    load_reference,
    load_suite,
    normalised_regret,
    run_one,
    summarize,
)
from workbench.bench.hpo import project
from workbench.llm import ScriptedLLM
from workbench.optimizers.llambo.cost import read_server_log

SUITE = [
    "dt-diabetes", "dt-wine", "mlp-breast", "mlp-wine", "rf-breast",
    "rf-diabetes", "rf-digits", "svm-breast", "svm-wine",
]  # fmt: skip


def test_suite_has_the_nine_tasks_with_the_exact_spaces() -> None:
    suite = {t.name: t for t in load_suite()}
    assert sorted(suite) == SUITE
    svm = suite["svm-wine"].search_space()
    assert (svm["C"].low, svm["C"].high, svm["C"].log) == (1.0, 1000.0, True)
    assert (svm["gamma"].low, svm["gamma"].high, svm["tol"].low) == (1e-4, 1e-3, 1e-5)
    tree = suite["rf-digits"].search_space()
    assert (tree["min_impurity_decrease"].low, tree["min_impurity_decrease"].high) == (0.0, 0.5)
    assert (tree["max_depth"].type, tree["max_depth"].high) == ("int", 15)
    mlp = suite["mlp-breast"].search_space()
    assert (mlp["alpha"].low, mlp["alpha"].high, mlp["batch_size"].high) == (1e-5, 10.0, 250)
    assert suite["dt-diabetes"].direction == "minimize" == suite["rf-diabetes"].direction
    assert suite["dt-wine"].direction == "maximize"


def test_initial_points_are_fixed_per_seed_and_differ_across_seeds() -> None:
    task = load_suite(["svm-wine"])[0]
    a, b, c = initial_configs(task, 0), initial_configs(task, 0), initial_configs(task, 1)
    assert a == b and a != c and len(a) == 5
    for config in a:
        assert all(spec.check(config[n]) is None for n, spec in task.search_space().items())


def test_normalised_regret_is_bayesmarks_formula() -> None:
    assert normalised_regret(-0.9, clip=-0.5, opt=-0.9) == 0.0
    assert normalised_regret(-0.5, clip=-0.5, opt=-0.9) == 1.0
    assert normalised_regret(-0.2, clip=-0.5, opt=-0.9) == 1.0  # clipped at a random draw
    assert normalised_regret(-0.7, clip=-0.5, opt=-0.9) == pytest.approx(0.5)
    assert normalised_regret(math.inf, clip=-0.5, opt=-0.9) == 1.0


def test_committed_reference_covers_the_suite_with_opt_below_clip() -> None:
    reference = load_reference()
    for name in reference:
        assert name in SUITE
        assert reference[name]["opt"] < reference[name]["clip"]


def test_summary_ranks_and_costs() -> None:
    ref = {"t": {"clip": 0.0, "opt": -1.0}}
    good = RunRecord("a", "t", 0, [-0.2, -0.9, -0.5], 0, 6, 600, 2, 1.0)
    bad = RunRecord("b", "t", 0, [-0.2, -0.4, -0.4], 1, 0, 0, 2, 1.0)
    out = summarize([good, bad], ref)
    a, b = out["optimizers"]["a"], out["optimizers"]["b"]
    assert (a["mean_rank"], b["mean_rank"]) == (1.0, 2.0)
    assert a["regret"][3] == pytest.approx(0.1) and b["regret"][3] == pytest.approx(0.6)
    assert (a["llm_calls_per_step"], a["tokens_per_step"]) == (3.0, 300.0)
    assert b["duplicate_rate"] == pytest.approx(1 / 3)
    assert "| a | 0.100 | 1.00 |" in format_table(out)


def test_run_one_starts_every_optimizer_from_the_same_initial_points(tmp_path: Path) -> None:
    task = load_suite(["dt-wine"])[0]
    llm = ScriptedLLM(good_script(0, tree_config))
    records = {
        name: run_one(task, name, 0, 10, tmp_path / name, shared_llm=llm)
        for name in ("random", "llambo")
    }
    inits = initial_configs(task, 0)
    for name, rec in records.items():
        assert len(rec.losses) == 10 and all(math.isfinite(x) for x in rec.losses)
        (run,) = (tmp_path / name).iterdir()
        storage = f"sqlite:///{run / 'optuna.sqlite'}"
        study = optuna.load_study(study_name=run.name, storage=storage)
        trials = sorted(study.get_trials(), key=lambda t: t.number)
        assert [t.params for t in trials[:5]] == inits
        if name == "llambo":  # its zero-shot rows come right after the fixed inits
            sources = [t.user_attrs.get("llambo_source") for t in trials[:8]]
            assert sources == ["init"] * 5 + ["warm"] * 3
    assert records["llambo"].llm_calls > 0 and records["llambo"].duplicates == 0
    assert records["llambo"].stats["warm_start"] == 3
    assert records["llambo"].stats["llm_proposals"] >= 1
    summary = json.loads(json.dumps(summarize(list(records.values()), load_reference())))
    assert set(summary["optimizers"]) == {"random", "llambo"}


def test_bench_hpo_command_prints_the_table_and_writes_json(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from workbench.cli.bench import app

    out = tmp_path / "bench.json"
    args = ["hpo", "--optimizers", "tpe,random", "--tasks", "dt-wine", "--seeds", "1", "-n", "6"]
    result = CliRunner().invoke(app, [*args, "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "| optimizer | t=5 |" in result.output and "| tpe |" in result.output
    data = json.loads(out.read_text())
    assert [len(r["losses"]) for r in data["records"]] == [6, 6]
    assert data["summary"]["optimizers"]["random"]["duplicate_rate"] == 0.0


def test_projection_counts_llm_steps_until_the_handover_and_every_evaluation() -> None:
    suite = load_suite(["svm-wine"])
    proj = project(suite, ["llambo", "tpe"], [0, 1], 30, lambda text: len(text) // 4)
    # per run: one zero-shot call for evaluations 6..8, then one step for each of 9..15
    assert proj.llm_steps == 2 * (1 + 7)
    assert 0 < proj.step_prompt < proj.first_prompt  # only the new rows + instruction
    assert proj.step_completion > 0 and proj.eval_s > 0
    slow = project(suite, ["llambo"], [0], 30, lambda t: len(t) // 4, prompt_tps=6.8, gen_tps=2.6)
    assert slow.llm_s == pytest.approx(10 * proj.llm_s / 2, rel=1e-6)
    assert "projected" in proj.text() and "LLM steps" in proj.text()


def test_bench_refuses_a_projection_over_max_hours(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from workbench.cli.bench import app

    args = ["hpo", "--optimizers", "tpe", "--tasks", "svm-wine", "--seeds", "0", "-n", "6"]
    result = CliRunner().invoke(app, [*args, "--max-hours", "0.00001"])
    assert result.exit_code != 0
    assert "over --max-hours" in str(result.exception) + result.output


def test_server_log_totals_measure_what_the_prompt_cache_saved(tmp_path: Path) -> None:
    log = tmp_path / "server.log"
    line = "0.01.000.000 I slot print_timing: id  0 | task {t} | {kind} time = {ms} ms / {n} tokens"
    log.write_text(
        "\n".join(
            [
                line.format(t=1, kind="prompt eval", ms="1000.0", n=400),
                line.format(t=1, kind="       eval", ms="5000.0", n=120),
                "0.01.000.001 I slot release: id  0 | stop processing: n_tokens = 520",
                line.format(t=2, kind="prompt eval", ms="1500.0", n=90),
                line.format(t=2, kind="       eval", ms="6000.0", n=150),
            ]
        )
        + "\n"
    )
    totals, end = read_server_log(log)
    assert (totals.requests, totals.prompt_processed, totals.generated) == (2, 490, 270)
    assert totals.prompt_ms + totals.generate_ms == pytest.approx(13500.0)
    again, _ = read_server_log(log, end)
    assert again.requests == 0  # the offset skips what was read
    rec = RunRecord("llambo", "t", 0, [-0.2, -0.5], 0, 2, 1000, 1, 1.0)
    rec.prompt_tokens, rec.server_prompt_processed = 1000, 490
    summary = summarize([rec], {"t": {"clip": 0.0, "opt": -1.0}})
    assert summary["optimizers"]["llambo"]["prompt_cache_reuse"] == pytest.approx(0.51)


def test_bench_hpo_runs_a_users_own_task_file_with_a_computed_reference(tmp_path: Path) -> None:
    """A task outside the suite, by path (issue 17): its regret reference is computed first."""
    from typer.testing import CliRunner

    from workbench.cli.bench import app

    mine = tmp_path / "mine"
    mine.mkdir()
    text = (SUITE_DIR / "dt-wine.yaml").read_text().replace("name: dt-wine", "name: my-dt")
    (mine / "my-dt.yaml").write_text(text)
    out = tmp_path / "bench.json"
    args = ["hpo", "--optimizers", "tpe", "--tasks", str(mine), "--seeds", "1", "-n", "6"]
    result = CliRunner().invoke(app, [*args, "--reference-evaluations", "10", "--out", str(out)])
    assert result.exit_code == 0, result.output
    data = json.loads(out.read_text())
    ref = data["setup"]["references"]["my-dt"]
    assert ref["computed"] and (ref["n_random"], ref["n_tpe"]) == (5, 5)
    assert ref["opt"] <= ref["random_best"] <= ref["clip"]  # losses: -accuracy
    assert data["setup"]["task_files"] == {"my-dt": str((mine / "my-dt.yaml").resolve())}
    assert [r["task"] for r in data["records"]] == ["my-dt"]
    assert "| tpe |" in result.output


def test_bench_hpo_refuses_a_task_that_is_not_hpo(tmp_path: Path) -> None:
    from workbench.errors import ConfigError

    code = tmp_path / "code.yaml"
    code.write_text(
        (Path(__file__).parents[2] / "tasks" / "mpi" / "sample_dot_product.yaml").read_text()
    )
    with pytest.raises(ConfigError, match="runs hpo tasks"):
        load_suite([str(code)])
    with pytest.raises(ConfigError, match="unknown suite task 'nope'"):
        load_suite(["nope"])
