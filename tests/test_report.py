"""The comparison report: statistics on hand-computable cases, and the whole report on a store
built by real small runs (a scikit-learn sweep of 2 optimizers x 3 seeds and a Keras run in
another experiment), down to index.html rendered by headless Chromium."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from optbench.report.stats import bootstrap_ci, performance_profile, seed_summary
from tests.conftest import client, run_cli, train
from tests.test_tracking_server import needs_chromium, rendered


def test_performance_profile_by_hand():
    inf = math.inf
    costs = pd.DataFrame({"A": [1.0, 4.0, inf], "B": [2.0, 2.0, 3.0]})
    # ratios to the best per problem: A = 1, 2, inf; B = 2, 1, 1
    rho = performance_profile(costs, [1.0, 1.5, 2.0, 100.0])
    assert rho["A"].tolist() == pytest.approx([1 / 3, 1 / 3, 2 / 3, 2 / 3])
    assert rho["B"].tolist() == pytest.approx([2 / 3, 2 / 3, 1.0, 1.0])
    unsolved = performance_profile(pd.DataFrame({"A": [inf], "B": [inf]}), [1.0, 10.0])
    assert unsolved.to_numpy().sum() == 0


def test_bootstrap_ci_and_noise_flags():
    assert bootstrap_ci([0.5, 0.5, 0.5]) == (0.5, 0.5)
    values = [0.90, 0.91, 0.92, 0.93, 0.97]
    low, high = bootstrap_ci(values)
    assert low < np.mean(values) < high and low >= 0.90 and high <= 0.97
    assert bootstrap_ci(values) == (low, high)  # seeded
    runs = pd.DataFrame(
        {
            "dataset": "d",
            "model": "m",
            "label": ["a"] * 3 + ["b"] * 3 + ["c"] * 3,
            "val_accuracy": [0.90, 0.91, 0.92, 0.905, 0.915, 0.90, 0.50, 0.51, 0.52],
        }
    )
    table = seed_summary(runs, "val_accuracy", ["dataset", "model", "label"], ["dataset", "model"])
    flags = dict(zip(table["label"], table["vs_best"], strict=True))
    assert flags == {"a": "best", "b": "within noise", "c": "worse"}
    assert table.loc[table["label"] == "c", "mean"].item() == pytest.approx(0.51)
    assert table.loc[table["label"] == "c", "std"].item() == pytest.approx(0.01)
    # for a loss, lower is better
    losses = runs.rename(columns={"val_accuracy": "val_loss"})
    flags = seed_summary(losses, "val_loss", ["dataset", "model", "label"], ["dataset", "model"])
    assert flags.set_index("label")["vs_best"]["c"] == "best"


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """A real sweep (scikit-learn MLP, adam vs sgd, 3 seeds) in experiment sweep_a, and a Keras
    logreg run in experiment keras_b."""
    folder = tmp_path_factory.mktemp("report")
    uri = f"sqlite:///{folder / 'mlflow.db'}"
    proc = run_cli(
        "-m",
        "model=mlp_sklearn",
        "optimizer=adam,sgd",
        "seed=0,1,2",
        "trainer.max_iter=15",
        "experiment_name=sweep_a",
        f"tracking.uri={uri}",
        cwd=folder,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    train(uri, "model=logreg", "optimizer=adam", "trainer.max_iter=15", "experiment_name=keras_b")
    return folder, uri, proc.stdout


def _history(mlflow, run_id: str, key: str) -> list[tuple[int, float]]:
    """(step, value) of one logged metric of a run, in step order."""
    return sorted((m.step, m.value) for m in mlflow.get_metric_history(run_id, key))


@pytest.mark.slow
def test_sweep_logs_its_report_on_the_parent_run(store, tmp_path):
    """The report the sweep logs on its parent run says what the store says: its numbers are
    recomputed here from the child runs' metrics and histories, read with the MLflow client."""
    _folder, uri, stdout = store
    assert "report: runs/reports/" in stdout
    mlflow = client(uri)
    (experiment,) = [e for e in mlflow.search_experiments() if e.name == "sweep_a"]
    (parent,) = mlflow.search_runs(
        [experiment.experiment_id], filter_string="tags.`optbench.role` = 'sweep'"
    )
    report = Path(mlflow.download_artifacts(parent.info.run_id, "report", str(tmp_path)))
    for name in ("index.html", "summary.csv", "time_to_target.csv", "performance_profile.png"):
        assert (report / name).is_file(), name

    children = mlflow.search_runs(
        [experiment.experiment_id],
        filter_string=f"tags.mlflow.parentRunId = '{parent.info.run_id}'",
    )
    assert len(children) == 6 and all(c.info.status == "FINISHED" for c in children)
    by_label: dict[str, list] = {}
    for child in children:
        by_label.setdefault(child.data.tags["optbench.optimizer"], []).append(child)
    assert sorted(by_label) == ["adam", "sgd"]

    # summary.csv: one row per optimizer, final val_accuracy over the 3 seeds
    summary = pd.read_csv(report / "summary.csv").set_index("label")
    assert sorted(summary.index) == ["adam", "sgd"]
    means = {}
    for label, runs in by_label.items():
        row = summary.loc[label]
        finals = [r.data.metrics["val_accuracy"] for r in runs]
        means[label] = np.mean(finals)
        assert (row["dataset"], row["model"], row["n"]) == ("digits", "mlp_sklearn", 3)
        assert sorted(r.data.params["seed"] for r in runs) == ["0", "1", "2"]
        assert row["val_accuracy_mean"] == pytest.approx(np.mean(finals))
        assert row["val_accuracy_std"] == pytest.approx(np.std(finals, ddof=1))
        assert min(finals) <= row["ci_low"] <= row["val_accuracy_mean"] <= row["ci_high"]
        assert row["ci_high"] <= max(finals)
        for key in ("fit_time_s", "params_total"):
            assert row[key] == pytest.approx(np.mean([r.data.metrics[key] for r in runs]))
        best_steps = []
        for r in runs:
            curve = _history(mlflow, r.info.run_id, "val_accuracy")
            top = max(v for _, v in curve)
            best_steps.append(min(step for step, v in curve if v == top))
        assert row["best_step"] == pytest.approx(np.mean(best_steps))
        assert (row["experiments"], row["frameworks"]) == ("sweep_a", "sklearn")
    best = max(means, key=means.get)
    assert summary.loc[best, "vs_best"] == "best"
    (other,) = set(means) - {best}
    other_finals = [r.data.metrics["val_accuracy"] for r in by_label[other]]
    best_finals = [r.data.metrics["val_accuracy"] for r in by_label[best]]
    if max(other_finals) < min(best_finals):  # no resample of the seeds can close the gap
        assert summary.loc[other, "vs_best"] == "worse"

    # time_to_target.csv: the target is the best final value less 2%; per optimizer, how many
    # seeds reached it and the median first step (and its elapsed_s) at which they did
    ttt = pd.read_csv(report / "time_to_target.csv").set_index("label")
    target = 0.98 * max(r.data.metrics["val_accuracy"] for c in by_label.values() for r in c)
    for label, runs in by_label.items():
        row = ttt.loc[label]
        assert row["target"] == pytest.approx(target)
        hits = []
        for r in runs:
            curve = _history(mlflow, r.info.run_id, "val_accuracy")
            step = next((s for s, v in curve if v >= target), None)
            if step is not None:
                elapsed = dict(_history(mlflow, r.info.run_id, "elapsed_s"))
                hits.append((step, elapsed[step]))
        assert row["reached"] == f"{len(hits)}/3"
        if hits:
            assert row["median_steps"] == pytest.approx(np.median([s for s, _ in hits]))
            assert row["median_seconds"] == pytest.approx(np.median([t for _, t in hits]))
        else:
            assert math.isnan(row["median_steps"]) and math.isnan(row["median_seconds"])
    assert ttt.loc[best, "reached"] != "0/3"  # the best group reaches a target set by its best


@pytest.mark.slow
def test_report_across_experiments_and_frameworks(store, optbench_main):
    folder, uri, _ = store
    out = folder / "cross"
    proc = run_cli(
        "report", "--uri", uri, "--experiment", "sweep_a,keras_b", "--out", str(out), cwd=folder
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "summary · val_accuracy" in proc.stdout and "worse" in proc.stdout
    summary = pd.read_csv(out / "summary.csv")
    rows = summary.set_index(["model", "label"])
    assert set(rows.index) == {("mlp_sklearn", "adam"), ("mlp_sklearn", "sgd"), ("logreg", "adam")}
    assert rows.loc[("logreg", "adam"), "frameworks"] == "keras"
    assert rows.loc[("mlp_sklearn", "adam"), "frameworks"] == "sklearn"
    # the numbers are the store's: mean and std over the 3 seeds of the final val_accuracy
    mlflow = client(uri)
    (experiment,) = [e for e in mlflow.search_experiments() if e.name == "sweep_a"]
    finals = [
        r.data.metrics["val_accuracy"]
        for r in mlflow.search_runs(
            [experiment.experiment_id], filter_string="tags.`optbench.optimizer` = 'sgd'"
        )
        if "val_accuracy" in r.data.metrics
    ]
    assert len(finals) == 3
    sgd = rows.loc[("mlp_sklearn", "sgd")]
    assert sgd["n"] == 3
    assert sgd["val_accuracy_mean"] == pytest.approx(np.mean(finals))
    assert sgd["val_accuracy_std"] == pytest.approx(np.std(finals, ddof=1))
    assert sgd["ci_low"] <= sgd["val_accuracy_mean"] <= sgd["ci_high"]
    assert rows.loc[("mlp_sklearn", "adam"), "vs_best"] == "best"
    # the Keras run of the other experiment is its own problem: one seed, its own final value
    (keras_b,) = [e for e in mlflow.search_experiments() if e.name == "keras_b"]
    (keras_run,) = mlflow.search_runs([keras_b.experiment_id])
    logreg = rows.loc[("logreg", "adam")]
    assert (logreg["n"], logreg["experiments"], logreg["vs_best"]) == (1, "keras_b", "best")
    assert logreg["val_accuracy_mean"] == pytest.approx(keras_run.data.metrics["val_accuracy"])
    ttt = pd.read_csv(out / "time_to_target.csv")
    assert set(ttt["label"]) == {"adam", "sgd"}
    pngs = sorted(p.name for p in out.glob("*.png"))
    assert "performance_profile.png" in pngs
    assert (
        "digits_logreg_val-loss_vs_step.png" in pngs and "digits_mlp-sklearn_lr_vs_step.png" in pngs
    )
    bad = optbench_main("report", "--uri", uri, "--experiment", "nope", cwd=folder)
    assert bad.returncode == 2 and "no experiment nope" in bad.stdout


@pytest.mark.slow
@needs_chromium
def test_index_html_renders_every_image_in_headless_chromium(store):
    folder, uri, _ = store
    out = folder / "html"
    proc = run_cli("report", "--uri", uri, "--experiment", "sweep_a", "--out", str(out), cwd=folder)
    assert proc.returncode == 0, proc.stderr[-3000:]
    images, tables, text = rendered(out / "index.html")
    on_disk = {p.name for p in out.glob("*.png")}
    assert {src for src, _, _ in images} == on_disk and len(on_disk) >= 4
    assert all(complete and width > 0 for _, complete, width in images), images
    # summary, time to target, and the diagnostics flags (scikit-learn runs: basic by default)
    assert tables == 3 and "Time to target" in text and "worse" in text and "Diagnostics" in text
