"""Keras models, built with the functional API on ``TrainStepModel`` (models/train_step.py: the
optimizer's own train step where it has one, and the gradient-norm probe)."""

from __future__ import annotations

from typing import Any


def regularizer(model: Any, n_train: int) -> Any:
    """scikit-learn's LogisticRegression penalty per sample, so Keras minimises the same
    objective: mean log-loss + (1 - l1_ratio) / (2 C n) ||W||^2 + l1_ratio / (C n) ||W||_1."""
    import keras

    scale = 1.0 / (model.C * n_train)
    l1, l2 = model.l1_ratio * scale, (1 - model.l1_ratio) * scale / 2
    if l1 == 0:
        return keras.regularizers.L2(l2)
    return keras.regularizers.L1L2(l1=l1, l2=l2)


def build_model(
    model: Any,
    input_dim: int,
    n_classes: int,
    n_train: int,
    input_shape: Any = None,
    **step: Any,
) -> Any:
    """logreg: one softmax Dense layer (zero-initialised, as scikit-learn starts); mlp:
    Flatten -> Dense(h, activation) per entry of hidden_sizes -> Dropout -> Dense(softmax);
    cnn_2c2d: DeepOBS's 2c2d (optbench/models/cnn.py) on the flat features reshaped to
    ``input_shape`` (the dataset's image shape). ``step`` goes to TrainStepModel (SAM
    settings)."""
    import keras

    from optbench.models.train_step import TrainStepModel

    inputs = keras.Input(shape=(input_dim,), name="features")
    if model.name == "logreg":
        outputs = keras.layers.Dense(
            n_classes,
            activation="softmax",
            use_bias=model.fit_intercept,
            kernel_initializer="zeros",
            kernel_regularizer=regularizer(model, n_train),
            dtype="float32",
            name="softmax",
        )(inputs)
    elif model.name == "cnn_2c2d":
        from optbench.models.cnn import image_shape, two_conv_two_dense

        shape = image_shape(input_shape, input_dim)
        outputs = two_conv_two_dense(model, inputs, shape, n_classes)
    else:
        x = keras.layers.Flatten()(inputs)
        for i, units in enumerate(model.hidden_sizes):
            x = keras.layers.Dense(
                units,
                activation=model.activation,
                kernel_initializer=model.init,
                name=f"hidden_{i}",
            )(x)
        if model.dropout > 0:
            x = keras.layers.Dropout(model.dropout)(x)
        outputs = keras.layers.Dense(
            n_classes, activation="softmax", dtype="float32", name="softmax"
        )(x)  # float32 output under mixed precision: a stable softmax and loss
    return TrainStepModel(inputs, outputs, name=model.name, **step)
