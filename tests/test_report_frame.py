"""optbench/report/frame.py on a real MLflow store of hand-made runs: which runs ``search``
finds (by experiment, sweep id or parent run id, filter; never a sweep's parent), the one row
per run ``runs_frame`` makes of them, and the learning curves in long form."""

from __future__ import annotations

import math

import pytest

from optbench import tags as tag
from optbench.errors import OptbenchError
from optbench.report.frame import _is_run_id, curves_frame, runs_frame, search
from tests.conftest import client
from tests.stored_runs import add_run, experiment


@pytest.fixture
def runs(store):
    """In experiment a: a sweep's parent (no config hash) and its two children, seeds 1 and 0,
    one of them FAILED; in experiment b, one run of its own. Returns the client and run ids."""
    mlflow = client(store)
    a, b = experiment(mlflow, "a"), experiment(mlflow, "b")
    parent = mlflow.create_run(a, start_time=0, tags={tag.ROLE: tag.ROLE_SWEEP}).info.run_id
    child = {tag.PARENT_RUN_ID: parent, tag.SWEEP_ID: "sweep-1"}
    choices = {"framework": "keras", "model": "mlp", "dataset": "digits", "schedule": "constant"}
    ids = {
        "parent": parent,
        "late": add_run(mlflow, a, start=20, choices={**choices, "optimizer": "sgd", "seed": "1"},
                        final={"val_accuracy": 0.9}, tags=child, status="FAILED", name="late"),
        "early": add_run(mlflow, a, start=10, choices={**choices, "optimizer": "adam", "seed": "0"},
                         final={"val_accuracy": 0.95, "fit_time_s": 2.5}, tags=child, name="early"),
        "other": add_run(mlflow, b, start=5, choices={"model": "logreg", "seed": "x"},
                         tags={tag.DIVERGED: "true"}, name="other"),
    }  # fmt: skip
    return mlflow, ids


def found(runs: list) -> set[str]:
    return {r.info.run_name for r in runs}


def test_search_finds_every_job_run_and_never_a_sweeps_parent(runs):
    mlflow, _ = runs
    assert found(search(mlflow)) == {"early", "late", "other"}
    assert found(search(mlflow, ["b"])) == {"other"}
    assert found(search(mlflow, ["b", "a"])) == {"early", "late", "other"}


def test_search_by_sweep_id_or_parent_run_id_and_a_filter(runs):
    mlflow, ids = runs
    assert found(search(mlflow, sweep="sweep-1")) == {"early", "late"}
    assert found(search(mlflow, sweep=ids["parent"])) == {"early", "late"}
    assert found(search(mlflow, sweep="sweep-2")) == set()
    adam = "tags.`optbench.optimizer` = 'adam'"
    assert found(search(mlflow, ["a"], filter_string=adam)) == {"early"}


def test_searching_an_experiment_not_in_the_store_names_those_it_has(runs):
    mlflow, _ = runs
    with pytest.raises(OptbenchError) as missing:
        search(mlflow, ["a", "nope", "gone"])
    assert str(missing.value) == ("no experiment nope, gone in the store; it has: Default, a, b.")


def test_a_run_id_is_32_lowercase_hex_digits():
    assert _is_run_id("0123456789abcdef" * 2)
    assert not _is_run_id("0123456789ABCDEF" * 2)  # MLflow's ids are lowercase
    assert not _is_run_id("0123456789abcdef" * 2 + "0")
    assert not _is_run_id("20261124-101500-1a2b3c")  # a sweep id


def test_runs_frame_has_one_row_per_run_in_start_order(runs):
    mlflow, ids = runs
    frame = runs_frame(search(mlflow), {"1": "named"})
    assert frame["run_name"].tolist() == ["other", "early", "late"]
    early = frame.set_index("run_name").loc["early"]
    assert (early["run_id"], early["status"], early["sweep_id"]) == (
        ids["early"],
        "FINISHED",
        "sweep-1",
    )
    assert (early["framework"], early["optimizer"], early["seed"]) == ("keras", "adam", 0)
    assert (early["val_accuracy"], early["fit_time_s"]) == (0.95, 2.5)
    other = frame.set_index("run_name").loc["other"]
    assert other["diverged"] and not early["diverged"]
    assert math.isnan(other["seed"])  # "x" is no seed: NaN, and the column stays numeric
    assert (other["optimizer"], other["schedule"], other["sweep_id"]) == ("", "", "")
    assert math.isnan(other["fit_time_s"])  # a metric the run did not log
    # experiments by name where the caller knows it, else by id
    assert set(frame["experiment"]) == {"named", mlflow.get_experiment_by_name("b").experiment_id}
    assert frame.loc[frame["run_name"] == "early", "experiment"].item() == "named"


def test_runs_frame_of_no_runs_is_empty():
    assert runs_frame([]).empty


def test_curves_frame_is_long_form_with_the_elapsed_seconds_of_each_step(store):
    mlflow = client(store)
    exp = experiment(mlflow, "c")
    histories = {
        "train_loss": [(1, 0.9), (2, 0.5), (3, 0.4)],
        "val_accuracy": [(2, 0.8)],
        "elapsed_s": [(1, 1.5), (2, 3.0)],  # step 3 not timed
    }
    run = add_run(mlflow, exp, start=1, histories=histories)
    bare = add_run(mlflow, exp, start=2, histories={"train_loss": [(1, 2.0)]})
    frame = curves_frame(mlflow, [run, bare], ("train_loss", "val_accuracy", "lr"))
    rows = sorted(frame.itertuples(index=False, name=None), key=lambda r: (r[0] != run, r[1], r[2]))
    assert [r[:4] for r in rows] == [
        (run, "train_loss", 1, 0.9),
        (run, "train_loss", 2, 0.5),
        (run, "train_loss", 3, 0.4),
        (run, "val_accuracy", 2, 0.8),
        (bare, "train_loss", 1, 2.0),
    ]
    elapsed = [r[4] for r in rows]
    assert elapsed[:2] == [1.5, 3.0] and elapsed[3] == 3.0  # val_accuracy at step 2: 3.0 s
    assert math.isnan(elapsed[2]) and math.isnan(elapsed[4])  # steps that were not timed
    assert list(curves_frame(mlflow, [], ("train_loss",)).columns) == [
        "run_id", "key", "step", "value", "elapsed_s",
    ]  # fmt: skip
