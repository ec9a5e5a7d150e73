"""optbench/report/build.py: the comparison report's own steps on hand-computable cases (group
labels, file names, time to target and its table, the performance profile's costs, the best
step), and build_report on a real MLflow store of hand-made runs: the summary's numbers, the
files it writes in order, and the page's links; a store where nothing finished, or nothing
logged the metric asked for. The statistics themselves: tests/test_report_stats.py; the whole
report on real training runs: tests/test_report.py."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from optbench.errors import OptbenchError
from optbench.report.build import (
    ReportOptions,
    _best_steps,
    _costs,
    _label,
    _slug,
    _ttt_table,
    build_report,
    time_to_target,
)
from optbench.report.frame import search
from tests.conftest import client
from tests.stored_runs import add_run, experiment, training_run


def test_time_to_target_by_hand():
    runs = pd.DataFrame(
        {
            "run_id": ["a", "b", "c"],
            "dataset": "d",
            "model": "m",
            "label": ["fast", "slow", "never"],
            "seed": 0,
            "val_accuracy": [0.95, 0.94, 0.6],
        }
    )
    curves = pd.DataFrame(
        [
            ("a", "val_accuracy", 1, 0.80, 0.5),
            ("a", "val_accuracy", 2, 0.935, 1.0),
            ("a", "val_accuracy", 3, 0.95, 1.5),
            ("b", "val_accuracy", 1, 0.50, 2.0),
            ("b", "val_accuracy", 2, 0.90, 4.0),
            ("b", "val_accuracy", 3, 0.94, 6.0),
            ("c", "val_accuracy", 1, 0.60, 1.0),
        ],
        columns=["run_id", "key", "step", "value", "elapsed_s"],
    )
    # derived target: best final 0.95 relaxed by 2% -> 0.931
    ttt = time_to_target(runs, curves, "val_accuracy", ReportOptions(tolerance=0.02))
    assert ttt["target"].iloc[0] == pytest.approx(0.931)
    assert ttt["steps"].tolist()[:2] == [2, 3] and math.isnan(ttt["steps"].iloc[2])
    assert ttt["seconds"].tolist()[:2] == [1.0, 6.0]
    given = time_to_target(runs, curves, "val_accuracy", ReportOptions(target=0.9))
    assert given["steps"].tolist()[:2] == [2, 2] and given["seconds"].tolist()[:2] == [1.0, 4.0]


def test_a_problem_whose_runs_have_no_final_value_gets_no_derived_target():
    runs = pd.DataFrame(
        {"run_id": ["a", "b"], "dataset": ["d", "e"], "model": "m", "label": "adam", "seed": 0,
         "val_loss": [math.nan, 0.5]}
    )  # fmt: skip
    curves = pd.DataFrame(
        [("b", "val_loss", 1, 0.9, None), ("b", "val_loss", 2, 0.5, None)],
        columns=["run_id", "key", "step", "value", "elapsed_s"],
    )
    ttt = time_to_target(runs, curves, "val_loss", ReportOptions(tolerance=0.0))
    assert ttt["run_id"].tolist() == ["b"]  # problem d is left out
    assert ttt["steps"].tolist() == [2.0] and math.isnan(ttt["seconds"].iloc[0])  # not timed
    given = time_to_target(runs, curves, "val_loss", ReportOptions(target=1.0))
    assert given["run_id"].tolist() == ["a", "b"] and math.isnan(given["steps"].iloc[0])


def test_a_groups_label_adds_the_schedule_only_where_its_problem_has_several():
    runs = pd.DataFrame(
        {
            "dataset": ["digits"] * 3 + ["mnist"] * 2,
            "model": "mlp",
            "optimizer": ["adam", "adam", "sgd", "adam", "sgd"],
            "schedule": ["constant", "cosine", "constant", "cosine", "cosine"],
        }
    )
    assert _label(runs).tolist() == [
        "adam+constant", "adam+cosine", "sgd+constant", "adam", "sgd",
    ]  # fmt: skip


def test_slugs_keep_letters_and_digits_and_join_parts_with_underscores():
    assert _slug("mnist", "mlp_sklearn", "val_loss", "vs", "elapsed_s") == (
        "mnist_mlp-sklearn_val-loss_vs_elapsed-s"
    )
    assert _slug("cifar10", "resnet 50/v2") == "cifar10_resnet-50-v2"


TTT = pd.DataFrame(
    {
        "run_id": ["a", "b", "c", "d"],
        "dataset": "digits",
        "model": "mlp",
        "label": ["adam", "adam", "adam", "sgd"],
        "seed": [0, 1, 2, 0],
        "target": 0.9,
        "steps": [4.0, math.nan, 2.0, math.nan],
        "seconds": [8.0, math.nan, 3.0, math.nan],
    }
)


def test_the_time_to_target_table_takes_medians_over_the_seeds_that_reached_it():
    table = _ttt_table(TTT).set_index("label")
    assert table.loc["adam", "reached"] == "2/3" and table.loc["sgd", "reached"] == "0/1"
    assert (table.loc["adam", "median_steps"], table.loc["adam", "median_seconds"]) == (3.0, 5.5)
    assert math.isnan(table.loc["sgd", "median_steps"])
    assert table.loc["sgd", "target"] == 0.9


def test_costs_are_seconds_per_problem_and_seed_infinite_where_not_reached():
    costs = _costs(TTT)
    assert list(costs.columns) == ["adam", "sgd"]
    assert costs.loc[("digits", "mlp", 0)].tolist() == [8.0, math.inf]
    assert costs.loc[("digits", "mlp", 1)].tolist() == [math.inf, math.inf]  # sgd has no seed 1
    assert costs.loc[("digits", "mlp", 2)].tolist() == [3.0, math.inf]


def test_the_best_step_is_where_the_metric_was_best_averaged_over_a_groups_runs():
    runs = pd.DataFrame(
        {"run_id": ["a", "b", "c"], "dataset": "d", "model": "m", "label": ["x", "x", "y"]}
    )
    rows = [("a", 1, 0.5), ("a", 2, 0.9), ("a", 3, 0.8), ("b", 1, 0.7), ("b", 2, 0.6),
            ("b", 3, 0.95), ("c", 1, 0.4)]  # fmt: skip
    curves = pd.DataFrame(
        [
            (run, key, step, value, None)
            for run, step, value in rows
            for key in ("val_accuracy", "val_loss")
        ],
        columns=["run_id", "key", "step", "value", "elapsed_s"],
    )
    best = _best_steps(runs, curves, "val_accuracy")
    assert best[("d", "m", "x")] == 2.5 and best[("d", "m", "y")] == 1.0  # a: 2, b: 3
    lowest = _best_steps(runs, curves, "val_loss")  # a loss: the lowest value
    assert lowest[("d", "m", "x")] == 1.5  # a: 1, b: 2
    assert _best_steps(runs, curves, "train_loss").empty  # not logged


@pytest.fixture
def stored(store):
    """adam (seeds 0, 1) and sgd (seed 0) in experiment mnist_optimizers, and a FAILED run."""
    mlflow = client(store)
    exp = experiment(mlflow, "mnist_optimizers")
    training_run(mlflow, exp, 1, "adam", 0, [0.80, 0.95, 0.94])
    training_run(mlflow, exp, 2, "adam", 1, [0.85, 0.90, 0.96])
    training_run(mlflow, exp, 3, "sgd", 0, [0.50, 0.70, 0.90])
    add_run(mlflow, exp, start=4, choices={"optimizer": "lion"}, status="FAILED")
    return mlflow, exp


def test_build_report_writes_the_tables_figures_and_page_of_the_finished_runs(stored, tmp_path):
    mlflow, exp = stored
    out = tmp_path / "report"
    options = ReportOptions(title="digits", ui_base="http://127.0.0.1:5000")
    report = build_report(mlflow, search(mlflow), out, options)
    assert report.metric == "val_accuracy"  # the first of the preference the runs logged
    summary = report.tables["summary"].set_index("label")
    assert sorted(summary.index) == ["adam", "sgd"]  # lion FAILED: not compared
    adam = summary.loc["adam"]
    assert adam["n"] == 2 and adam["val_accuracy_mean"] == pytest.approx(0.95)
    assert adam["val_accuracy_std"] == pytest.approx(np.std([0.94, 0.96], ddof=1))
    assert (adam["fit_time_s"], adam["params_total"]) == (6.5, 101770.0)
    assert adam["best_step"] == 2.5  # seed 0 peaked at epoch 2, seed 1 at 3
    assert (adam["experiments"], adam["frameworks"]) == ("mnist_optimizers", "keras")
    # target: 0.96 less 2% = 0.9408; adam's seeds reach it at epochs 2 and 3 (4 s and 6 s)
    ttt = report.tables["time_to_target"].set_index("label")
    assert ttt.loc["adam", "target"] == pytest.approx(0.9408)
    assert ttt.loc["adam", "reached"] == "2/2" and ttt.loc["sgd", "reached"] == "0/1"
    assert (ttt.loc["adam", "median_steps"], ttt.loc["adam", "median_seconds"]) == (2.5, 5.0)
    assert [p.name for p in report.files] == [
        "summary.csv", "summary.md", "time_to_target.csv", "time_to_target.md",
        "digits_mlp_train-loss_vs_step.png", "digits_mlp_val-accuracy_vs_elapsed-s.png",
        "digits_mlp_lr_vs_step.png", "performance_profile.png", "index.html",
    ]  # fmt: skip
    assert all(p.parent == out and p.is_file() for p in report.files)
    assert pd.read_csv(out / "summary.csv")["label"].tolist() == summary.index.tolist()
    assert (report.landscapes, report.architectures, report.diagnostics) == (None, None, None)
    page = (out / "index.html").read_text()
    assert f"#/experiments/{exp}/runs?" in page and ">mnist_optimizers</a>" in page
    assert "<title>digits</title>" in page


def test_a_report_asked_for_a_metric_no_run_logged_says_so(stored, tmp_path):
    mlflow, _ = stored
    with pytest.raises(OptbenchError, match=r"^no run logged val_loss\.$"):
        build_report(mlflow, search(mlflow), tmp_path / "r", ReportOptions(metric="val_loss"))


def test_a_report_of_runs_none_of_which_finished_has_no_tables(stored, tmp_path):
    mlflow, _ = stored
    failed = search(mlflow, filter_string="attributes.status = 'FAILED'")
    report = build_report(mlflow, failed, tmp_path / "r", ReportOptions())
    assert (report.tables, report.files, report.metric) == ({}, [], "")
    assert list((tmp_path / "r").iterdir()) == []  # the folder, and nothing in it
