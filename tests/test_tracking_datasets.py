"""The data a run trained on, as an MLflow dataset input (optbench/tracking/datasets.py), and
the source tags and description that go with it, read back through MLflow's client."""

import json

from optbench.tracking.datasets import dataset_record
from tests.conftest import client, compose_cfg, train

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
