"""One job's MLflow run (optbench/tracking/run.py), read back through MLflow's own client:
params, tags, metrics, artifacts, batched writes, and the final status on success, failure
and Ctrl-C."""

import importlib.metadata
import importlib.util
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from optbench.callbacks import DivergenceGuard
from optbench.errors import OptbenchError
from optbench.schema.trainer import TrackingConfig
from tests.conftest import client, needs_mnist, train


def test_a_run_records_everything_the_report_needs(store, tmp_path):
    result, run = train(store, "trainer.max_iter=25", "trainer.early_stop.enabled=false")
    mlflow_run = client(store).get_run(run.run_id)
    assert mlflow_run.info.status == "FINISHED"
    params, tags, metrics = mlflow_run.data.params, mlflow_run.data.tags, mlflow_run.data.metrics
    assert params["optimizer.name"] == "saga" and params["trainer.max_iter"] == "25"
    assert params["dataset.val_fraction"] == "0.2" and params["seed"] == "0"
    assert tags["optbench.framework"] == "sklearn" and tags["optbench.model"] == "logreg"
    assert tags["optbench.dataset"] == "digits" and tags["optbench.seed"] == "0"
    assert tags["optbench.diverged"] == "false" and tags["optbench.host"]
    assert tags["optbench.version.scikit-learn"] and tags["optbench.version.mlflow"]
    for backend in ("jax", "torch"):  # Keras's other backends, where installed
        if importlib.util.find_spec(backend) is not None:
            assert tags[f"optbench.version.{backend}"] == importlib.metadata.version(backend)
    head = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True)
    if head.returncode == 0:
        assert tags["mlflow.source.git.commit"] == head.stdout.strip()
    for key in (
        "test_loss",
        "test_accuracy",
        "fit_time_s",
        "time_per_iter_s",
        "data_load_time_s",
        "params_total",
        "params_trainable",
        "oneshot_train_loss",
    ):
        assert key in metrics, key
    assert metrics["test_accuracy"] == pytest.approx(result.final["test_accuracy"])
    for key in ("train_loss", "val_loss", "val_accuracy", "elapsed_s"):
        history = client(store).get_metric_history(run.run_id, key)
        assert sorted(m.step for m in history) == list(range(1, 26)), key
    artifacts = {a.path for a in client(store).list_artifacts(run.run_id)}
    assert {"config.yaml", "loss_curve.png"} <= artifacts
    local = Path(client(store).download_artifacts(run.run_id, "", str(tmp_path)))
    assert (local / "loss_curve.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    config = yaml.safe_load((local / "config.yaml").read_text())
    assert config["optimizer"]["name"] == "saga" and config["trainer"]["max_iter"] == 25


@pytest.fixture
def metric_writes(monkeypatch) -> list[int]:
    """The number of records in each real metric write of a run in this process."""
    from optbench.tracking import writer

    calls = []
    real_log_history = writer.log_history

    def counting_log_history(client, run_id, records, size):
        calls.append(len(records))
        return real_log_history(client, run_id, records, size)

    monkeypatch.setattr(writer, "log_history", counting_log_history)
    return calls


def test_metric_writes_are_batched(store, metric_writes):
    _, run = train(
        store,
        "trainer.max_iter=40",
        "trainer.early_stop.enabled=false",
        "tracking.log_every=10",
        "tracking.flush_every_s=1e9",  # steps only, however slow
        "tracking.helper_process=false",  # count the real writes, so keep MLflow in this process
        "trainer.diagnostics=off",  # the 4 standard metrics only
    )
    # 40 steps x 4 metrics in 4 batches, then one batch of final metrics
    assert metric_writes[:4] == [40, 40, 40, 40] and len(metric_writes) == 5
    assert len(client(store).get_metric_history(run.run_id, "val_loss")) == 40


def test_scikit_learn_steps_are_written_by_time_not_by_count(store, metric_writes):
    """A write costs the helper 10-20 ms whatever its size, as much as a few SAGA iterations:
    by default fast steps are written once per tracking.flush_every_s, not every N steps."""
    _, run = train(
        store,
        "trainer.max_iter=120",
        "trainer.early_stop.enabled=false",
        "tracking.flush_every_s=1e9",
        "tracking.helper_process=false",
        "trainer.diagnostics=off",  # the 4 standard metrics only
    )
    assert metric_writes[0] == 120 * 4 and len(metric_writes) == 2  # the steps, the final ones
    assert len(client(store).get_metric_history(run.run_id, "val_loss")) == 120


@needs_mnist
def test_a_failing_run_is_marked_failed_with_the_error(store, tmp_path, monkeypatch):
    """A file that exists (so the preflight passes) but fails its checksum once the run has
    started: the run is FAILED with the loader's message."""
    monkeypatch.setattr("optbench.data.files.KERAS_CACHE", tmp_path / "empty")
    shutil.copytree(Path(os.environ["OPTBENCH_DATA_DIR"]) / "mnist", tmp_path / "mnist")
    with open(tmp_path / "mnist" / "t10k-labels-idx1-ubyte.gz", "r+b") as f:
        f.seek(100)
        f.write(b"\x00\x01\x02")
    message = r"t10k-labels-idx1-ubyte\.gz has sha256 .* expected f7ae60f9"
    with pytest.raises(OptbenchError, match=message):
        train(store, "dataset=mnist", f"dataset.data_dir={tmp_path}", "dataset.download=false")
    (failed,) = client(store).search_runs(["1"])
    assert failed.info.status == "FAILED"
    assert re.search(message, failed.data.tags["optbench.error"])
    assert failed.data.tags["optbench.error_type"] == "user"


def test_ctrl_c_marks_the_run_killed_and_keeps_what_was_logged(store, monkeypatch):
    class InterruptAtStep7(DivergenceGuard):
        def on_epoch_end(self, step, logs):
            if step == 7:
                raise KeyboardInterrupt
            super().on_epoch_end(step, logs)

    monkeypatch.setattr("optbench.run_record.DivergenceGuard", InterruptAtStep7)
    with pytest.raises(KeyboardInterrupt):
        train(store, "trainer.max_iter=50", "tracking.log_every=100")
    (killed,) = client(store).search_runs(["1"])
    assert killed.info.status == "KILLED"
    history = client(store).get_metric_history(killed.info.run_id, "train_loss")
    # steps 1-6 were buffered (log_every=100) and are flushed before the run is closed; the
    # interrupt came in step 7 before its metrics reached the logger
    assert [m.step for m in history] == [1, 2, 3, 4, 5, 6]


class FakeClock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


class RecordingWriter:
    def __init__(self):
        self.batches = []

    def metrics(self, run_id, records):
        self.batches.append([step for _, _, _, step in records])


def test_buffered_metrics_are_written_every_n_steps_or_every_2_seconds(monkeypatch):
    """A job killed outright loses at most the last 2 s of steps (tracking.flush_every_s's
    default), however large log_every."""
    from types import SimpleNamespace

    from optbench.tracking.run import MetricsLogger

    FLUSH_EVERY_S = TrackingConfig().flush_every_s

    clock = FakeClock()
    monkeypatch.setattr("optbench.tracking.run.time.monotonic", clock)
    writer = RecordingWriter()
    logger = MetricsLogger(SimpleNamespace(writer=writer, run_id="r"), 3, FLUSH_EVERY_S)
    for step in (1, 2, 3, 4):  # fast steps: one write per 3
        logger.on_epoch_end(step, {"train_loss": 1.0})
    assert writer.batches == [[1, 2, 3]]
    clock.now += FLUSH_EVERY_S  # a slow step: written at once, not 2 steps later
    logger.on_epoch_end(5, {"train_loss": 1.0})
    assert writer.batches == [[1, 2, 3], [4, 5]]
    clock.now += FLUSH_EVERY_S - 0.1
    logger.on_epoch_end(6, {"train_loss": 1.0})
    logger.on_train_end({})
    assert writer.batches == [[1, 2, 3], [4, 5], [6]]

    by_time = MetricsLogger(SimpleNamespace(writer=writer, run_id="r"), None, FLUSH_EVERY_S)
    writer.batches.clear()
    for step in range(1, 1001):  # no step count triggers a write: only the clock
        by_time.on_epoch_end(step, {"train_loss": 1.0})
    assert writer.batches == []
    clock.now += FLUSH_EVERY_S
    by_time.on_epoch_end(1001, {"train_loss": 1.0})
    assert writer.batches == [list(range(1, 1002))]
