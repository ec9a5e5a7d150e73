"""The scikit-learn trainer on real data: accuracy, per-iteration history, stopping rules."""

import itertools
import math
from typing import Any

import pytest

from optbench.callbacks import Callback, CallbackList
from optbench.data import load_dataset
from optbench.data.splits import scale
from optbench.runner import prepare
from optbench.trainers.base import RunResult
from tests.conftest import WatchedTrainer, compose_cfg, needs_mnist, train


class EstimatorLog(Callback):
    """After every epoch, what the live MLP holds: its optimizer object and its step counters."""

    def __init__(self, trainer: WatchedTrainer):
        self.trainer, self.epochs = trainer, []

    def on_epoch_end(self, step: int, logs: dict[str, float]) -> None:
        mlp = self.trainer.estimator
        optimizer = mlp._optimizer  # sklearn's live Adam/SGD state, rebuilt by every fit()
        self.epochs.append(
            {"optimizer": optimizer, "adam_t": getattr(optimizer, "t", None), "seen": mlp.t_}
        )


def fit_watched(*overrides: str) -> tuple[RunResult, list[dict[str, Any]], int]:
    """Train on digits as a job does and return (result, per-epoch estimator log, n_train)."""
    settings = prepare(compose_cfg("trainer.progress=false", *overrides)).settings
    splits = scale(load_dataset(settings.dataset, settings.seed), settings.model.input_scaling)
    trainer = WatchedTrainer(settings)
    log = EstimatorLog(trainer)
    result = trainer.fit(splits, CallbackList([log]))
    return result, log.epochs, len(splits.y_train)


@pytest.mark.parametrize("optimizer", ["saga", "sag", "lbfgs"])
def test_logreg_solvers_reach_095_on_digits(store, optimizer):
    result, _ = train(store, f"optimizer={optimizer}", "trainer.max_iter=60")
    assert result.final["test_accuracy"] >= 0.95
    assert result.final["params_total"] == 64 * 10 + 10
    assert len(result.history) == result.final["n_iter"]
    assert [h["step"] for h in result.history] == list(range(1, len(result.history) + 1))
    assert all(
        {"train_loss", "val_loss", "val_accuracy", "elapsed_s"} <= h.keys() for h in result.history
    )


def test_saga_loop_logs_the_continuous_fit_for_comparison(store):
    result, _ = train(store, "trainer.max_iter=30", "trainer.early_stop.enabled=false")
    loop_loss = result.history[-1]["train_loss"]
    assert result.final["n_iter"] == 30
    # the continuous fit follows a slightly different path to a similar loss, and is faster
    # because it keeps SAGA's gradient memory instead of rebuilding it every epoch
    assert abs(result.final["oneshot_train_loss"] - loop_loss) < 0.2 * loop_loss
    assert result.final["oneshot_fit_time_s"] < result.final["fit_time_s"]
    assert result.history[0]["train_loss"] > 1.5 * loop_loss  # and the loop does descend


@pytest.mark.parametrize("optimizer", ["adam", "sgd"])
def test_warm_start_mlp_reaches_095_on_digits(store, optimizer):
    extra = ["optimizer.lr=0.05", "optimizer.momentum=0.9"] if optimizer == "sgd" else []
    result, _ = train(
        store, "model=mlp_sklearn", f"optimizer={optimizer}", "trainer.max_iter=40", *extra
    )
    assert result.final["test_accuracy"] >= 0.95
    assert result.final["params_total"] == 64 * 100 + 100 + 100 * 10 + 10
    assert {h["lr"] for h in result.history} == {0.05 if optimizer == "sgd" else 0.001}


def test_partial_fit_keeps_one_training_run():
    """One Adam optimizer lives through all epochs: same object, its step counter keeps going.

    A ``warm_start`` re-fit would keep the weights but build a new Adam (moments and bias
    correction reset) every epoch; only the optimizer's identity and counters reveal that."""
    result, epochs, n_train = fit_watched(
        "model=mlp_sklearn",
        "optimizer=adam",
        "trainer.max_iter=15",
        "trainer.batch_size=100",
        "trainer.early_stop.enabled=false",
    )
    assert n_train == 1077 and len(epochs) == 15
    first = epochs[0]["optimizer"]
    assert all(e["optimizer"] is first for e in epochs)
    updates_per_epoch = math.ceil(n_train / 100)  # 11 mini-batches, one Adam step each
    assert [e["adam_t"] for e in epochs] == [updates_per_epoch * k for k in range(1, 16)]
    assert [e["seen"] for e in epochs] == [n_train * k for k in range(1, 16)]
    losses = [h["train_loss"] for h in result.history]
    assert sum(b < a for a, b in itertools.pairwise(losses)) >= 13


def test_invscaling_schedule_is_read_back_from_the_optimizer():
    result, epochs, n_train = fit_watched(
        "model=mlp_sklearn",
        "optimizer=sgd",
        "optimizer.lr=0.1",
        "schedule=invscaling",
        "trainer.max_iter=5",
        "trainer.batch_size=full",
    )
    lrs = [h["lr"] for h in result.history]
    assert lrs[0] < 0.1 and all(b < a for a, b in itertools.pairwise(lrs))
    # full batch: one update per epoch, so t = samples seen = epoch * n_train
    assert n_train == 1077
    assert lrs[-1] == pytest.approx(0.1 / (5 * n_train + 1) ** 0.5, rel=1e-6)
    # the decayed rate is the one the next epoch steps with: one SGD optimizer throughout
    assert all(e["optimizer"] is epochs[0]["optimizer"] for e in epochs)


def test_early_stopping_stops_on_a_flat_loss(store):
    result, _ = train(
        store,
        "optimizer=lbfgs",
        "trainer.max_iter=500",
        "trainer.early_stop.tol=1e-3",
        "trainer.early_stop.patience=3",
    )
    assert result.stop_reason.startswith("converged")
    assert len(result.history) < 500


def test_a_huge_learning_rate_is_reported_diverged_not_crashed(store):
    result, _ = train(
        store, "model=mlp_sklearn", "optimizer=sgd", "optimizer.lr=1e6", "trainer.max_iter=50"
    )
    assert result.diverged and result.stop_reason.startswith("diverged")
    assert result.objective() == math.inf and result.objective("val_accuracy") == -math.inf
    assert len(result.history) < 50


def test_full_batch_and_minibatch_sizes(store):
    full, _ = train(
        store,
        "model=mlp_sklearn",
        "optimizer=adam",
        "trainer.batch_size=full",
        "trainer.max_iter=3",
    )
    mini, _ = train(
        store, "model=mlp_sklearn", "optimizer=adam", "trainer.batch_size=16", "trainer.max_iter=3"
    )
    # many small steps per epoch descend much faster per epoch than one full-batch step
    assert mini.history[-1]["train_loss"] < 0.5 * full.history[-1]["train_loss"]


def test_synthetic_dataset_trains(store):
    result, _ = train(store, "dataset=synthetic", "trainer.max_iter=20")
    assert result.final["test_accuracy"] > 0.6  # 3 classes, class_sep 1.0


@needs_mnist
@pytest.mark.slow
def test_logreg_on_a_real_mnist_subset(store):
    result, _ = train(
        store, "dataset=mnist", "dataset.subset=6000", "trainer.max_iter=15", "optimizer=saga"
    )
    assert result.final["test_accuracy"] >= 0.88
