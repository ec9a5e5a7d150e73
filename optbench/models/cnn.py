"""DeepOBS's 2c2d network (Schneider et al., 2019, "DeepOBS: A Deep Learning Optimizer
Benchmark Suite", test problems mnist_2c2d and fmnist_2c2d), in Keras.

Conv(32, 5x5, same, relu) -> MaxPool(2x2, stride 2) -> Conv(64, 5x5, same, relu) ->
MaxPool(2x2, stride 2) -> Flatten -> Dense(1024, relu) -> Dense(n_classes, softmax), with
DeepOBS's initialisation (weights truncated normal, stddev 0.05; biases 0.05): 3,274,634
parameters on MNIST. The trainer feeds flattened, scaled pixels; the model reshapes them back
to the image first."""

from __future__ import annotations

import math
from typing import Any

from optbench.errors import OptbenchError

KERNEL, POOL = 5, 2


def image_shape(input_shape: Any, input_dim: int) -> tuple[int, int, int]:
    """(height, width, channels) of the images behind ``input_dim`` flattened features; the
    dataset's ``input_shape`` is (h, w) for grey images, (h, w, c) for colour ones."""
    shape = tuple(int(n) for n in input_shape or ())
    if len(shape) == 2:
        shape = (*shape, 1)
    if len(shape) != 3 or math.prod(shape) != input_dim:
        raise OptbenchError(
            f"model=cnn_2c2d needs images (dataset=mnist, digits or cifar10); this dataset's "
            f"{input_dim} features have the shape {tuple(input_shape or ())}."
        )
    return shape  # type: ignore[return-value]


def two_conv_two_dense(model: Any, features: Any, shape: tuple[int, int, int], n_classes: int):
    """The 2c2d's output (class probabilities, float32) on the flat ``features`` input."""
    import keras

    init = {
        "kernel_initializer": keras.initializers.TruncatedNormal(stddev=0.05),
        "bias_initializer": keras.initializers.Constant(0.05),
    }
    x = keras.layers.Reshape(shape, name="image")(features)
    for i, filters in enumerate((model.conv1_filters, model.conv2_filters), start=1):
        x = keras.layers.Conv2D(
            filters, KERNEL, padding="same", activation="relu", name=f"conv_{i}", **init
        )(x)
        x = keras.layers.MaxPooling2D(POOL, strides=POOL, padding="same", name=f"pool_{i}")(x)
    x = keras.layers.Flatten()(x)
    x = keras.layers.Dense(model.dense_units, activation="relu", name="hidden_0", **init)(x)
    # float32 output under mixed precision: a stable softmax and loss
    return keras.layers.Dense(
        n_classes, activation="softmax", dtype="float32", name="softmax", **init
    )(x)
