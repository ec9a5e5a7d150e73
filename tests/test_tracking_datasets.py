"""The data a run trained on, as an MLflow dataset input (optbench/tracking/datasets.py), and
the source tags and description that go with it, read back through MLflow's client; parallel
jobs that log the same dataset at once, and a dataset the store refuses, never fail a run."""

import json
import multiprocessing
from collections.abc import Iterator
from typing import Any

import pytest

from optbench.tracking.datasets import dataset_record
from tests.conftest import client, compose_cfg, run_cli, train
from tests.servers import light_mlflow_server

SIZES = {"train": 1077, "val": 270, "test": 450}


def digits(*overrides: str):
    return compose_cfg(*overrides).dataset


def test_the_digest_changes_with_the_data_not_with_the_seed_or_where_it_is_kept():
    info = {"source": "sklearn.datasets.load_digits", "n_classes": 10}
    record = dataset_record(digits(), info, SIZES)
    assert record["name"] == "digits" and len(record["digest"]) == 8
    assert record["source_type"] == "code" and record["context"] == "training"
    assert json.loads(record["profile"]) == {
        "train_rows": 1077,
        "val_rows": 270,
        "test_rows": 450,
        "classes": 10,
    }
    assert record == dataset_record(digits("seed=3", "dataset.data_dir=/x"), info, SIZES)
    assert record["digest"] != dataset_record(digits("dataset.subset=500"), info, SIZES)["digest"]


def test_files_are_a_local_source_fingerprinted_by_their_sha256():
    config = {"name": "mnist", "data_dir": "/a", "val_fraction": 0.1, "subset": None}
    info = {"source": "/a/mnist (IDX files)", "checksums": {"train.gz": "ab12", "test.gz": "cd34"}}
    record = dataset_record(config, info, SIZES)
    assert record["source_type"] == "local" and record["source"] == "/a/mnist"
    moved = {**info, "source": "/b/mnist (IDX files)"}
    assert dataset_record({**config, "data_dir": "/b"}, moved, SIZES)["digest"] == record["digest"]
    other = {**info, "checksums": {"train.gz": "ab12", "test.gz": "ffff"}}
    assert dataset_record(config, other, SIZES)["digest"] != record["digest"]


def test_a_run_shows_its_dataset_source_and_command_in_mlflow(store):
    _, run = train(store, "trainer.max_iter=3")
    stored = client(store).get_run(run.run_id)
    (dataset_input,) = stored.inputs.dataset_inputs
    dataset = dataset_input.dataset
    assert dataset.name == "digits" and len(dataset.digest) == 8
    assert dataset.source_type == "code"
    assert json.loads(dataset.source)["tags"]["generator"] == "sklearn.datasets.load_digits"
    assert json.loads(dataset.profile) == {
        "train_rows": 1077,
        "val_rows": 270,
        "test_rows": 450,
        "classes": 10,
    }
    assert {(t.key, t.value) for t in dataset_input.tags} == {("mlflow.data.context", "training")}
    tags = stored.data.tags
    assert tags["mlflow.source.name"] == "optbench" and tags["mlflow.source.type"] == "LOCAL"
    assert tags["mlflow.note.content"] == "optbench"  # composed without a command line here
    assert run.experiment_id == stored.info.experiment_id
    experiment = client(store).get_experiment(stored.info.experiment_id)
    assert experiment.tags["mlflow.experimentKind"] == "custom_model_development"
    assert "mlflow.sharedViewState.optbench" in experiment.tags


# ---- parallel jobs logging the same dataset to one tracking server --------------------------

RACERS = 4  # processes that log the same datasets at the same moment
ROUNDS = 4  # datasets each of them logs: one race per round
DIGITS_INFO = {"source": "sklearn.datasets.load_digits", "n_classes": 10}


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[str]:
    with light_mlflow_server(tmp_path_factory.mktemp("server")) as url:
        yield url


def log_at_once(url: str, experiment: str, barrier: Any) -> None:
    """One job of the race: start a run, then in each round wait for every other job and log
    the round's dataset together with them; a failure fails the run, as it did a sweep's job."""
    from optbench.tracking.writer import MlflowWriter

    writer = MlflowWriter(url)
    run_id, _ = writer.start(experiment, "racer", {}, {})
    errors = []
    for subset in range(ROUNDS):
        record = dataset_record({"name": "digits", "subset": subset}, DIGITS_INFO, SIZES)
        barrier.wait(timeout=120)
        try:
            writer.inputs(run_id, [record])
        except Exception as exc:  # what failed a sweep's job: here it fails the run
            errors.append(f"{type(exc).__name__}: {exc}"[:400])
    if errors:
        writer.tags(run_id, {"error": " | ".join(errors)})
    writer.finish(run_id, "FAILED" if errors else "FINISHED")


@pytest.mark.slow
def test_jobs_logging_the_same_dataset_at_once_all_finish_with_it(server):
    """Jobs of a parallel sweep register the same dataset at the same moment: MLflow's store
    looks the dataset up, then inserts it, so all but one hit its UNIQUE constraint
    (sqlite3.IntegrityError, BAD_REQUEST from the server). Each job still finishes, linked to
    the one stored dataset."""
    from optbench.tracking.writer import MlflowWriter

    experiment = "dataset-race"
    MlflowWriter(server)._experiment(experiment)  # created once, as a sweep's parent does
    fork = multiprocessing.get_context("fork")  # MLflow is imported already; its HTTP
    barrier = fork.Barrier(RACERS)  # sessions are per process id
    racers = [
        fork.Process(target=log_at_once, args=(server, experiment, barrier)) for _ in range(RACERS)
    ]
    for racer in racers:
        racer.start()
    for racer in racers:
        racer.join(timeout=240)
    assert [r.exitcode for r in racers] == [0] * RACERS
    mlflow = client(server)
    exp_id = mlflow.get_experiment_by_name(experiment).experiment_id
    runs = mlflow.search_runs([exp_id])
    assert len(runs) == RACERS
    errors = [r.data.tags.get("error") for r in runs if r.info.status != "FINISHED"]
    assert not errors, errors[0]
    digests = set()
    for run in runs:
        inputs = run.inputs.dataset_inputs
        assert len(inputs) == ROUNDS and {i.dataset.name for i in inputs} == {"digits"}
        digests.add(frozenset(i.dataset.digest for i in inputs))
    assert len(digests) == 1 and len(next(iter(digests))) == ROUNDS  # the same rows, shared


@pytest.mark.slow
def test_a_joblib_sweep_into_a_server_links_every_job_to_one_dataset(server, tmp_path):
    """The real case: a parallel sweep's jobs, each in a joblib worker, register the same
    digits dataset with a tracking server; every job finishes and shows it."""
    done = run_cli(
        "-m",
        "hydra/launcher=joblib",
        "hydra.launcher.n_jobs=2",
        f"tracking.uri={server}",
        "experiment_name=joblib-sweep",
        "optimizer=saga,lbfgs",
        "seed=0,1",
        "trainer.max_iter=5",
        "trainer.progress=false",
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "dataset input" not in done.stderr  # no warning: every input was logged
    mlflow = client(server)
    runs = mlflow.search_runs([mlflow.get_experiment_by_name("joblib-sweep").experiment_id])
    children = [r for r in runs if r.data.tags.get("optbench.role") != "sweep"]
    assert len(children) == 4 and len(runs) == 5
    assert {r.info.status for r in runs} == {"FINISHED"}
    datasets = {
        (i.dataset.name, i.dataset.digest) for r in children for i in r.inputs.dataset_inputs
    }
    assert [len(r.inputs.dataset_inputs) for r in children] == [1] * 4
    assert len(datasets) == 1 and next(iter(datasets))[0] == "digits"


@pytest.mark.parametrize(
    "remote", [False, pytest.param(True, marks=pytest.mark.slow)], ids=["in_process", "helper"]
)
def test_a_dataset_the_store_refuses_costs_a_warning_line_not_the_run(store, capfd, remote):
    """Whatever makes log_inputs fail (here a digest longer than MLflow's 36 characters), the
    run goes on: later writes land and it closes FINISHED. Through the helper process, an
    error would otherwise stop its queued writes and be raised in the job at ``finish``."""
    from optbench.tracking.helper import RemoteWriter
    from optbench.tracking.writer import MlflowWriter

    writer: Any = RemoteWriter(store) if remote else MlflowWriter(store)
    try:
        run_id, _ = writer.start("refused", "run", {}, {})
        record = {**dataset_record(digits(), DIGITS_INFO, SIZES), "digest": "f" * 40}
        writer.inputs(run_id, [record])
        writer.metrics(run_id, [("train_loss", 0.5, 0, 1), ("train_loss", 0.25, 0, 2)])
        closed_id, _, _ = writer.finish(run_id, "FINISHED")
    finally:
        getattr(writer, "close", lambda: None)()
    stored = client(store).get_run(closed_id)
    assert stored.info.status == "FINISHED" and not stored.inputs.dataset_inputs
    history = client(store).get_metric_history(closed_id, "train_loss")
    assert [m.value for m in history] == [0.5, 0.25]
    warnings = [line for line in capfd.readouterr().err.splitlines() if "dataset input" in line]
    assert len(warnings) == 1, warnings
    assert f"run {closed_id} goes on without its dataset input (digits)" in warnings[0]
    assert "digest" in warnings[0]
