"""optbench/diagnostics/sklearn_probe.py, trainer.diagnostics on the scikit-learn trainer:
per-iteration weight and update norms from the public coefs_/intercepts_ (coef_/intercept_),
dead ReLU units from a NumPy forward pass, and a plain statement of what scikit-learn's
missing gradients leave unmeasured; on their own, the arrays and layer names read from an
estimator, NaN weights counted dead, and which iterations a probe brackets."""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.neural_network import MLPClassifier

from optbench.callbacks import Callback, CallbackList
from optbench.data import load_dataset
from optbench.data.splits import scale
from optbench.diagnostics.sklearn_probe import SklearnProbe, arrays_of, dead_units, layer_names
from optbench.runner import prepare
from optbench.schema.trainer import TrainerConfig
from optbench.trainers.base import RunResult
from tests.conftest import WatchedTrainer, client, compose_cfg, train

QUIET = ("dataset=digits", "trainer.early_stop.enabled=false", "tracking.helper_process=false")
MLP = ("model=mlp_sklearn", "optimizer=adam", "dataset=digits", "trainer.early_stop.enabled=false")


class Snapshots(Callback):
    """After every iteration, copies of the estimator's weights, input side first, per layer."""

    def __init__(self, trainer: WatchedTrainer):
        self.trainer, self.layers = trainer, []

    def on_epoch_end(self, step: int, logs: dict[str, float]) -> None:
        est = self.trainer.estimator
        if hasattr(est, "coefs_"):
            pairs = zip(est.coefs_, est.intercepts_, strict=True)
            self.layers.append([(w.astype(float), b.astype(float)) for w, b in pairs])
        else:
            self.layers.append([(est.coef_.astype(float), est.intercept_.astype(float))])


def fit_kept(*overrides: str) -> tuple[RunResult, list, Any]:
    """Train as a job does (no MLflow): (result, per-iteration weights, training inputs)."""
    settings = prepare(compose_cfg("trainer.progress=false", *overrides)).settings
    splits = scale(load_dataset(settings.dataset, settings.seed), settings.model.input_scaling)
    trainer = WatchedTrainer(settings)
    snapshots = Snapshots(trainer)
    result = trainer.fit(splits, CallbackList([snapshots]))
    return result, snapshots.layers, splits.x_train


def norm(*arrays: np.ndarray) -> float:
    return math.sqrt(sum(float(np.sum(np.square(a))) for a in arrays))


def flat(layers: list) -> list[np.ndarray]:
    return [a for pair in layers for a in pair]


def table(result: RunResult) -> list[dict[str, str]]:
    (text,) = [a.text for a in result.artifacts if a.path == "diagnostics/diagnostics.csv"]
    return list(csv.DictReader(io.StringIO(text)))


def test_logreg_logs_diagnostics_per_step_a_table_and_what_it_cannot_measure(store, tmp_path):
    _, run = train(store, "model=logreg", "optimizer=saga", "trainer.max_iter=5", *QUIET)
    mlflow = client(store)

    def steps(key: str) -> list[int]:
        return [m.step for m in mlflow.get_metric_history(run.run_id, key)]

    assert steps("diag_weight_norm") == steps("diag_dist_init") == [1, 2, 3, 4, 5]
    assert steps("diag_update_ratio") == steps("diag_update_norm") == [2, 3, 4, 5]  # 1: no before
    record = mlflow.get_run(run.run_id)
    assert not any(k.startswith(("diag_grad", "diag_dead")) for k in record.data.metrics)
    assert record.data.metrics["diag_dist_init"] > 0
    tags = record.data.tags
    assert tags["optbench.diagnostics"] == "basic"
    assert "gradient" in tags["optbench.diagnostics.unavailable"]
    assert "runs as basic" not in tags["optbench.diagnostics.unavailable"]
    local = Path(mlflow.download_artifacts(run.run_id, "diagnostics", str(tmp_path)))
    assert (local / "diagnostics.png").read_bytes().startswith(b"\x89PNG")
    rows = list(csv.DictReader((local / "diagnostics.csv").open()))
    assert [(r["step"], r["layer"]) for r in rows] == [
        (str(s), layer) for s in range(1, 6) for layer in ("softmax", "all")
    ]
    losses = mlflow.get_metric_history(run.run_id, "train_loss")
    whole = [r for r in rows if r["layer"] == "all"]
    assert [float(r["loss"]) for r in whole] == pytest.approx([m.value for m in losses])
    assert {r["grad_norm"] for r in rows} == {""} and {r["lr"] for r in rows} == {""}


def test_logreg_update_norm_is_the_change_of_coef_in_that_iteration():
    result, layers, _ = fit_kept("model=logreg", "optimizer=sag", "trainer.max_iter=4", *QUIET)
    first = flat(layers[0])
    for h, before, after in zip(result.history[1:], layers[:-1], layers[1:], strict=True):
        change = norm(*(a - b for a, b in zip(flat(after), flat(before), strict=True)))
        assert h["diag_update_norm"] == pytest.approx(change, rel=1e-9)
        assert h["diag_update_ratio"] == pytest.approx(change / norm(*flat(before)), rel=1e-9)
        assert h["diag_weight_norm"] == pytest.approx(norm(*flat(after)), rel=1e-9)
        dist = norm(*(a - b for a, b in zip(flat(after), first, strict=True)))
        assert h["diag_dist_init"] == pytest.approx(dist, rel=1e-9)
    assert result.history[0]["diag_dist_init"] == 0.0  # measured from the first iteration's


def test_mlp_update_norms_per_layer_are_the_change_of_coefs_and_intercepts():
    result, layers, _ = fit_kept(
        *MLP, "model.hidden_sizes=[32,16]", "trainer.max_iter=5", "trainer.diagnostics_every=2"
    )
    rows = table(result)
    names = ["hidden_0", "hidden_1", "softmax", "all"]
    assert [(int(r["step"]), r["layer"]) for r in rows] == [
        (s, n) for s in (1, 3, 5) for n in names
    ]  # every 2 iterations, from the first
    by = {(int(r["step"]), r["layer"]): r for r in rows}
    for step in (3, 5):  # the change over that one iteration, not since the last probe
        before, after = layers[step - 2], layers[step - 1]
        for name, b, a in zip(names, before, after, strict=False):
            change = norm(a[0] - b[0], a[1] - b[1])
            assert float(by[step, name]["update_norm"]) == pytest.approx(change, rel=1e-9)
            assert float(by[step, name]["weight_norm"]) == pytest.approx(norm(*a), rel=1e-9)
        whole = norm(*(x - y for x, y in zip(flat(after), flat(before), strict=True)))
        assert float(by[step, "all"]["update_norm"]) == pytest.approx(whole, rel=1e-9)
        assert float(by[step, "all"]["lr"]) == 0.001
        assert float(by[step, "all"]["loss"]) == result.history[step - 1]["train_loss"]
    logged = [h["step"] for h in result.history if "diag_weight_norm" in h]
    assert logged == [1, 3, 5]


def test_mlp_dead_relu_shares_from_a_forward_pass_of_the_public_weights():
    result, layers, x_train = fit_kept(
        *MLP, "model.hidden_sizes=[32,16]", "trainer.max_iter=2", "trainer.diagnostics_sample=100"
    )
    weights = flat(layers[-1])
    h, dead = x_train[:100].astype(float), []
    for w, b in layers[-1][:-1]:
        h = np.maximum(h @ w + b, 0)
        dead.append(np.all(h == 0, axis=0))
    shares = {r["layer"]: r["dead_relu"] for r in table(result) if r["step"] == "2"}
    assert float(shares["hidden_0"]) == pytest.approx(dead[0].mean())
    assert float(shares["hidden_1"]) == pytest.approx(dead[1].mean())
    assert float(shares["all"]) == pytest.approx(np.concatenate(dead).mean())
    assert shares["softmax"] == ""  # the output layer is no ReLU layer
    # three units switched off by a bias no example overcomes: dead, the others alive
    killed = [a.copy() for a in weights]
    killed[1][:3] = -1e6
    assert dead_units(killed, x_train[:100])["hidden_0"] == pytest.approx(
        np.mean(dead[0] | (np.arange(32) < 3))
    )


def test_a_tanh_mlp_has_no_dead_relu_and_levels_above_basic_run_as_basic():
    result, _, _ = fit_kept(
        *MLP, "model.activation=tanh", "trainer.max_iter=2", "trainer.diagnostics=curvature"
    )
    assert {"diag_weight_norm", "diag_update_ratio", "lr"} <= result.history[-1].keys()
    assert not any(k.startswith(("diag_dead", "diag_grad", "diag_sharp", "diag_noise"))
                   for h in result.history for k in h)  # fmt: skip
    assert result.tags["optbench.diagnostics"] == "curvature"
    cannot = result.tags["optbench.diagnostics.unavailable"]
    assert "gradient" in cannot and "curvature runs as basic" in cannot


def test_a_diverged_mlp_is_flagged_diverging():
    result, _, _ = fit_kept(*MLP, "optimizer=sgd", "optimizer.lr=1e12", "trainer.max_iter=2")
    assert result.history[0]["diag_nonfinite"] > 0
    assert "diverging" in result.tags["optbench.diagnostics.flags"].split(",")
    assert any(n.startswith("diagnostics flagged diverging") for n in result.notes)


def test_diagnostics_off_log_nothing(store):
    result, run = train(
        store, "model=mlp_sklearn", "optimizer=adam", "trainer.max_iter=3", "trainer.diagnostics=off",
        *QUIET,
    )  # fmt: skip
    record = client(store).get_run(run.run_id)
    assert not any(k.startswith("diag_") for k in record.data.metrics)
    assert not any(k.startswith("optbench.diagnostics") for k in record.data.tags)
    assert "diagnostics" not in {a.path for a in client(store).list_artifacts(run.run_id)}
    assert result.artifacts == [] and not any(k.startswith("diag_") for k in result.history[-1])


# --- the probe's pieces on their own -------------------------------------------------------


@pytest.fixture(scope="module")
def digits():
    x, y = load_digits(return_X_y=True)
    return x[:200] / 16, y[:200]


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")  # one epoch
def test_an_mlps_arrays_are_copies_input_side_first_named_hidden_then_softmax(digits):
    mlp = MLPClassifier(hidden_layer_sizes=(8, 4), max_iter=1, random_state=0)
    assert arrays_of(mlp) is None  # not fitted yet
    mlp.partial_fit(*digits, classes=np.arange(10))
    arrays = arrays_of(mlp)
    assert [a.shape for a in arrays] == [(64, 8), (8,), (8, 4), (4,), (4, 10), (10,)]
    assert all(a.dtype == np.float64 for a in arrays)
    assert layer_names(mlp) == {"hidden_0": [0, 1], "hidden_1": [2, 3], "softmax": [4, 5]}
    mlp.coefs_[0][:] = 0  # the estimator goes on training in place: the probe keeps its own
    assert np.any(arrays[0])


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")  # 3 iterations
@pytest.mark.parametrize("fit_intercept", [True, False])
def test_logistic_regression_is_one_softmax_layer_with_its_intercept_if_fitted(
    digits, fit_intercept
):
    logreg = LogisticRegression(max_iter=3, fit_intercept=fit_intercept).fit(*digits)
    shapes = [a.shape for a in arrays_of(logreg)]
    assert shapes == ([(10, 64), (10,)] if fit_intercept else [(10, 64)])
    assert layer_names(logreg) == {"softmax": [0, 1] if fit_intercept else [0]}


def test_nan_weights_count_as_dead_units():
    arrays = [np.array([[1.0, np.nan, -1.0]]), np.zeros(3), np.ones((3, 2)), np.zeros(2)]
    shares = dead_units(arrays, np.array([[1.0], [2.0]]))
    assert shares == {"hidden_0": 2 / 3, "all": 2 / 3}  # unit 2 never fires, unit 1 is NaN


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")  # one iteration a fit
def test_a_probe_brackets_every_nth_iteration_from_the_first(digits):
    trainer = TrainerConfig(diagnostics="basic", diagnostics_every=2, max_iter=10)
    logreg = LogisticRegression(max_iter=1, warm_start=True)
    probe = SklearnProbe(trainer, logreg, digits[0])
    assert [s for s in range(1, 8) if probe.due(s)] == [1, 3, 5, 7]
    probe.before(1, logreg)  # not fitted yet: the first probe has no update
    logreg.fit(*digits)
    first = probe.after(1, logreg, {"train_loss": 2.0})
    assert first["diag_dist_init"] == 0 and "diag_update_norm" not in first
    probe.before(2, logreg)
    logreg.fit(*digits)
    assert probe.after(2, logreg, {"train_loss": 1.5}) == {}  # not due: nothing recorded
    probe.before(3, logreg)
    before = arrays_of(logreg)
    logreg.fit(*digits)
    third = probe.after(3, logreg, {"train_loss": 1.0, "lr": 0.5})
    change = norm(*(a - b for a, b in zip(arrays_of(logreg), before, strict=True)))
    assert third["diag_update_norm"] == pytest.approx(change, rel=1e-12)
    whole = [r for r in probe.recorder.rows if r["layer"] == "all"]
    assert [(r["step"], r["loss"], r.get("lr")) for r in whole] == [(1, 2.0, None), (3, 1.0, 0.5)]
