"""Transfer learning: a keras.applications backbone (no top) with ImageNet, random or
file weights (optbench.models.backbones finds them), and a small head. The backbone is frozen
by default and then always called with ``training=False`` so its BatchNorm statistics stay put.

Pieces, so that the feature cache and end-to-end training share them exactly:
``extractor`` (uint8 images -> [augment] -> resize -> the backbone's own ``preprocess_input``
-> backbone -> global average pooling) and ``head_layers`` (dropout -> [Dense] -> softmax, with
seeded initializers, so the head starts the same whichever way it is built)."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import keras

from optbench import backends
from optbench.errors import OptbenchError
from optbench.models.backbones import BACKBONES, find_weights, imagenet_file, search_folders

IMAGE_SHAPE = (32, 32, 3)


def imagenet_weights(name: str, size: int, download: bool) -> Path:
    """The cached ImageNet weights file, fetched by Keras's get_file (with its checksum) when
    missing; offline, the error names the file, the URL and the folder to put it in."""
    backbone = BACKBONES[name]
    url = backbone.weights_url.format(size=size)
    path = imagenet_file(name, size)
    filename = path.name
    if path.is_file():
        return path
    why = "Downloading is off (model.download_weights=false)."
    if download:
        try:
            fetched = keras.utils.get_file(
                filename, url, cache_subdir="models", file_hash=backbone.weights_hash
            )
            return Path(fetched)
        except Exception as exc:  # Keras raises a bare Exception on URL failures
            why = f"Download failed ({exc})."
    raise OptbenchError(
        f"ImageNet weights for {name} at input size {size} are not cached. {why} Download "
        f"{url} and put it at {path} (the folder is $KERAS_HOME/models, default "
        "~/.keras/models), or use model.weights=/path/to/file.h5, or model.weights=null for "
        "random initialisation."
    )


def weights_path(model: Any, data_dir: str | None = None) -> Path | None:
    """The weights file the backbone loads (None: random init); a relative model.weights is
    found in ``data_dir``, then in the working directory."""
    if model.weights is None:
        return None
    if model.weights == "imagenet":
        return imagenet_weights(model.name, model.input_size, model.download_weights)
    path = find_weights(model.weights, data_dir)
    if path is None:
        folders = ", ".join(map(str, search_folders(data_dir)))
        raise OptbenchError(f"model.weights: no file {model.weights} in {folders}.")
    return path


def build_backbone(model: Any, seed: int, data_dir: str | None = None) -> Any:
    """The backbone (include_top=False, no pooling) at ``model.input_size``, weights loaded
    (a relative model.weights from ``data_dir``) and checked against its layers (a mismatch
    is a config error naming the file)."""
    if model.name not in BACKBONES:
        raise OptbenchError(
            f"model={model.name} is not a backbone; those are: {', '.join(BACKBONES)}."
        )
    backends.set_random_seed(seed)  # random init (weights=null) depends on the run's seed
    constructor = getattr(keras.applications, BACKBONES[model.name].constructor)
    size = model.input_size
    backbone = constructor(include_top=False, weights=None, input_shape=(size, size, 3))
    path = weights_path(model, data_dir)
    if path is not None:
        problem = ""
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                backbone.load_weights(str(path))
            except (ValueError, KeyError, OSError) as exc:
                problem = f"{type(exc).__name__}: {str(exc).splitlines()[0][:300]}"
        # Keras only warns when layers of the file are missing, leaving them random
        skipped = [str(w.message) for w in caught if "Skipping" in str(w.message)]
        if problem or skipped:
            raise OptbenchError(
                f"model.weights: {path} does not fit {model.name} at input size {size} "
                f"({problem or skipped[0].splitlines()[0][:300]})."
            )
    return backbone


@keras.saving.register_keras_serializable(package="optbench")
class Preprocess(keras.layers.Layer):
    """The backbone's own ``keras.applications.<module>.preprocess_input`` (pixels 0-255)."""

    def __init__(self, module: str, **kwargs: Any):
        super().__init__(**kwargs)
        self.module = module
        self.fn = getattr(keras.applications, module).preprocess_input

    def call(self, x: Any) -> Any:
        return self.fn(keras.ops.cast(x, "float32"))

    def get_config(self) -> dict:
        return {**super().get_config(), "module": self.module}


def extractor(model: Any, backbone: Any, seed: int) -> Any:
    """uint8 images (32x32x3) -> pooled backbone features (the feature cache's function)."""
    inputs = keras.Input(shape=IMAGE_SHAPE, name="image")
    x = keras.ops.cast(inputs, "float32")
    if model.augment:
        x = keras.layers.RandomFlip("horizontal", seed=seed)(x)
        x = keras.layers.RandomTranslation(0.1, 0.1, seed=seed)(x)
    if model.input_size != IMAGE_SHAPE[0]:
        x = keras.layers.Resizing(model.input_size, model.input_size, name="resize")(x)
    x = Preprocess(BACKBONES[model.name].module, name="preprocess")(x)
    x = backbone(x, training=False if model.freeze else None)
    features = keras.layers.GlobalAveragePooling2D(name="pool")(x)
    return keras.Model(inputs, features, name=f"{model.name}_features")


def head_layers(head: Any, n_classes: int, seed: int) -> list:
    """dropout -> [Dense(h)] -> Dense(n_classes, softmax); seeded, so building it twice gives
    the same starting weights and the same dropout masks."""
    layers: list = []
    if head.dropout > 0:
        layers.append(keras.layers.Dropout(head.dropout, seed=seed, name="head_dropout"))
    for i, units in enumerate(head.hidden_sizes):
        layers.append(
            keras.layers.Dense(
                units,
                activation=head.activation,
                kernel_initializer=keras.initializers.GlorotUniform(seed=seed + 1 + i),
                name=f"head_hidden_{i}",
            )
        )
    layers.append(
        keras.layers.Dense(
            n_classes,
            activation="softmax",
            kernel_initializer=keras.initializers.GlorotUniform(seed=seed),
            dtype="float32",
            name="softmax",
        )
    )
    return layers


def apply(layers: list, x: Any) -> Any:
    for layer in layers:
        x = layer(x)
    return x


def set_trainable(backbone: Any, model: Any, fine_tune: bool) -> None:
    """Frozen (model.freeze), all trainable, or, for fine-tuning, the top
    model.fine_tune_layers layers trainable except BatchNorm (which stays in inference mode)."""
    if not model.freeze:
        backbone.trainable = True
        return
    backbone.trainable = fine_tune
    if fine_tune:
        top = backbone.layers[-model.fine_tune_layers :]
        for layer in backbone.layers:
            layer.trainable = layer in top and not isinstance(
                layer, keras.layers.BatchNormalization
            )


def size_mb(weights: list) -> float:
    """Memory of the weights in MiB (as stored: float32 is 4 bytes per parameter)."""
    return sum(keras.ops.convert_to_numpy(w).nbytes for w in weights) / 2**20
