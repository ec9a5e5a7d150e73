"""optbench/report/sweep.py: what a sweep's end leaves once tracking has closed its parent run,
on a real MLflow store of hand-made child runs: the curves figure and the report logged on the
parent, the report folder under runs/reports/<sweep id>, the parent's description pointing to
it, the landscape views as top-level artifacts; and a report that cannot be built as one
warning, the runs left as they are."""

from __future__ import annotations

from pathlib import Path

import pytest

from optbench import tags as tag
from optbench.report.sweep import SweepReport, report_sweep
from optbench.tracking import ClosedSweep
from tests.conftest import client
from tests.stored_runs import add_run, experiment, training_run

SWEEP_ID = "20261124-101500-abc123"
COMMAND = "optbench -m optimizer=adam,sgd"


@pytest.fixture
def sweep(store, tmp_path, monkeypatch):
    """An empty sweep parent (its command line as its description) in a store, run from
    tmp_path; returns a function that closes it with the children added by then."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("OPTBENCH_HOME", raising=False)
    mlflow = client(store)
    exp = experiment(mlflow, "sweeps")
    sweep_tags = {tag.ROLE: tag.ROLE_SWEEP, tag.SWEEP_ID: SWEEP_ID, tag.NOTE: COMMAND}
    parent = mlflow.create_run(exp, start_time=0, tags=sweep_tags).info.run_id
    child = {tag.PARENT_RUN_ID: parent, tag.SWEEP_ID: SWEEP_ID}

    def closed() -> ClosedSweep:
        mlflow.set_terminated(parent)
        children = mlflow.search_runs([exp], tag.where(tag.PARENT_RUN_ID, parent))
        return ClosedSweep(store, parent, SWEEP_ID, "FINISHED", children, [], exp)

    return mlflow, exp, parent, child, closed


def artifacts(mlflow, run_id: str, path: str | None = None) -> list[str]:
    return sorted(a.path for a in mlflow.list_artifacts(run_id, path))


def test_a_finished_sweep_logs_its_curves_and_report_and_says_where_the_report_is(sweep):
    mlflow, exp, parent, child, closed = sweep
    training_run(mlflow, exp, 1, "adam", 0, [0.8, 0.9], tags=child)
    training_run(mlflow, exp, 2, "sgd", 0, [0.5, 0.7], tags=child)
    drawn = report_sweep(closed())
    folder = Path("runs/reports") / SWEEP_ID
    assert drawn == SweepReport(curves=True, index=folder / "index.html")
    assert "<title>sweep 20261124-101500-abc123</title>" in drawn.index.read_text()
    assert artifacts(mlflow, parent) == ["curves", "report"]
    assert "report/summary.csv" in artifacts(mlflow, parent, "report")
    assert mlflow.get_run(parent).data.tags[tag.NOTE] == (
        f"{COMMAND}\n\nReport: {drawn.index.absolute()} (also this run's artifact "
        "report/index.html)"
    )


def test_landscape_runs_add_their_overlays_and_table_as_top_level_artifacts(sweep):
    mlflow, exp, parent, child, closed = sweep
    for start, optimizer in enumerate(("adam", "sgd"), 1):
        run = add_run(
            mlflow, exp, start=start, tags=child,
            choices={"model": "landscape", "dataset": "beale", "optimizer": optimizer},
            histories={"train_loss": [(1, 10.0), (2, 1.0)]},
            final={"distance_to_min": 0.5},
        )  # fmt: skip
        mlflow.log_text(run, "step,x,y\n0,1.0,1.5\n1,2.0,1.0\n", "trajectory.csv")
    drawn = report_sweep(closed())
    assert drawn.landscapes == (
        ["function", "adam", "sgd"],
        [["beale", "not reached", "not reached"]],
    )
    assert drawn.architectures is None
    assert artifacts(mlflow, parent) == ["curves", "landscapes", "report", "steps_to_tolerance.csv"]
    assert artifacts(mlflow, parent, "landscapes") == ["landscapes/beale.png"]


def test_a_sweep_without_a_finished_run_draws_nothing(sweep):
    mlflow, exp, parent, child, closed = sweep
    add_run(mlflow, exp, start=1, tags=child, histories={"train_loss": [(1, 1.0)]}, status="FAILED")
    assert report_sweep(closed()) == SweepReport()
    assert artifacts(mlflow, parent) == []
    assert mlflow.get_run(parent).data.tags[tag.NOTE] == COMMAND
    assert not Path("runs").exists()


def test_a_report_that_cannot_be_built_is_one_warning_and_the_runs_stay(sweep, capsys):
    mlflow, exp, parent, child, closed = sweep
    add_run(
        mlflow, exp, start=1, tags=child, choices={"optimizer": "adam"}, final={"final_loss": 0.1}
    )
    assert report_sweep(closed()) == SweepReport()  # no train_loss either: no curves
    assert artifacts(mlflow, parent) == []
    assert mlflow.get_run(parent).data.tags[tag.NOTE] == COMMAND
    assert " ".join(capsys.readouterr().err.split()) == (
        "error: the sweep report could not be built: OptbenchError: no run logged any of "
        "val_accuracy, val_loss, train_loss."
    )
