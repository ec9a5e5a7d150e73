"""optbench/models/cnn.py, DeepOBS's 2c2d network (model=cnn_2c2d): the image shape behind
the flat features (grey, colour, refused), the layers and DeepOBS's initialisation of the
model as built, its 3,274,634 parameters counted on the model itself; a small one learns real
MNIST end to end through the Keras trainer; the suite's mnist_2c2d workload composes with
DeepOBS's sizes; a dataset without images is refused before any work."""

from __future__ import annotations

import re

import keras
import numpy as np
import pytest

from optbench.errors import OptbenchError
from optbench.models.cnn import image_shape, two_conv_two_dense
from optbench.runner import prepare
from optbench.schema import validate
from optbench.suite import workloads
from tests.conftest import compose_cfg, needs_mnist
from tests.keras_support import fit

SMALL = ("model.conv1_filters=8", "model.conv2_filters=16", "model.dense_units=64")


def two_c_two_d_params(channels: int, f1: int, f2: int, units: int, side: int = 28) -> int:
    """5x5 kernels with biases, two 2x2 'same' poolings (28 -> 14 -> 7), two dense layers."""
    pooled = -(-side // 4)
    conv = (5 * 5 * channels + 1) * f1 + (5 * 5 * f1 + 1) * f2
    return conv + (pooled * pooled * f2 + 1) * units + (units + 1) * 10


@needs_mnist
def test_a_small_2c2d_learns_real_mnist_and_counts_its_parameters():
    """Conv 8/16, dense 64, 2 epochs of Adam (batch 32) on 6,000 MNIST images (5,400 to
    train). Measured on 2 shared CPU cores, seeds 0, 1, 2: val_accuracy 0.930, 0.948, 0.925
    (about 3 s of training each); the margin is 0.035 below the lowest."""
    result, _, splits = fit(
        "model=cnn_2c2d", *SMALL, "dataset.subset=6000", "optimizer=adam",
        "trainer.max_iter=2", "trainer.batch_size=32", "trainer.early_stop.enabled=false",
    )  # fmt: skip
    x = splits.x_train  # flat unit-scaled pixels; the model reshapes them to 28 x 28 x 1
    assert x.shape[1:] == (784,) and x.min() == 0 and x.max() == 1
    assert [h["step"] for h in result.history] == [1, 2] and not result.diverged
    assert result.history[-1]["train_loss"] < result.history[0]["train_loss"]
    assert result.history[-1]["val_accuracy"] >= 0.89
    # 208 + 3,216 (convolutions) + 50,240 (7 x 7 x 16 -> 64) + 650 (64 -> 10)
    assert result.final["params_total"] == result.final["params_trainable"] == 54_314
    assert two_c_two_d_params(1, 8, 16, 64) == 54_314


def test_the_workload_is_deepobs_2c2d_on_mnist_with_its_3_3_million_parameters():
    cfg = compose_cfg("+workload=mnist_2c2d")
    w = workloads.of_config("mnist_2c2d", cfg)
    assert (cfg.model.name, cfg.dataset.name, cfg.trainer.batch_size) == ("cnn_2c2d", "mnist", 128)
    assert (w.metric, w.unit) == ("val_accuracy", "epochs") and w.description
    m = cfg.model
    assert (m.conv1_filters, m.conv2_filters, m.dense_units) == (32, 64, 1024)
    assert two_c_two_d_params(1, 32, 64, 1024) == 3_274_634  # DeepOBS's mnist_2c2d


def test_a_dataset_without_images_is_refused_before_any_work():
    with pytest.raises(OptbenchError, match="model=cnn_2c2d needs images"):
        prepare(compose_cfg("model=cnn_2c2d", "dataset=synthetic"))


@pytest.mark.parametrize(
    ("input_shape", "input_dim", "shape"),
    [((28, 28), 784, (28, 28, 1)), ([32, 32, 3], 3072, (32, 32, 3)), ((8, 8), 64, (8, 8, 1))],
)
def test_the_image_shape_adds_a_channel_to_grey_images(input_shape, input_dim, shape):
    assert image_shape(input_shape, input_dim) == shape


@pytest.mark.parametrize(
    ("input_shape", "input_dim", "shown"),
    [(None, 20, "()"), ((28, 28), 785, "(28, 28)"), ((2, 2, 2, 2), 16, "(2, 2, 2, 2)")],
)
def test_features_that_are_not_that_image_are_refused(input_shape, input_dim, shown):
    with pytest.raises(
        OptbenchError, match=re.escape(f"{input_dim} features have the shape {shown}.")
    ):
        image_shape(input_shape, input_dim)


def built(*overrides: str) -> keras.Model:
    model = validate(compose_cfg("model=cnn_2c2d", *overrides)).model
    features = keras.Input((784,))
    return keras.Model(features, two_conv_two_dense(model, features, (28, 28, 1), 10))


def test_deepobs_2c2d_as_built_has_its_3_3_million_parameters():
    model = built()
    assert model.count_params() == two_c_two_d_params(1, 32, 64, 1024) == 3_274_634
    conv = [layer for layer in model.layers if isinstance(layer, keras.layers.Conv2D)]
    assert [(c.filters, c.kernel_size, c.padding) for c in conv] == [
        (32, (5, 5), "same"), (64, (5, 5), "same"),
    ]  # fmt: skip
    assert tuple(model.get_layer("pool_2").output.shape) == (None, 7, 7, 64)
    assert model.get_layer("softmax").dtype_policy.name == "float32"


def test_the_weights_start_as_deepobs_initialises_them():
    """Biases 0.05; kernels a normal of stddev 0.05 truncated at two of them."""
    keras.utils.set_random_seed(0)
    model = built(*SMALL)
    for layer in model.layers:
        if layer.weights:
            kernel, bias = layer.get_weights()
            assert np.all(bias == np.float32(0.05)), layer.name
            assert np.max(np.abs(kernel)) <= 0.1 and kernel.std() > 0.03, layer.name
