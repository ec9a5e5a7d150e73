"""trainer.diagnostics on model=landscape: the point is one layer, measured with the gradient
each step takes; a walk that blows up is flagged."""

from __future__ import annotations

import csv
import io
import math

import numpy as np
import pytest

from optbench.callbacks import CallbackList, DivergenceGuard
from optbench.data import load_dataset
from optbench.schema import validate
from optbench.trainers.base import RunResult
from optbench.trainers.landscape import LandscapeTrainer
from tests.conftest import client, compose_cfg, train


def walk(*overrides: str) -> RunResult:
    settings = validate(compose_cfg(*overrides))
    data = load_dataset(settings.dataset, settings.seed)
    return LandscapeTrainer(settings).fit(data, CallbackList([DivergenceGuard()]))


def text(result: RunResult, path: str) -> str:
    (found,) = [a.text for a in result.artifacts if a.path == path]
    return found


def trajectory(result: RunResult) -> np.ndarray:
    rows = list(csv.DictReader(io.StringIO(text(result, "trajectory.csv"))))
    return np.array([[float(r["x"]), float(r["y"])] for r in rows])


def test_rosenbrock_diagnostics_in_mlflow_match_the_logged_gradient_and_the_trajectory(store):
    result, run = train(
        store, "dataset=rosenbrock", "optimizer=adam", "trainer.max_iter=40",
        "tracking.helper_process=false",
    )  # fmt: skip
    mlflow = client(store)

    def history(key: str) -> list[tuple[int, float]]:
        return sorted((m.step, m.value) for m in mlflow.get_metric_history(run.run_id, key))

    logged = history("grad_norm")  # ||g|| by np.linalg.norm: the same to the last bits
    assert history("diag_grad_norm") == [(s, pytest.approx(v, rel=1e-14)) for s, v in logged]
    assert [s for s, _ in history("diag_update_norm")] == list(range(1, 41))
    path = trajectory(result)  # row 0: the start
    steps = np.linalg.norm(np.diff(path, axis=0), axis=1)
    np.testing.assert_allclose([v for _, v in history("diag_update_norm")], steps, rtol=1e-12)
    ratio = steps / np.linalg.norm(path[:-1], axis=1)
    np.testing.assert_allclose([v for _, v in history("diag_update_ratio")], ratio, rtol=1e-12)
    np.testing.assert_allclose(
        [v for _, v in history("diag_weight_norm")], np.linalg.norm(path[1:], axis=1), rtol=1e-12
    )
    np.testing.assert_allclose(
        [v for _, v in history("diag_dist_init")],
        np.linalg.norm(path[1:] - path[0], axis=1),
        rtol=1e-12,
    )
    record = mlflow.get_run(run.run_id)
    assert "diag_dead_relu" not in record.data.metrics
    assert record.data.metrics["diag_nonfinite"] == 0
    tags = record.data.tags
    assert tags["optbench.diagnostics"] == "basic"
    assert "noise" in tags["optbench.diagnostics.unavailable"]
    assert "curvature" in tags["optbench.diagnostics.unavailable"]
    files = {a.path for a in mlflow.list_artifacts(run.run_id, "diagnostics")}
    assert files == {"diagnostics/diagnostics.csv", "diagnostics/diagnostics.png"}
    rows = list(csv.DictReader(io.StringIO(text(result, "diagnostics/diagnostics.csv"))))
    assert [(r["step"], r["layer"]) for r in rows] == [
        (str(s), layer) for s in range(1, 41) for layer in ("xy", "all")
    ]
    whole = [r for r in rows if r["layer"] == "all"]
    assert [float(r["loss"]) for r in whole] == [h["train_loss"] for h in result.history]
    assert {r["lr"] for r in whole} == {"0.05"}


@pytest.mark.parametrize("implementation", ["numpy", "keras"])
def test_every_third_step_measures_that_steps_update(implementation):
    result = walk(
        "dataset=himmelblau", "optimizer=momentum", "trainer.max_iter=10",
        "trainer.diagnostics_every=3", f"model.implementation={implementation}",
    )  # fmt: skip
    probed = [h for h in result.history if "diag_update_norm" in h]
    assert [h["step"] for h in probed] == [1, 4, 7, 10]
    path = trajectory(result)
    for h in probed:
        s = h["step"]
        assert h["diag_update_norm"] == pytest.approx(np.linalg.norm(path[s] - path[s - 1]))
        assert h["diag_grad_norm"] == pytest.approx(h["grad_norm"], rel=1e-14)
    assert not any(k.startswith("diag_") for h in result.history if h["step"] % 3 != 1 for k in h)


def test_a_diverging_walk_is_flagged(store):
    result, run = train(store, "dataset=rosenbrock", "optimizer=sgd", "optimizer.lr=1.0")
    assert result.diverged and len(result.history) < 20
    flags = client(store).get_run(run.run_id).data.tags["optbench.diagnostics.flags"].split(",")
    assert {"diverging", "exploding"} & set(flags), flags
    assert result.history[-1]["diag_update_ratio"] >= 1  # a step larger than the point
    assert any(n.startswith("diagnostics flagged") for n in result.notes)


def test_a_converging_walk_raises_no_divergence():
    result = walk("dataset=ill_conditioned_quadratic", "optimizer=momentum")
    assert result.final["distance_to_min"] < 1e-2
    flags = result.tags["optbench.diagnostics.flags"].split(",")
    assert "diverging" not in flags and "exploding" not in flags, flags


def test_the_noisy_quadratic_is_one_n_d_layer_and_levels_above_basic_run_as_basic():
    result = walk("dataset=quadratic_deep", "optimizer=sgd", "trainer.max_iter=5",
                  "trainer.diagnostics=noise")  # fmt: skip
    rows = list(csv.DictReader(io.StringIO(text(result, "diagnostics/diagnostics.csv"))))
    assert {r["layer"] for r in rows} == {"w", "all"}
    for h in result.history:
        assert h["diag_grad_norm"] == pytest.approx(h["grad_norm"], rel=1e-14)
    assert all(math.isfinite(h["diag_update_ratio"]) for h in result.history)
    assert not any(k in h for h in result.history for k in ("diag_noise_scale", "diag_grad_snr"))
    assert "noise runs as basic" in result.tags["optbench.diagnostics.unavailable"]
    assert {a.path for a in result.artifacts} == {
        "diagnostics/diagnostics.csv",
        "diagnostics/diagnostics.png",
    }  # and still no trajectory of a 100-D walk


def test_diagnostics_off_logs_no_diagnostics():
    result = walk("dataset=rosenbrock", "trainer.max_iter=5", "trainer.diagnostics=off")
    assert not any(k.startswith("diag_") for h in result.history for k in h)
    assert not any(a.path.startswith("diagnostics/") for a in result.artifacts)
    assert not any(k.startswith("optbench.diagnostics") for k in result.tags)
    assert {"grad_norm", "lr", "train_loss"} <= result.history[-1].keys()


@pytest.mark.parametrize(
    ("dataset", "optimizer"),
    [("himmelblau", "adam"), ("himmelblau", "nesterov"), ("ill_conditioned_quadratic", "adam")],
)
def test_a_walk_that_oscillates_at_a_minimum_of_zero_is_not_diverging(dataset, optimizer):
    """Near a minimum where f = 0 an oscillating loss doubles its lowest value without
    diverging: the rule also wants it above where the walk started."""
    result = walk(f"dataset={dataset}", f"optimizer={optimizer}")
    assert result.final["distance_to_min"] < 1e-3
    assert "diverging" not in result.tags["optbench.diagnostics.flags"].split(",")
