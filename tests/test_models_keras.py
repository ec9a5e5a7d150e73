"""optbench/models/keras.py, the Keras models: the logreg penalty scaled as scikit-learn's (a
value checked against the formula in float64), the layers each model is built from (names,
zero init, bias, dropout, the 2c2d reshape), the SAM settings reaching TrainStepModel, and the
initialisers' statistics."""

from __future__ import annotations

import math
from types import SimpleNamespace

import keras
import numpy as np
import pytest

from optbench.models.keras import build_model, regularizer
from optbench.models.train_step import TrainStepModel
from optbench.schema import validate
from tests.conftest import compose_cfg


def logreg(**settings) -> SimpleNamespace:
    return SimpleNamespace(
        **{"name": "logreg", "C": 1.0, "l1_ratio": 0.0, "fit_intercept": True, **settings}
    )


@pytest.mark.parametrize(
    ("C", "l1_ratio", "n_train"), [(1.0, 0.0, 1000), (2.0, 0.0, 50), (0.5, 0.3, 80), (1.0, 1.0, 10)]
)
def test_the_penalty_is_scikit_learns_per_sample(C, l1_ratio, n_train):
    """(1 - l1_ratio) / (2 C n) ||W||^2 + l1_ratio / (C n) ||W||_1, in float64 here."""
    w = np.random.default_rng(0).normal(size=(6, 3))
    penalty = regularizer(logreg(C=C, l1_ratio=l1_ratio), n_train)
    want = (1 - l1_ratio) / (2 * C * n_train) * np.sum(w**2) + l1_ratio / (C * n_train) * np.sum(
        np.abs(w)
    )
    assert float(penalty(keras.ops.convert_to_tensor(w, "float32"))) == pytest.approx(
        want, rel=1e-5
    )
    assert isinstance(penalty, keras.regularizers.L2 if l1_ratio == 0 else keras.regularizers.L1L2)


@pytest.mark.parametrize("fit_intercept", [True, False])
def test_logreg_is_one_zero_initialised_softmax_layer_with_the_penalty(fit_intercept):
    model = build_model(logreg(fit_intercept=fit_intercept), input_dim=5, n_classes=3, n_train=10)
    assert isinstance(model, TrainStepModel) and model.name == "logreg"
    (layer,) = [layer for layer in model.layers if layer.weights]
    assert layer.name == "softmax" and layer.dtype_policy.name == "float32"
    assert [tuple(w.shape) for w in layer.weights] == [(5, 3)] + ([(3,)] if fit_intercept else [])
    assert not np.any(layer.get_weights()[0])  # scikit-learn starts at zero
    assert float(layer.kernel_regularizer.l2) == pytest.approx(1 / (2 * 1.0 * 10))


def mlp(*overrides: str):
    return validate(compose_cfg("model=mlp", "optimizer=adam", *overrides)).model


def test_the_mlp_has_one_named_dense_layer_per_hidden_size_then_dropout_and_softmax():
    model = build_model(mlp("model.hidden_sizes=[16,8]", "model.dropout=0.25"), 64, 10, 100)
    names = [layer.name for layer in model.layers[1:]]
    assert names[1:3] == ["hidden_0", "hidden_1"] and names[-1] == "softmax"
    (dropout,) = [layer for layer in model.layers if isinstance(layer, keras.layers.Dropout)]
    assert dropout.rate == 0.25
    assert model.count_params() == (64 * 16 + 16) + (16 * 8 + 8) + (8 * 10 + 10)


def test_an_mlp_without_dropout_has_no_dropout_layer():
    model = build_model(mlp("model.dropout=0"), 64, 10, 100)
    assert not any(isinstance(layer, keras.layers.Dropout) for layer in model.layers)


def test_the_2c2d_reshapes_the_flat_features_to_the_datasets_image():
    settings = validate(
        compose_cfg(
            "model=cnn_2c2d",
            "model.conv1_filters=2",
            "model.conv2_filters=2",
            "model.dense_units=4",
        )
    )
    model = build_model(settings.model, 64, 10, 100, input_shape=(8, 8))
    assert tuple(model.get_layer("image").output.shape) == (None, 8, 8, 1)


def test_the_sam_settings_reach_the_train_step_model():
    model = build_model(logreg(), 4, 2, 10, sam_rho=0.05, sam_adaptive=True)
    assert (model.sam_rho, model.sam_adaptive) == (0.05, True)
    assert build_model(logreg(), 4, 2, 10).sam_rho == 0.0  # Keras's own step by default


@pytest.mark.parametrize(
    ("init", "std"),
    [
        ("he_normal", math.sqrt(2 / 784)),
        ("he_uniform", math.sqrt(2 / 784)),
        ("lecun_normal", math.sqrt(1 / 784)),
        ("glorot_uniform", math.sqrt(2 / (784 + 512))),
    ],
)
def test_init_statistics(init, std):
    from optbench.models.keras import build_model

    keras.utils.set_random_seed(0)
    settings = validate(
        compose_cfg("model=mlp", "optimizer=adam", f"model.init={init}", "model.hidden_sizes=[512]")
    )
    model = build_model(settings.model, 784, 10, 1000)
    kernel = model.get_layer("hidden_0").get_weights()[0]
    assert kernel.shape == (784, 512)
    assert kernel.std() == pytest.approx(std, rel=0.03)
    assert abs(kernel.mean()) < 0.05 * std
