"""``MlflowWriter`` (optbench/tracking/writer.py), on a real SQLite store: the store opens on
first use, params and tags go in MLflow-sized batches and lengths, artifacts keep their file
names, a run another writer started can be closed; and a write that lost a race to insert the
same row is made again, any other error is not. (Metrics: tests/test_tracking_metric_history.py;
dataset inputs: tests/test_tracking_datasets.py.)"""

from __future__ import annotations

from pathlib import Path

import pytest
from mlflow.exceptions import MlflowException
from sqlalchemy.exc import IntegrityError, OperationalError

from optbench.tracking.ui import KIND, KIND_TAG, VIEW_TAG
from optbench.tracking.writer import RACE_ATTEMPTS, MlflowWriter, _lost_race, _retry_lost_race
from tests.conftest import client


def integrity_error() -> IntegrityError:
    return IntegrityError("INSERT INTO datasets ...", {}, Exception("UNIQUE constraint failed"))


class Note:
    """What ``figure`` draws for a path that is not a .png: anything with ``save(path)``."""

    def __init__(self, text: str):
        self.text = text

    def save(self, path: str) -> None:
        Path(path).write_text(self.text)


def test_a_lost_race_is_an_integrity_error_anywhere_in_the_chain_or_its_words():
    assert _lost_race(integrity_error())
    try:
        try:
            raise integrity_error()
        except IntegrityError as cause:
            raise MlflowException("could not log the dataset") from cause
    except MlflowException as wrapped:
        assert _lost_race(wrapped)
    server_says = MlflowException("(psycopg2.errors.UniqueViolation) duplicate key value")
    assert _lost_race(server_says)  # a tracking server returns only the message
    assert not _lost_race(OperationalError("SELECT 1", {}, Exception("database is locked")))
    assert not _lost_race(ValueError("bad value"))


def failing(times: int, error: Exception):
    """A write that raises ``error`` the first ``times`` calls, then returns how many it took."""
    calls = []

    def write(value: str) -> tuple[str, int]:
        calls.append(value)
        if len(calls) <= times:
            raise error
        return value, len(calls)

    return write


def test_a_write_that_lost_a_race_is_made_again_up_to_its_attempts():
    assert RACE_ATTEMPTS == 3
    assert _retry_lost_race(failing(0, integrity_error()), "x") == ("x", 1)
    assert _retry_lost_race(failing(2, integrity_error()), "x") == ("x", 3)
    with pytest.raises(IntegrityError):  # a third loss is no race any more
        _retry_lost_race(failing(3, integrity_error()), "x")


def test_any_other_error_is_raised_at_once():
    write = failing(1, ValueError("bad value"))
    with pytest.raises(ValueError, match="bad value"):
        _retry_lost_race(write, "x")
    assert write("y") == ("y", 2)  # it was called once before


def test_the_store_is_opened_on_first_use_only(tmp_path):
    writer = MlflowWriter(f"sqlite:///{tmp_path / 'mlflow.db'}")
    assert not (tmp_path / "mlflow.db").exists()  # a job refused before it starts leaves none
    assert writer.client is writer.client and (tmp_path / "mlflow.db").is_file()


def test_a_run_starts_with_its_params_in_batches_and_its_experiment_set_up_for_the_ui(store):
    writer = MlflowWriter(store)
    params = {f"p{i:03d}": str(i) for i in range(250)}  # 3 batches of at most 100
    params["long"] = "x" * 7000
    run_id, artifact_uri = writer.start("exp", "first", {"optbench.role": "job"}, params)
    record = client(store).get_run(run_id)
    assert len(record.data.params) == 251 and record.data.params["p249"] == "249"
    assert record.data.params["long"] == "x" * 6000  # MLflow's limit for a param
    assert record.data.tags["optbench.role"] == "job" and record.info.run_name == "first"
    assert record.info.artifact_uri == artifact_uri
    tags = client(store).get_experiment(record.info.experiment_id).tags
    assert tags[KIND_TAG] == KIND and VIEW_TAG in tags


def test_tags_are_cut_to_mlflows_length(store):
    writer = MlflowWriter(store)
    run_id, _ = writer.start("exp", "run", {}, {})
    writer.tags(run_id, {"optbench.note": "y" * 6000, "optbench.short": "ok"})
    tags = client(store).get_run(run_id).data.tags
    assert tags["optbench.note"] == "y" * 5000 and tags["optbench.short"] == "ok"


def test_artifacts_keep_their_file_names(store, tmp_path):
    writer = MlflowWriter(store)
    run_id, _ = writer.start("exp", "run", {}, {})
    local = tmp_path / "table.csv"
    local.write_text("a,b\n")
    writer.file(run_id, str(local), "tables/table.csv")
    writer.file(run_id, str(local), "table.csv")  # no folder: the artifact root
    writer.text(run_id, "hello", "notes/hello.txt")
    writer.figure(run_id, f"{__name__}:Note", ("drawn",), "anim/note.txt")
    with pytest.raises(ValueError, match=r"^artifact tables/other.csv must keep the file name"):
        writer.file(run_id, str(local), "tables/other.csv")
    mlflow = client(store)
    assert [a.path for a in mlflow.list_artifacts(run_id)] == [
        "anim",
        "notes",
        "table.csv",
        "tables",
    ]
    drawn = mlflow.download_artifacts(run_id, "anim/note.txt", str(tmp_path / "back"))
    assert Path(drawn).read_text() == "drawn"


def test_finishing_returns_the_run_its_artifacts_and_experiment_also_for_anothers_run(store):
    starter, closer = MlflowWriter(store), MlflowWriter(store)
    run_id, artifact_uri = starter.start("exp", "parent", {}, {})
    experiment_id = client(store).get_run(run_id).info.experiment_id
    assert closer.finish(run_id, "FAILED") == (run_id, artifact_uri, experiment_id)
    assert client(store).get_run(run_id).info.status == "FAILED"
    second, _ = starter.start("exp", "again", {}, {})  # the experiment is found, not made again
    assert starter.finish(second, "FINISHED")[2] == experiment_id
