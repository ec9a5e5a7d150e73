"""The trainer contract, checked on every model row and each framework it trains on (as
scikit-learn's ``check_estimator`` checks every estimator): the smallest real run reports the
standard metric names (optbench/trainers/base.py), calls its callbacks in order, returns a
divergence as a result, and ends KILLED in MLflow when interrupted inside its loop.

A new row in optbench/models/registry.py fails ``test_every_model_row_has_a_contract_case``
until it has its smallest run in CASES."""

from __future__ import annotations

import math

import pytest

from optbench.callbacks import Callback
from optbench.models.registry import MODELS
from optbench.optim.registry import optimizer_row
from tests.conftest import client, compose_cfg
from tests.test_data_cifar10 import needs_sample

# random backbone weights (no ImageNet file offline) at 32 px on a few real CIFAR-10 images
TRANSFER = (
    "dataset=cifar10_sample",
    "dataset.subset=100",
    "dataset.test_subset=100",
    "model.weights=null",
    "model.input_size=32",
    "optimizer=adam",
    "model.time_inference=false",  # not part of the contract, ~5 s a run
)
# (model, framework): its smallest real run
CASES = {
    ("logreg", "sklearn"): ("model=logreg", "optimizer=saga"),
    ("logreg", "keras"): ("model=logreg", "optimizer=adam"),
    ("mlp_sklearn", "sklearn"): ("model=mlp_sklearn", "optimizer=adam"),
    ("mlp", "keras"): ("model=mlp", "dataset=digits", "optimizer=adam"),
    ("cnn_2c2d", "keras"): ("model=cnn_2c2d", "dataset=digits", "optimizer=adam"),
    ("landscape", "numpy"): ("dataset=rosenbrock", "optimizer=adam"),
    ("landscape", "keras"): ("dataset=rosenbrock", "optimizer=adam", "model.implementation=keras"),
    ("mobilenet_v2", "keras"): ("model=mobilenet_v2", *TRANSFER),
    ("resnet50", "keras"): ("model=resnet50", *TRANSFER),
}
NEEDS = {"mobilenet_v2": needs_sample, "resnet50": needs_sample}
SMALL = ("trainer.max_iter=3", "trainer.early_stop.enabled=false", "trainer.progress=false")

# trainers/base.py: what every step and every run reports
# (a 2-D test function, model=landscape, has no data: no validation or test split, its loss
# is the function's value, final_loss)
STEP_KEYS = {"step", "train_loss", "elapsed_s"}
DATA_STEP_KEYS = {"val_loss", "val_accuracy"}
FINAL_KEYS = {"fit_time_s", "time_per_iter_s", "params_total", "params_trainable"}
DATA_FINAL_KEYS = {"test_loss", "test_accuracy"}


def cases() -> list:
    """One param per case; the backbones (10-15 s each, most of it building the model) are slow."""
    return [
        pytest.param(
            *key,
            marks=[NEEDS[key[0]], pytest.mark.slow] if key[0] in NEEDS else [],
            id=f"{key[0]}-{key[1]}",
        )
        for key in CASES
    ]


class Recorder(Callback):
    """Each callback event in the order the run called it; interrupts the loop when asked."""

    def __init__(self, interrupt_at_step: int | None = None):
        self.events: list[str] = []
        self.interrupt_at_step = interrupt_at_step

    def on_run_begin(self, ctx) -> None:
        self.events.append("run_begin")

    def on_train_begin(self, state) -> None:
        super().on_train_begin(state)
        self.events.append("train_begin")

    def on_epoch_end(self, step: int, logs: dict[str, float]) -> None:
        self.events.append("step")
        if step == self.interrupt_at_step:
            raise KeyboardInterrupt  # Ctrl-C inside the loop

    def on_train_end(self, logs: dict[str, float]) -> None:
        self.events.append("train_end")

    def on_run_end(self, ctx) -> None:
        self.events.append("run_end")


def run(store: str, overrides: tuple[str, ...], recorder: Recorder):
    """One job as the CLI runs it (checks, MLflow run, training), with ``recorder`` watching."""
    from optbench.runner import execute, prepare, tracked_run

    cfg = compose_cfg(f"tracking.uri={store}", *SMALL, *overrides)
    plan = prepare(cfg)
    with tracked_run(cfg) as job:
        recorder.run_id = job.run_id
        return execute(cfg, plan, job, [recorder]), cfg


def test_every_model_row_has_a_contract_case():
    rows = {(name, framework) for name, row in MODELS.items() for framework in row.trainers}
    assert rows == set(CASES), f"add the smallest run of {sorted(rows - set(CASES))} to CASES"


@pytest.mark.parametrize(("model", "framework"), cases())
def test_a_run_reports_the_standard_metrics_and_calls_callbacks_in_order(store, model, framework):
    recorder = Recorder()
    result, cfg = run(store, CASES[model, framework], recorder)
    assert recorder.events[:2] == ["run_begin", "train_begin"], recorder.events
    assert recorder.events[-2:] == ["train_end", "run_end"], recorder.events
    steps = recorder.events[2:-2]
    assert steps and set(steps) == {"step"} and len(steps) == len(result.history)
    data = model != "landscape"
    step_keys = STEP_KEYS | (DATA_STEP_KEYS if data else set())
    final_keys = FINAL_KEYS | (DATA_FINAL_KEYS if data else set())
    for record in result.history:
        assert record.keys() >= step_keys, step_keys - record.keys()
        if optimizer_row(cfg.optimizer.name).needs_lr:
            assert "lr" in record
    assert result.final.keys() >= final_keys, final_keys - result.final.keys()
    assert result.final["params_total"] >= result.final["params_trainable"] > 0
    assert not result.diverged and math.isfinite(result.history[-1]["train_loss"])


@pytest.mark.parametrize(("model", "framework"), cases())
def test_divergence_is_a_result_not_an_error(store, model, framework):
    overrides = CASES[model, framework]
    if not optimizer_row(compose_cfg(*overrides).optimizer.name).needs_lr:
        overrides = (*overrides, "optimizer=sgd")  # a solver chooses its own step size
    recorder = Recorder()
    result, _ = run(store, (*overrides, "optimizer.lr=1e12", "trainer.max_iter=5"), recorder)
    assert result.diverged and result.stop_reason.startswith("diverged"), result.stop_reason
    assert recorder.events[-2:] == ["train_end", "run_end"]
    (mlflow_run,) = client(store).search_runs(["1"])
    assert mlflow_run.data.tags.get("optbench.diverged") == "true"


@pytest.mark.parametrize(("model", "framework"), cases())
def test_an_interrupt_inside_the_loop_ends_the_run_killed(store, model, framework):
    recorder = Recorder(interrupt_at_step=1)
    with pytest.raises(KeyboardInterrupt):
        run(store, CASES[model, framework], recorder)
    assert "train_end" not in recorder.events
    assert client(store).get_run(recorder.run_id).info.status == "KILLED"
