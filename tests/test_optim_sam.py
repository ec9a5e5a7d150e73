"""optbench/optim/sam.py, Sharpness-Aware Minimization: the model settings a SAM config gives,
the ascent step e (SAM: rho g / ||g||; ASAM: rho w^2 g / || |w| g ||) and the global norm
against NumPy float64, and one whole step of SAM and ASAM around plain SGD on optbench's softmax regression,
w - lr grad L(w + e), against the gradient written out in NumPy. Around momentum and Adam,
and on JAX and torch, the step is tests/test_reference_on_backends.py's."""

from __future__ import annotations

import math

import keras
import numpy as np
import pytest

from optbench.models.train_step import TrainStepModel
from optbench.optim.sam import global_norm, perturbation, step_settings
from optbench.schema import validate
from tests.conftest import compose_cfg

RNG = np.random.default_rng(0)
WEIGHTS = [RNG.normal(0, 1, (3, 2)), RNG.normal(0, 1, 2)]
GRADS = [RNG.normal(0, 1, (3, 2)), RNG.normal(0, 1, 2)]


def numpy_of(tensors) -> list[np.ndarray]:
    return [keras.ops.convert_to_numpy(t).astype(np.float64) for t in tensors]


def test_a_sam_config_sets_the_train_steps_rho_and_adaptive():
    settings = validate(
        compose_cfg("model=mlp", "optimizer=sam", "optimizer.rho=0.2", "optimizer.adaptive=true")
    )
    assert step_settings(settings.optimizer) == {"sam_rho": 0.2, "sam_adaptive": True}


def test_the_global_norm_is_over_every_entry_of_every_tensor():
    tensors = [keras.ops.convert_to_tensor(GRADS[0], "float16"), GRADS[1]]
    norm = global_norm(tensors)
    assert keras.backend.standardize_dtype(norm.dtype) == "float32"
    want = np.sqrt(np.sum(np.float16(GRADS[0]).astype(np.float64) ** 2) + np.sum(GRADS[1] ** 2))
    assert float(norm) == pytest.approx(want, rel=1e-6)


def test_the_sam_ascent_is_rho_along_the_normalised_gradient():
    ascent = numpy_of(perturbation(WEIGHTS, GRADS, 0.05, adaptive=False))
    norm = np.sqrt(sum(np.sum(g**2) for g in GRADS))
    for e, g in zip(ascent, GRADS, strict=True):
        np.testing.assert_allclose(e, 0.05 * g / norm, rtol=1e-5)
    assert np.sqrt(sum(np.sum(e**2) for e in ascent)) == pytest.approx(0.05, rel=1e-5)


def test_the_asam_ascent_is_scaled_by_the_squared_weights():
    ascent = numpy_of(perturbation(WEIGHTS, GRADS, 0.5, adaptive=True))
    norm = np.sqrt(sum(np.sum((np.abs(w) * g) ** 2) for w, g in zip(WEIGHTS, GRADS, strict=True)))
    for e, w, g in zip(ascent, WEIGHTS, GRADS, strict=True):
        np.testing.assert_allclose(e, 0.5 * w**2 * g / norm, rtol=1e-5)


@pytest.mark.parametrize("adaptive", [False, True])
def test_a_zero_gradient_gives_no_ascent_not_nan(adaptive):
    zeros = [np.zeros_like(g) for g in GRADS]
    for e in numpy_of(perturbation(WEIGHTS, zeros, 0.05, adaptive)):
        assert np.all(e == 0)


def _softmax_regression_grad(w, b, x, y):
    z = x @ w + b
    p = np.exp(z - z.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    p[np.arange(len(y)), y] -= 1.0
    return x.T @ p / len(y), p.mean(axis=0)


@pytest.mark.parametrize("adaptive", [False, True])
def test_sam_step_matches_the_hand_computed_update(adaptive, exact_float32):
    """One SAM step on softmax regression: ascend to w + rho g/||g||, take the gradient there,
    restore w, let SGD apply it. Checked against the gradient written out in NumPy."""
    from optbench.models.keras import build_model
    from optbench.optim.keras import build_optimizer

    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(16, 5)).astype("float32")
    y = rng.integers(0, 3, size=16)
    settings = validate(
        compose_cfg(
            "model=logreg",
            "optimizer=sam",
            "model.C=1e12",
            "optimizer.lr=0.5",
            "optimizer.rho=0.3",
            f"optimizer.adaptive={str(adaptive).lower()}",
        )
    )
    model = build_model(settings.model, 5, 3, 16, sam_rho=0.3, sam_adaptive=adaptive)
    w0 = rng.normal(size=(5, 3)).astype("float32")
    b0 = rng.normal(size=3).astype("float32")
    model.get_layer("softmax").set_weights([w0, b0])
    model.compile(
        optimizer=build_optimizer(settings.optimizer, 0.5), loss="sparse_categorical_crossentropy"
    )
    model.fit(x, y, batch_size=16, epochs=1, shuffle=False, verbose=0)

    w, b = w0.astype(float), b0.astype(float)
    gw, gb = _softmax_regression_grad(w, b, x.astype(float), y)
    if adaptive:
        norm = math.sqrt(np.sum((np.abs(w) * gw) ** 2) + np.sum((np.abs(b) * gb) ** 2))
        ew, eb = 0.3 * w**2 * gw / norm, 0.3 * b**2 * gb / norm
    else:
        norm = math.sqrt(np.sum(gw**2) + np.sum(gb**2))
        ew, eb = 0.3 * gw / norm, 0.3 * gb / norm
    gw2, gb2 = _softmax_regression_grad(w + ew, b + eb, x.astype(float), y)
    expected_w, expected_b = w - 0.5 * gw2, b - 0.5 * gb2
    got_w, got_b = model.get_layer("softmax").get_weights()
    np.testing.assert_allclose(got_w, expected_w, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(got_b, expected_b, rtol=1e-4, atol=1e-5)
    plain = w - 0.5 * gw  # and it is not plain SGD
    assert np.abs(got_w - plain).max() > 1e-3


def test_the_step_reports_the_loss_and_accuracy_at_w_not_at_the_ascended_point():
    rng = np.random.default_rng(1)
    x, y = rng.normal(0, 1, (16, 5)).astype("float32"), rng.integers(0, 3, 16)
    start = [rng.normal(0, 0.5, (5, 3)).astype("float32"), rng.normal(0, 0.5, 3).astype("float32")]
    inputs = keras.Input((5,))
    model = TrainStepModel(inputs, keras.layers.Dense(3, activation="softmax")(inputs), sam_rho=2.0)
    model.compile(
        optimizer=keras.optimizers.SGD(0.5),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    model.set_weights(start)
    logs = model.train_on_batch(x, y, return_dict=True)
    logits = x.astype(np.float64) @ start[0] + start[1]
    p = np.exp(logits - logits.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    assert logs["loss"] == pytest.approx(-np.mean(np.log(p[np.arange(16), y])), rel=1e-5)
    assert logs["accuracy"] == pytest.approx(np.mean(p.argmax(axis=1) == y))
