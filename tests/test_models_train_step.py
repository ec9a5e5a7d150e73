"""optbench/models/train_step.py, TrainStepModel: its gradient norm is the global norm of the
training loss's gradient at the current weights (a softmax regression against the gradient
written out in NumPy float64), in inference mode, compiled once and still reading the weights
at each call; with sam_rho=0 its train step is exactly Keras's. SAM's step itself is
tests/test_optim_sam.py's and tests/test_reference_on_backends.py's."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from optbench.models.train_step import TrainStepModel

N, D, K = 12, 4, 3


def batch() -> tuple[np.ndarray, np.ndarray, list[np.ndarray]]:
    rng = np.random.default_rng(0)
    x = rng.normal(0, 1, (N, D)).astype("float32")
    y = rng.integers(0, K, N)
    return (
        x,
        y,
        [rng.normal(0, 0.5, (D, K)).astype("float32"), rng.normal(0, 0.5, K).astype("float32")],
    )


def gradient_norm(weights: list[np.ndarray], x: np.ndarray, y: np.ndarray) -> float:
    """||(X^T (P - Y) / n, mean(P - Y))|| of the mean softmax cross-entropy, in float64."""
    kernel, bias = (w.astype(np.float64) for w in weights)
    logits = x.astype(np.float64) @ kernel + bias
    p = np.exp(logits - logits.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    p[np.arange(len(y)), y] -= 1
    return float(np.sqrt(np.sum((x.T @ p / len(y)) ** 2) + np.sum(p.mean(axis=0) ** 2)))


def softmax_regression(cls: type = TrainStepModel, dropout: float = 0.0, **step) -> keras.Model:
    inputs = keras.Input((D,))
    x = keras.layers.Dropout(dropout, seed=1)(inputs) if dropout else inputs
    outputs = keras.layers.Dense(K, activation="softmax", name="softmax")(x)
    model = cls(inputs, outputs, **step)
    model.compile(optimizer=keras.optimizers.SGD(0.5), loss="sparse_categorical_crossentropy")
    model.set_weights(batch()[2])
    return model


def test_the_gradient_norm_is_that_of_the_loss_at_the_current_weights():
    x, y, start = batch()
    model = softmax_regression()
    assert model.gradient_norm(x, y) == pytest.approx(gradient_norm(start, x, y), rel=1e-5)
    moved = [w * 2 - 0.3 for w in start]
    model.set_weights(moved)  # the compiled function reads the weights again
    assert model.gradient_norm(x, y) == pytest.approx(gradient_norm(moved, x, y), rel=1e-5)
    assert gradient_norm(moved, x, y) != pytest.approx(gradient_norm(start, x, y), rel=1e-2)


def test_the_gradient_norm_is_measured_without_dropout():
    x, y, start = batch()
    model = softmax_regression(dropout=0.5)
    first, second = model.gradient_norm(x, y), model.gradient_norm(x, y)
    assert first == second == pytest.approx(gradient_norm(start, x, y), rel=1e-5)


def test_without_sam_the_step_is_keras_own():
    x, y, _ = batch()
    ours, plain = softmax_regression(sam_rho=0.0), softmax_regression(keras.Model)
    for model in (ours, plain):
        model.train_on_batch(x, y)
    for a, b in zip(ours.get_weights(), plain.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(ours.get_weights()[0], batch()[2][0])  # it did step
