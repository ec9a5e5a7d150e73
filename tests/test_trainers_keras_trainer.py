"""optbench/trainers/keras_trainer.py, the Keras trainer: on real data the same objective as
scikit-learn, divergence, targets, batch sizes and what a run records in MLflow; and its
pieces on their own: the batch size a setting means and ``predict``'s batching and padding,
against the model called once on all of it."""

from __future__ import annotations

import keras  # a hard dependency (TensorFlow): a broken install fails here, never skips
import numpy as np
import pytest

from optbench.callbacks import TargetTracker
from optbench.errors import OptbenchError
from optbench.runner import prepare
from optbench.trainers.keras_trainer import batch_size, predict
from tests.conftest import client, compose_cfg, train
from tests.keras_support import fit, gpus


@pytest.mark.slow
def test_keras_logreg_minimises_the_same_objective_as_scikit_learn():
    """Adam on the Keras softmax layer ends near lbfgs's optimum of the same penalised loss."""
    sk, _, _ = fit("model=logreg", "optimizer=lbfgs", "trainer.max_iter=200")
    ks, settings, _splits = fit(
        "model=logreg",
        "optimizer=adam",
        "optimizer.lr=0.05",
        "trainer.max_iter=300",
        "trainer.batch_size=full",
        "trainer.full_train_loss=true",
        "trainer.early_stop.enabled=false",
    )
    assert settings.model.framework == "auto"
    assert ks.final["params_total"] == sk.final["params_total"] == 64 * 10 + 10
    assert ks.final["optimizer_steps"] == 300  # full batch: one step per epoch
    assert ks.history[-1]["train_loss"] == pytest.approx(sk.history[-1]["train_loss"], abs=0.002)
    assert ks.final["test_accuracy"] == pytest.approx(sk.final["test_accuracy"], abs=0.02)


def test_divergence_stops_training_and_is_reported(store):
    result, run = train(
        store,
        "model=mlp",
        "dataset=digits",
        "optimizer=sgd",
        "optimizer.lr=50",
        "trainer.max_iter=5",
    )
    assert result.diverged and "diverged" in result.stop_reason
    record = client(store).get_run(run.run_id)
    assert record.info.status == "FINISHED"
    assert record.data.tags["optbench.diverged"] == "true"
    assert len(result.history) < 5


def test_target_and_stop_at_target():
    tracker = TargetTracker("val_accuracy", 0.9, stop=True)
    overrides = ("model=mlp", "dataset=digits", "optimizer=adam", "trainer.max_iter=30")
    result, _, _ = fit(*overrides, callbacks=[tracker])
    epochs = tracker.reached["epochs_to_target"]
    assert len(result.history) == epochs < 30
    assert result.history[epochs - 1]["val_accuracy"] >= 0.9
    assert all(h["val_accuracy"] < 0.9 for h in result.history[: epochs - 1])
    assert tracker.reached["steps_to_target"] == result.history[epochs - 1]["optimizer_steps"]
    assert tracker.reached["time_to_target_s"] == pytest.approx(
        result.history[epochs - 1]["elapsed_s"]
    )


def test_run_records_metrics_artifacts_devices_and_the_model(store, tmp_path):
    result, run = train(
        store,
        "model=mlp",
        "dataset=digits",
        "optimizer=adam",
        "trainer.max_iter=3",
        "trainer.save_model=true",
        "dataset.target.value=0.8",
        "hardware.precision=mixed_bfloat16",
    )
    mlflow = client(store)
    record = mlflow.get_run(run.run_id)
    tags, metrics = record.data.tags, record.data.metrics
    assert tags["optbench.framework"] == "keras"
    import tensorflow as tf

    # hardware=cpu hides the GPUs, unless TensorFlow already runs in this process with them
    # visible (an earlier test): then the run stays where it is and says so
    if tf.config.get_visible_devices("GPU"):
        assert gpus() and any("GPU selection could not change" in n for n in result.notes)
        assert tags["optbench.devices"] == "/GPU:0" and tags["optbench.gpu_names"] != "none"
    else:
        assert tags["optbench.devices"] == "/CPU:0" and tags["optbench.gpu_names"] == "none"
    assert tags["optbench.precision"] == "mixed_bfloat16"
    for key in (
        "train_loss",
        "train_accuracy",
        "val_loss",
        "val_accuracy",
        "lr",
        "epoch_time_s",
        "samples_per_s",
        "grad_norm",
        "test_loss",
        "test_accuracy",
        "params_total",
        "epochs_to_target",
        "time_to_target_s",
        "steps_to_target",
    ):
        assert key in metrics, key
    assert [m.step for m in mlflow.get_metric_history(run.run_id, "val_loss")] == [1, 2, 3]
    assert metrics["test_accuracy"] > 0.85
    files = {a.path for a in mlflow.list_artifacts(run.run_id)}
    assert {
        "loss_curve.png",
        "confusion_matrix.png",
        "misclassified.png",
        "model.keras",
        "config.yaml",
    } <= files
    local = mlflow.download_artifacts(run.run_id, "model.keras", str(tmp_path))
    reloaded = keras.saving.load_model(local, compile=False)
    assert reloaded.count_params() == metrics["params_total"]


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (["model=mlp", "optimizer=saga"], "optimizer=saga is a scikit-learn solver"),
        (
            ["model=mlp", "optimizer=adam", "optimizer.clipnorm=1", "optimizer.global_clipnorm=1"],
            "only one of",
        ),
        (
            ["model=mlp", "optimizer=adam", "schedule=invscaling"],
            "schedule=invscaling is not available",
        ),
        (["model=mlp", "optimizer=adam", "model.dropout=1.0"], "model.dropout=1.0 is not allowed"),
        (
            ["model=mlp", "optimizer=adam", "model.init=xavier"],
            "model.init='xavier' is not allowed",
        ),
        (
            ["model=mlp", "optimizer=adam", "schedule=step", "schedule.boundaries=[5,2]"],
            "strictly increasing",
        ),
    ],
)
def test_bad_keras_configs_are_refused(overrides, message):
    with pytest.raises(OptbenchError, match=message.replace("(", r"\(").replace("[", r"\[")):
        prepare(compose_cfg(*overrides))  # before any data is loaded or run is created


def test_batch_size_full_and_one():
    full, _, _splits = fit(
        "model=logreg", "optimizer=sgd", "trainer.batch_size=full", "trainer.max_iter=2"
    )
    assert full.final["optimizer_steps"] == 2
    one, _, _ = fit(
        "model=logreg",
        "optimizer=sgd",
        "trainer.batch_size=1",
        "trainer.max_iter=1",
        "dataset.subset=200",
    )
    assert one.final["optimizer_steps"] == 200 - 40  # 20% of the subset is validation


def test_synthetic_features_train_the_mlp_without_an_image_grid():
    result, _, _ = fit(
        "model=mlp",
        "optimizer=adam",
        "dataset=synthetic",
        "dataset.n_samples=1000",
        "trainer.max_iter=3",
    )
    assert result.history[-1]["val_accuracy"] > 0.5  # 3 classes
    paths = {a.path for a in result.artifacts}
    # no 2-D images to show; the diagnostics (on by default) as everywhere
    assert paths == {
        "confusion_matrix.png",
        "diagnostics/diagnostics.csv",
        "diagnostics/diagnostics.png",
    }


def test_keras_writes_every_epoch_unless_tracking_log_every_says_otherwise(store, monkeypatch):
    """tracking.log_every=null: the trainer's own rhythm (Keras: each epoch); a set value wins."""
    from optbench import runner

    asked = []
    metrics_logger = runner.TrackedRun.metrics_logger

    def spy(run, every):
        asked.append(every)
        return metrics_logger(run, every)

    monkeypatch.setattr(runner.TrackedRun, "metrics_logger", spy)
    for every in ("null", "7"):
        overrides = ("model=logreg", "optimizer=adam", "trainer.max_iter=2")
        train(store, *overrides, f"tracking.log_every={every}")
    assert asked == [1, 7]


# --- the trainer's pieces on their own -------------------------------------------------------


def test_the_batch_size_setting_full_auto_or_a_number():
    assert batch_size("full", 1437) == 1437
    assert batch_size("auto", 1437) == 32
    assert batch_size(64, 1437) == batch_size("64", 1437) == 64


class ShapeRecorder(keras.Sequential):
    """A real Keras model that keeps the shape of every batch ``predict_on_batch`` is given."""

    shapes: list

    def predict_on_batch(self, x):
        self.shapes.append(x.shape)
        return super().predict_on_batch(x)


def softmax_model() -> ShapeRecorder:
    keras.utils.set_random_seed(0)
    model = ShapeRecorder([keras.Input((3,)), keras.layers.Dense(4, activation="softmax")])
    model.shapes = []
    return model


def test_predict_in_batches_is_the_model_on_all_rows_as_float64():
    model = softmax_model()
    x = np.random.default_rng(0).normal(size=(10, 3)).astype("float32")
    whole = np.asarray(model(x))
    model.shapes.clear()
    out = predict(model, x, batch=4)
    assert out.dtype == np.float64 and out.shape == (10, 4)
    np.testing.assert_allclose(out, whole, rtol=1e-6)
    assert model.shapes == [(4, 3), (4, 3), (2, 3)]


def test_pad_last_gives_every_call_one_shape_and_drops_the_padding():
    model = softmax_model()
    x = np.random.default_rng(1).normal(size=(10, 3)).astype("float32")
    out = predict(model, x, batch=4, pad_last=True)
    assert model.shapes == [(4, 3)] * 3
    np.testing.assert_allclose(out, predict(model, x, batch=4), rtol=1e-6)
    model.shapes.clear()
    predict(model, x[:3], batch=4, pad_last=True)  # within one batch: no padding needed
    assert model.shapes == [(3, 3)]


def test_predict_on_no_rows_is_an_empty_array_of_the_models_width():
    out = predict(softmax_model(), np.zeros((0, 3), "float32"))
    assert out.shape == (0, 4)
