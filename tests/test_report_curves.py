"""optbench/report/curves.py on a real MLflow store of hand-made runs: a sweep's train_loss
histories read back per run (in start order, with the elapsed seconds of each step), and the
one figure of them logged on the sweep's parent run, or nothing where there is nothing to
draw."""

from __future__ import annotations

import pytest
from PIL import Image

from optbench.report.curves import MAX_RUNS, histories, log_sweep_curves
from optbench.tracking import MlflowWriter
from tests.conftest import client
from tests.stored_runs import add_run, experiment


@pytest.fixture
def sweep(store):
    """A parent run and its children: b (started first) and a with train_loss histories, c
    without one, d FAILED. Returns the writer, the parent's id and the children."""
    mlflow = client(store)
    exp = experiment(mlflow, "sweep")
    parent = mlflow.create_run(exp, start_time=0).info.run_id
    loss = {"train_loss": [(2, 0.5), (1, 0.9), (3, 0.4)], "elapsed_s": [(1, 1.0), (2, 2.0)]}
    add_run(mlflow, exp, start=2, histories=loss, name="a")
    add_run(mlflow, exp, start=1, histories={"train_loss": [(1, 2.0)]}, name="b")
    add_run(mlflow, exp, start=3, final={"val_loss": 0.3}, name="c")
    add_run(mlflow, exp, start=4, histories={"train_loss": [(1, 9.0)]}, status="FAILED", name="d")
    children = mlflow.search_runs([exp], "tags.`optbench.config_hash` != ''")
    return MlflowWriter(store), parent, children


def test_histories_are_per_run_in_start_order_and_in_step_order(sweep):
    writer, _, children = sweep
    curves = histories(writer.client, children)
    assert list(curves) == ["b", "a", "d"]  # c logged no train_loss
    assert curves["a"] == {
        "step": [1, 2, 3],
        "train_loss": [0.9, 0.5, 0.4],
        "elapsed_s": [1.0, 2.0, None],  # step 3 was not timed
    }
    assert curves["b"] == {"step": [1], "train_loss": [2.0], "elapsed_s": [None]}
    assert list(histories(writer.client, children, key="val_loss")) == ["c"]


def test_the_sweeps_curves_are_logged_on_its_parent_from_its_finished_runs(sweep, tmp_path):
    writer, parent, children = sweep
    assert log_sweep_curves(writer, parent, children)
    (logged,) = writer.client.list_artifacts(parent, "curves")
    assert logged.path == "curves/train_loss.png"
    png = writer.client.download_artifacts(parent, logged.path, str(tmp_path))
    with Image.open(png) as image:
        assert image.format == "PNG" and image.size == (1200, 460)  # sweep_curves' 12 x 4.6 in


def test_nothing_is_logged_without_finished_runs_with_a_curve_or_with_too_many(sweep):
    writer, parent, children = sweep
    by_name = {c.info.run_name: c for c in children}
    assert not log_sweep_curves(writer, parent, [])
    assert not log_sweep_curves(writer, parent, [by_name["d"]])  # FAILED only
    assert not log_sweep_curves(writer, parent, [by_name["c"]])  # no train_loss
    assert not log_sweep_curves(writer, parent, [by_name["a"]] * (MAX_RUNS + 1))
    assert writer.client.list_artifacts(parent) == []
    assert log_sweep_curves(writer, parent, [by_name["a"]] * MAX_RUNS)  # at the limit: drawn
