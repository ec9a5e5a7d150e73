"""The scikit-learn trainer's loop, epoch by epoch, against the same estimator driven by hand:
per-step losses equal to the digit, evaluation cadence, the logged learning rate, timings,
the one-shot baseline, stop requests, divergence and the notes. Small synthetic splits keep
every fit in milliseconds."""

from __future__ import annotations

import itertools
import math
import signal
import threading
import time
import warnings

import numpy as np
import pytest
from sklearn.datasets import make_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.neural_network import MLPClassifier

from optbench.callbacks import Callback, CallbackList, DivergenceGuard
from optbench.data import Splits
from optbench.errors import OptbenchError
from optbench.schema import validate
from optbench.trainers.sklearn import SklearnTrainer, cross_entropy
from tests.conftest import compose_cfg

N_CLASSES = 3


def settings(*overrides: str):
    return validate(compose_cfg("trainer.progress=false", *overrides))


def toy_splits(n_classes: int = N_CLASSES) -> Splits:
    x, y = make_classification(
        n_samples=160,
        n_features=6,
        n_informative=4,
        n_classes=n_classes,
        n_clusters_per_class=1,
        random_state=0,
    )
    x = x.astype(np.float32)
    return Splits(
        x[:100], y[:100], x[100:130], y[100:130], x[130:], y[130:], {"n_classes": n_classes}
    )


def log_loss(estimator, x, y) -> float:
    """Mean negative log-likelihood of the true class, written out (no clipping needed here)."""
    proba = estimator.predict_proba(x)
    return float(-np.mean(np.log(proba[np.arange(len(y)), y])))


def accuracy(estimator, x, y) -> float:
    return float(np.mean(estimator.predict(x) == y))


class Recorder(Callback):
    """Records every event; optionally asks the loop to stop after ``stop_at``."""

    def __init__(self, stop_at: int | None = None):
        self.stop_at, self.events = stop_at, []

    def on_train_begin(self, state):
        super().on_train_begin(state)
        self.events.append(("begin", state.max_steps))

    def on_epoch_end(self, step, logs):
        self.events.append(("epoch", step, dict(logs)))
        if step == self.stop_at:
            self.state.request_stop("asked")

    def on_train_end(self, logs):
        self.events.append(("end", dict(logs)))


def fit(cfg, splits=None, *callbacks):
    return SklearnTrainer(cfg).fit(splits or toy_splits(), CallbackList(list(callbacks)))


def test_mlp_loop_is_partial_fit_epoch_by_epoch():
    cfg = settings(
        "model=mlp_sklearn",
        "model.hidden_sizes=[7]",
        "optimizer=adam",
        "optimizer.lr=0.01",
        "optimizer.beta_1=0.8",
        "trainer.max_iter=4",
        "trainer.batch_size=32",
        "seed=3",
    )
    splits, recorder = toy_splits(), Recorder()
    start = time.perf_counter()
    result = fit(cfg, splits, recorder)
    wall = time.perf_counter() - start
    by_hand = MLPClassifier(
        hidden_layer_sizes=(7,),
        activation="relu",
        alpha=1e-4,
        random_state=3,
        solver="adam",
        learning_rate_init=0.01,
        beta_1=0.8,
        beta_2=0.999,
        epsilon=1e-7,
        batch_size=32,
        tol=1e-4,
        n_iter_no_change=10,
    )
    assert [h["step"] for h in result.history] == [1, 2, 3, 4]
    for h in result.history:
        by_hand.partial_fit(splits.x_train, splits.y_train, classes=np.arange(N_CLASSES))
        assert h["train_loss"] == pytest.approx(log_loss(by_hand, splits.x_train, splits.y_train))
        assert h["val_loss"] == pytest.approx(log_loss(by_hand, splits.x_val, splits.y_val))
        assert h["val_accuracy"] == accuracy(by_hand, splits.x_val, splits.y_val)
        assert h["lr"] == 0.01  # Adam: the configured rate, not the bias-corrected step
    final = result.final
    assert final["test_loss"] == pytest.approx(log_loss(by_hand, splits.x_test, splits.y_test))
    assert final["test_accuracy"] == accuracy(by_hand, splits.x_test, splits.y_test)
    assert final["params_total"] == final["params_trainable"] == 6 * 7 + 7 + 7 * 3 + 3
    assert final["n_iter"] == 4 and "oneshot_train_loss" not in final
    # timings: cumulative fit time, evaluation excluded
    elapsed = [h["elapsed_s"] for h in result.history]
    assert elapsed[0] > 0 and all(b > a for a, b in itertools.pairwise(elapsed))
    assert elapsed[-1] < wall  # measured inside the call, without the evaluations
    assert final["fit_time_s"] == elapsed[-1]
    assert final["time_per_iter_s"] == pytest.approx(elapsed[-1] / 4)
    # callbacks saw the loop: begin with the budget, every epoch's logs, the final metrics
    assert recorder.events[0] == ("begin", 4)
    assert [e[1] for e in recorder.events[1:-1]] == [1, 2, 3, 4]
    assert recorder.events[1][2] == {k: v for k, v in result.history[0].items() if k != "step"}
    assert recorder.events[-1] == ("end", final)
    assert result.stop_reason == "max_iter" and not result.diverged
    assert result.notes == ["stopped at trainer.max_iter=4 before the loss converged."]


def test_validation_every_n_steps_and_always_at_the_last():
    cfg = settings(
        "model=mlp_sklearn", "optimizer=adam", "trainer.max_iter=5", "trainer.eval_every=2"
    )
    result = fit(cfg)
    assert [("val_loss" in h, "val_accuracy" in h) for h in result.history] == [
        (False, False),
        (True, True),
        (False, False),
        (True, True),
        (True, True),  # max_iter
    ]
    assert all("train_loss" in h and "lr" in h for h in result.history)


def test_a_callback_stop_ends_the_loop_after_that_step():
    cfg = settings("model=mlp_sklearn", "optimizer=adam", "trainer.max_iter=6")
    recorder = Recorder(stop_at=2)
    result = fit(cfg, None, recorder)
    assert [h["step"] for h in result.history] == [1, 2]
    assert result.final["n_iter"] == 2 and result.stop_reason == "asked"
    assert result.notes == []  # not stopped by max_iter


def test_sgd_invscaling_logs_the_scheduled_rate_each_epoch():
    cfg = settings(
        "model=mlp_sklearn",
        "optimizer=sgd",
        "optimizer.lr=0.2",
        "schedule=invscaling",
        "schedule.power_t=0.5",
        "trainer.batch_size=full",
        "trainer.max_iter=3",
    )
    result = fit(cfg)
    # full batch: one update per epoch, t = samples seen = epoch * 100
    assert [h["lr"] for h in result.history] == pytest.approx(
        [0.2 / (k * 100 + 1) ** 0.5 for k in (1, 2, 3)], rel=1e-12
    )


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")  # by-hand fits
def test_logreg_warm_start_loop_and_its_one_shot_baseline():
    cfg = settings(
        "optimizer=saga", "trainer.max_iter=3", "model.C=0.5", "trainer.early_stop.enabled=false"
    )
    splits = toy_splits()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = fit(cfg, splits)
    # the warm-start loop and the one-shot fit stop at max_iter on purpose: no warning
    assert not [w for w in caught if issubclass(w.category, ConvergenceWarning)]
    by_hand = LogisticRegression(
        C=0.5,
        l1_ratio=0.0,
        fit_intercept=True,
        random_state=0,
        solver="saga",
        warm_start=True,
        max_iter=1,
        tol=0.0,
    )
    for h in result.history:
        by_hand.fit(splits.x_train, splits.y_train)
        assert h["train_loss"] == pytest.approx(log_loss(by_hand, splits.x_train, splits.y_train))
        assert "lr" not in h
    assert result.final["params_total"] == 6 * 3 + 3
    oneshot = LogisticRegression(
        C=0.5, l1_ratio=0.0, random_state=0, solver="saga", max_iter=3, tol=0.0
    ).fit(splits.x_train, splits.y_train)
    loss = log_loss(oneshot, splits.x_train, splits.y_train)
    assert result.final["oneshot_train_loss"] == pytest.approx(loss)
    assert 0 < result.final["oneshot_fit_time_s"] < 10
    (note,) = result.notes
    assert note == (
        f"one continuous fit of 3 iterations reaches train_loss {loss:.4f} in "
        f"{result.final['oneshot_fit_time_s']:.2f} s vs {result.history[-1]['train_loss']:.4f} in "
        f"{result.final['fit_time_s']:.2f} s for the warm-start loop (which restarts the "
        "solver's memory every call)."
    )


def test_the_one_shot_baseline_runs_the_whole_budget_with_tol_0():
    """lbfgs would stop after 17 iterations at scikit-learn's default tol; tol=0 runs ~22."""
    cfg = settings("optimizer=lbfgs", "trainer.max_iter=25", "trainer.early_stop.enabled=false")
    splits = toy_splits()
    result = fit(cfg, splits)
    assert result.final["n_iter"] == 25
    oneshot = LogisticRegression(solver="lbfgs", max_iter=25, tol=0.0, random_state=0)
    oneshot.fit(splits.x_train, splits.y_train)
    loss = log_loss(oneshot, splits.x_train, splits.y_train)
    assert result.final["oneshot_train_loss"] == pytest.approx(loss, rel=1e-9)
    early = LogisticRegression(solver="lbfgs", max_iter=25, random_state=0)
    early.fit(splits.x_train, splits.y_train)
    assert log_loss(early, splits.x_train, splits.y_train) != pytest.approx(loss, rel=1e-9)


def test_lbfgs_loop_is_one_iteration_per_step_whatever_the_gradient():
    """tol=0: each warm-start fit takes its one lbfgs iteration even once the gradient is
    small (scikit-learn's tol would skip it)."""
    cfg = settings("optimizer=lbfgs", "trainer.max_iter=12", "trainer.early_stop.enabled=false")
    splits = toy_splits()
    result = fit(cfg, splits)
    by_hand = LogisticRegression(solver="lbfgs", warm_start=True, max_iter=1, tol=0.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for h in result.history:
            by_hand.fit(splits.x_train, splits.y_train)
            loss = log_loss(by_hand, splits.x_train, splits.y_train)
            assert h["train_loss"] == pytest.approx(loss, rel=1e-9), h["step"]


def test_scikit_learns_other_warnings_reach_the_user():
    """Only ConvergenceWarning (the loop stops each fit early on purpose) is silenced: a
    batch larger than the training set is still reported as clipped."""
    cfg = settings(
        "model=mlp_sklearn", "optimizer=adam", "trainer.batch_size=500", "trainer.max_iter=1"
    )
    with pytest.warns(UserWarning, match="clipped"):
        fit(cfg)


def test_ctrl_c_inside_an_mlp_epoch_stops_the_loop_without_sklearns_warning():
    """scikit-learn's partial_fit swallows KeyboardInterrupt (and warns); the loop still stops
    with KeyboardInterrupt after that epoch, and the warning is not shown."""

    class CtrlC(Callback):
        def on_epoch_end(self, step, logs):  # interrupt the next epoch's partial_fit
            if step == 1:
                self.timer = threading.Timer(0.05, signal.raise_signal, (signal.SIGINT,))
                self.timer.start()

    x, y = make_classification(
        n_samples=4000, n_features=20, n_classes=3, n_informative=5, random_state=0
    )
    splits = Splits(x[:3000], y[:3000], x[3000:], y[3000:], x[3000:], y[3000:], {"n_classes": 3})
    cfg = settings(
        "model=mlp_sklearn", "optimizer=sgd", "trainer.batch_size=4", "trainer.max_iter=100"
    )
    recorder, ctrl_c = Recorder(), CtrlC()
    handler = signal.getsignal(signal.SIGINT)
    try:
        with warnings.catch_warnings(record=True) as caught, pytest.raises(KeyboardInterrupt):
            warnings.simplefilter("always")
            fit(cfg, splits, recorder, ctrl_c)
    finally:
        ctrl_c.timer.cancel()
    assert [e[1] for e in recorder.events if e[0] == "epoch"] in ([1], [1, 2])
    assert not [w for w in caught if "interrupted" in str(w.message)]
    assert signal.getsignal(signal.SIGINT) is handler  # the guard put the handler back


def test_logreg_without_the_baseline_and_with_early_stopping_on():
    cfg = settings("optimizer=lbfgs", "trainer.max_iter=2", "trainer.oneshot_baseline=false")
    result = fit(cfg)
    assert "oneshot_train_loss" not in result.final
    assert result.notes == ["stopped at trainer.max_iter=2 before the loss converged."]


@pytest.mark.filterwarnings("error::RuntimeWarning")  # overflow is expected, not warned about
def test_a_blown_up_mlp_is_logged_as_nan_and_reported_diverged():
    cfg = settings("model=mlp_sklearn", "optimizer=sgd", "optimizer.lr=1e6", "trainer.max_iter=30")
    result = fit(cfg, None, DivergenceGuard())
    last = result.history[-1]
    assert result.diverged and result.stop_reason.startswith("diverged")
    assert len(result.history) < 30
    assert math.isnan(last["train_loss"]) and math.isnan(last["val_loss"])
    assert math.isnan(result.final["test_loss"]) and math.isnan(result.final["test_accuracy"])
    assert result.final["params_total"] == 6 * 100 + 100 + 100 * 3 + 3


@pytest.mark.filterwarnings("error::RuntimeWarning")
def test_steps_after_scikit_learn_refuses_non_finite_weights_are_logged_as_nan():
    """lr 1e10: the step-2 weights are finite but give NaN probabilities; from step 3 on,
    partial_fit raises 'non-finite parameter weights', caught: NaN losses and nothing else."""
    cfg = settings("model=mlp_sklearn", "optimizer=sgd", "optimizer.lr=1e10", "trainer.max_iter=4")
    result = fit(cfg)  # no DivergenceGuard: the loop runs on, as far as the trainer goes
    assert [h["step"] for h in result.history] == [1, 2, 3, 4]
    assert math.isfinite(result.history[0]["train_loss"])
    assert math.isnan(result.history[1]["train_loss"]) and "lr" in result.history[1]
    for h in result.history[2:]:  # (trainer.diagnostics: the weights' diag_*, non-finite)
        assert {k for k in h if not k.startswith("diag_")} == {
            "step", "train_loss", "val_loss", "elapsed_s"
        }  # fmt: skip
        assert math.isnan(h["train_loss"]) and math.isnan(h["val_loss"])
        assert h["diag_nonfinite"] > 0


def test_a_diverged_logreg_skips_the_one_shot_baseline():
    class Diverge(Callback):
        def on_epoch_end(self, step, logs):
            self.state.diverged = True
            self.state.request_stop("diverged: forced")

    result = fit(settings("optimizer=saga", "trainer.max_iter=3"), None, Diverge())
    assert "oneshot_train_loss" not in result.final and result.notes == []
    assert math.isnan(result.final["test_loss"])


def test_other_estimator_errors_are_not_mistaken_for_divergence():
    splits = toy_splits()
    splits.info["n_classes"] = 2  # labels 0..2 but classes=[0, 1]: scikit-learn refuses
    with pytest.raises(ValueError, match="classes"):
        fit(settings("model=mlp_sklearn", "optimizer=adam", "trainer.max_iter=2"), splits)


def test_logreg_refuses_a_batch_size():
    with pytest.raises(OptbenchError) as info:
        SklearnTrainer(settings("optimizer=saga", "trainer.batch_size=64"))
    assert str(info.value) == (
        "trainer.batch_size=64 does not apply to optimizer=saga on model=logreg (scikit-learn's "
        "solvers use the whole training set each iteration); leave it at 'auto'."
    )


def test_cross_entropy_maps_labels_to_the_estimators_classes():
    splits = toy_splits()
    model = LogisticRegression().fit(splits.x_train, splits.y_train + 5)  # classes 5, 6, 7
    loss, acc = cross_entropy(model, splits.x_val, splits.y_val + 5)
    assert loss == pytest.approx(log_loss(model, splits.x_val, splits.y_val))
    assert acc == accuracy(model, splits.x_val, splits.y_val + 5)


def test_the_diagnostics_probe_brackets_every_nth_iteration_of_the_loop():
    """trainer.diagnostics=basic (the default) every 2nd iteration from the first: a probed
    iteration's update is the change of the weights over that iteration alone (the same MLP
    driven by hand), dead ReLUs are counted on the first diagnostics_sample training examples,
    and the result carries the recorder's table, figure (titled as the run) and tags."""
    cfg = settings(
        "model=mlp_sklearn",
        "model.hidden_sizes=[16]",
        "optimizer=adam",
        "optimizer.lr=0.01",
        "trainer.max_iter=3",
        "trainer.batch_size=32",
        "seed=3",
        "trainer.diagnostics_every=2",
        "trainer.diagnostics_sample=5",
    )
    splits = toy_splits()
    result = fit(cfg, splits)
    by_hand = MLPClassifier(
        hidden_layer_sizes=(16,),
        alpha=1e-4,
        random_state=3,
        solver="adam",
        learning_rate_init=0.01,
        epsilon=1e-7,
        batch_size=32,
    )
    weights = []
    for _ in range(3):
        by_hand.partial_fit(splits.x_train, splits.y_train, classes=np.arange(N_CLASSES))
        weights.append([a.astype(float) for a in (*by_hand.coefs_, *by_hand.intercepts_)])

    def norm(arrays):
        return math.sqrt(sum(float(np.sum(a**2)) for a in arrays))

    first, second, third = result.history
    assert not any(k.startswith("diag_") for k in second)  # not probed
    assert "diag_update_norm" not in first  # scikit-learn's first fit: nothing before it
    assert first["diag_weight_norm"] == pytest.approx(norm(weights[0]), rel=1e-6)
    change = norm(a - b for a, b in zip(weights[2], weights[1], strict=True))
    assert third["diag_update_norm"] == pytest.approx(change, rel=1e-6)  # iteration 3 only
    assert third["diag_weight_norm"] == pytest.approx(norm(weights[2]), rel=1e-6)
    w0, b0 = weights[2][0], weights[2][2]
    hidden = np.maximum(splits.x_train[:5].astype(float) @ w0 + b0, 0.0)
    dead = float(np.mean(~np.any(hidden > 0, axis=0)))
    assert dead > 0 and third["diag_dead_relu"] == pytest.approx(dead)
    assert result.tags["optbench.diagnostics"] == "basic"
    assert "gradient" in result.tags["optbench.diagnostics.unavailable"]
    csv, png = result.artifacts
    assert csv.path == "diagnostics/diagnostics.csv"
    assert [line.split(",")[:2] for line in csv.text.splitlines()[1:]] == [
        [step, layer] for step in ("1", "3") for layer in ("hidden_0", "softmax", "all")
    ]
    assert png.path == "diagnostics/diagnostics.png"
    assert png.args[1] == f"mlp_sklearn · adam · {cfg.dataset.name}"


def test_diagnostics_off_probe_nothing():
    cfg = settings("model=mlp_sklearn", "trainer.max_iter=2", "trainer.diagnostics=off")
    result = fit(cfg)
    assert not any(k.startswith("diag_") for h in result.history for k in h)
    assert result.artifacts == [] and result.tags == {}
    assert result.notes == ["stopped at trainer.max_iter=2 before the loss converged."]
