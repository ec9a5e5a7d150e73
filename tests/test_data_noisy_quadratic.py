"""DeepOBS's quadratic_deep (dataset=quadratic_deep, model=landscape): the problem as DeepOBS
builds it, mini-batch gradients by seed, a suite run to its target, NumPy vs Keras."""

from __future__ import annotations

import math

import numpy as np
import pytest

from optbench.callbacks import CallbackList, DivergenceGuard
from optbench.data import load_dataset
from optbench.data.noisy_quadratic import deep_hessian, random_rotation, training_points
from optbench.errors import OptbenchError
from optbench.runner import prepare
from optbench.schema import validate
from optbench.trainers.landscape import LandscapeTrainer
from tests.conftest import client, compose_cfg, train


def surface(*overrides: str):
    settings = validate(compose_cfg("dataset=quadratic_deep", *overrides))
    return load_dataset(settings.dataset, settings.seed)


def walk(*overrides: str):
    settings = validate(compose_cfg("dataset=quadratic_deep", *overrides))
    data = load_dataset(settings.dataset, settings.seed)
    return LandscapeTrainer(settings).fit(data, CallbackList([DivergenceGuard()]))


def test_the_hessian_has_deepobs_spectrum_fixed_by_data_seed_and_seed_moves_the_batches():
    a, b = surface("seed=0"), surface("seed=1")
    q = a.function.hessian
    eigenvalues = np.linalg.eigvalsh(q)  # ascending
    assert q.shape == (100, 100) and np.array_equal(q, q.T)
    assert np.all((eigenvalues[:90] >= 0) & (eigenvalues[:90] <= 1))
    assert np.all((eigenvalues[90:] >= 30) & (eigenvalues[90:] <= 60))
    # DeepOBS's own matrix (its RandomState(42), checked against its random_rotation)
    assert np.trace(q) == pytest.approx(477.61227959501394, rel=1e-12)
    assert np.ones(100) @ q @ np.ones(100) == pytest.approx(535.0586859080723, rel=1e-12)
    assert a.points.shape == (1000, 100) and a.points[0, 0] == np.float32(0.6 * 0.4967141530112327)
    # the run's seed changes neither Q nor the points, only the order of the batches
    assert np.array_equal(q, b.function.hessian) and np.array_equal(a.points, b.points)
    first = [next(a.batches(seed)) for seed in (0, 0, 1)]
    assert first[0].shape == (128, 100) and np.array_equal(first[0], first[1])
    assert not np.array_equal(first[0], first[2])
    # an epoch: 7 disjoint batches of 128 (the last 104 points dropped), then a new order
    batches = a.batches(3)
    epoch = np.concatenate([next(batches) for _ in range(7)])
    assert len(np.unique(epoch, axis=0)) == 7 * 128
    assert not np.array_equal(next(batches), epoch[:128])
    other = surface("dataset.data_seed=1")
    assert not np.allclose(other.function.hessian, q) and not np.allclose(other.points, a.points)


def test_the_gradient_is_the_analytic_one_on_the_batch():
    s = surface()
    f, rng = s.function, np.random.default_rng(0)
    theta, batch = rng.normal(size=100), next(s.batches(0))
    expected = np.mean([f.hessian @ (theta - x) for x in batch], axis=0)
    np.testing.assert_allclose(f.batch_grad(theta, batch), expected, rtol=1e-12, atol=1e-12)
    h = 1e-3  # central differences are exact on a quadratic, up to rounding
    fd = [
        (f.batch_loss(theta + h * e, batch) - f.batch_loss(theta - h * e, batch)) / (2 * h)
        for e in np.eye(100)
    ]
    np.testing.assert_allclose(fd, expected, rtol=1e-6, atol=1e-6)
    # the step's gradient is that of the seed's next batch; the logged loss is noise-free
    assert np.array_equal(s.gradients(0)(theta), f.batch_grad(theta, batch))
    assert f(theta) == pytest.approx(0.5 * theta @ f.hessian @ theta + 0.18 * np.trace(f.hessian))
    assert f(np.zeros(100)) == pytest.approx(f.batch_loss(np.zeros(100), s.points), rel=0.02)


def test_the_rotation_is_in_the_special_orthogonal_group_of_its_dimension():
    for dim in (2, 3, 10):
        rotation = random_rotation(dim, np.random.RandomState(0))
        np.testing.assert_allclose(rotation @ rotation.T, np.eye(dim), atol=1e-12)
        assert np.linalg.det(rotation) == pytest.approx(1.0, abs=1e-12)
    again = random_rotation(10, np.random.RandomState(0))
    assert np.array_equal(again, random_rotation(10, np.random.RandomState(0)))


def test_the_hessian_has_exactly_the_eigenvalues_drawn_and_the_points_are_float32():
    q, eigenvalues = deep_hessian(0)
    assert eigenvalues.shape == (100,)
    np.testing.assert_allclose(np.linalg.eigvalsh(q), np.sort(eigenvalues), atol=1e-12, rtol=0)
    points = training_points(0)
    assert points.dtype == np.float64
    assert np.array_equal(points, points.astype(np.float32))  # float32 values, as DeepOBS's


def test_the_surface_starts_at_ones_with_the_configs_batches_and_no_minimum_to_reach():
    s = surface("dataset.batch_size=100")
    assert np.array_equal(s.start, np.ones(100)) and s.tolerance == 0.0
    assert s.sizes() == {"train": 1000} and s.batch_size == 100
    batches = s.batches(0)
    epoch = np.concatenate([next(batches) for _ in range(10)])  # 1000 / 100: nothing dropped
    assert len(np.unique(epoch, axis=0)) == 1000
    assert s.function.minima == () and s.function.distance_to_min(s.start) == math.inf
    assert s.info == {
        "name": "quadratic_deep",
        "source": "optbench.data.noisy_quadratic (DeepOBS quadratic_deep)",
    }


def test_a_suite_run_stops_at_its_target_without_plots(store):
    result, run = train(
        store,
        "+workload=quadratic_deep",
        "optimizer=sgd",  # the dataset's lr, 0.02
        "dataset.target.value=88",
        "trainer.animate=true",
        "tracking.helper_process=false",  # MLflow in this process: no second start-up
    )
    assert result.stop_reason == "target: train_loss reached 88"
    steps = result.final["steps_to_target"]
    assert steps == len(result.history) < 200  # SGD: about 120 steps
    assert result.history[-1]["train_loss"] <= 88 < result.history[-2]["train_loss"]
    # no plots of a 100-D walk: only the diagnostics table and heat map
    assert {a.path for a in result.artifacts} == {
        "diagnostics/diagnostics.csv",
        "diagnostics/diagnostics.png",
    }
    assert "no animation of a 100-D problem" in result.notes[0]
    record = client(store).get_run(run.run_id)
    assert record.data.metrics["steps_to_target"] == steps
    assert record.data.metrics["params_total"] == 100
    files = {a.path for a in client(store).list_artifacts(run.run_id)}
    assert "loss_curve.png" in files and "trajectory.csv" not in files


def test_numpy_and_keras_sgd_walk_the_same_path():
    common = ["optimizer=sgd", "trainer.max_iter=50", "seed=3"]
    ours, keras = walk(*common), walk(*common, "model.implementation=keras")
    losses = np.array([[h["train_loss"] for h in r.history] for r in (ours, keras)])
    np.testing.assert_allclose(losses[0], losses[1], rtol=1e-12)
    assert losses[0, -1] < 100 < 353.5  # from f(1, ..., 1) = 353.5
    other_seed = [h["train_loss"] for h in walk("optimizer=sgd", "trainer.max_iter=50").history]
    assert not np.allclose(other_seed, losses[0])  # seed=0's batches: another path


def test_quadratic_deep_is_a_landscape_dataset():
    with pytest.raises(OptbenchError, match="noisy test problem: train it with model=landscape"):
        prepare(compose_cfg("dataset=quadratic_deep", "model=logreg", "optimizer=saga"))
    with pytest.raises(OptbenchError, match=r"dataset\.batch_size"):
        prepare(compose_cfg("dataset=quadratic_deep", "dataset.batch_size=1001"))
