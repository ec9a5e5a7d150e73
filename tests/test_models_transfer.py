"""optbench/models/transfer.py, the transfer-learning pieces, on small stand-in backbones (the
real ones take seconds to build: tests/test_transfer.py builds them): the weights file a
config names and the refusals when it is missing, the backbone's own preprocessing, the
extractor (resize, preprocess, a frozen backbone kept in inference mode, pooling), the seeded
head, which layers fine-tuning unfreezes, and the size of the weights in MiB."""

from __future__ import annotations

import re

import keras
import numpy as np
import pytest

from optbench.errors import OptbenchError
from optbench.models.transfer import (
    Preprocess,
    apply,
    build_backbone,
    extractor,
    head_layers,
    imagenet_weights,
    set_trainable,
    size_mb,
    weights_path,
)
from optbench.schema.model import HeadConfig, TransferConfig

MNV2_96 = "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_96_no_top.h5"


def config(**settings) -> TransferConfig:
    return TransferConfig(**{"name": "mobilenet_v2", "weights": None, **settings})


def test_random_init_has_no_weights_file_and_a_relative_one_is_found_in_the_data_folder(tmp_path):
    assert weights_path(config()) is None
    (tmp_path / "mine.weights.h5").write_bytes(b"x")
    assert weights_path(config(weights="mine.weights.h5"), str(tmp_path)) == (
        tmp_path / "mine.weights.h5"
    )


def test_a_weights_file_not_found_names_the_folders_searched(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(OptbenchError, match=re.escape(f"no file gone.h5 in /data, {tmp_path}.")):
        weights_path(config(weights="gone.h5"), "/data")


def test_cached_imagenet_weights_are_used_and_missing_ones_offline_name_file_url_and_folder(
    tmp_path, monkeypatch
):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    with pytest.raises(OptbenchError) as refused:
        weights_path(config(weights="imagenet", download_weights=False))
    message = str(refused.value)
    assert message.startswith("ImageNet weights for mobilenet_v2 at input size 96 are not cached.")
    assert "Downloading is off (model.download_weights=false)." in message
    assert f"/mobilenet_v2/{MNV2_96} and put it at {tmp_path / 'models' / MNV2_96}" in message
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / MNV2_96).write_bytes(b"x")
    assert imagenet_weights("mobilenet_v2", 96, download=True) == tmp_path / "models" / MNV2_96


def test_a_model_that_is_no_backbone_is_refused():
    refusal = "model=mlp is not a backbone; those are: mobilenet_v2, resnet50."
    with pytest.raises(OptbenchError, match=f"^{re.escape(refusal)}$"):
        build_backbone(config(name="mlp"), seed=0)


@pytest.mark.parametrize(
    ("module", "pixel", "expected"),
    [
        ("mobilenet_v2", [0, 255, 51], [-1.0, 1.0, 51 / 127.5 - 1]),  # to [-1, 1]
        ("resnet50", [10, 20, 30], [30 - 103.939, 20 - 116.779, 10 - 123.68]),  # BGR, centred
    ],
)
def test_preprocess_is_the_backbones_own(module, pixel, expected):
    layer = Preprocess(module)
    out = keras.ops.convert_to_numpy(layer(np.array([[[pixel]]], dtype="uint8")))
    np.testing.assert_allclose(out[0, 0, 0], expected, rtol=1e-5)
    again = Preprocess.from_config(layer.get_config())
    assert again.module == module


def tiny_backbone(size: int) -> keras.Model:
    """A conv layer and a BatchNormalization whose moving statistics are far from the batch's."""
    inputs = keras.Input((size, size, 3))
    x = keras.layers.Conv2D(4, 3, padding="same", name="conv")(inputs)
    x = keras.layers.BatchNormalization(name="bn")(x)
    model = keras.Model(inputs, keras.layers.Dense(5, name="top")(x))
    model.get_layer("bn").moving_mean.assign(np.full(4, 50.0, "float32"))
    return model


@pytest.mark.parametrize(("size", "resized"), [(16, True), (32, False)])
def test_the_extractor_resizes_preprocesses_and_pools_the_backbones_output(size, resized):
    model = config(input_size=size)
    features = extractor(model, tiny_backbone(size), seed=0)
    names = [layer.name for layer in features.layers]
    assert ("resize" in names) == resized and "preprocess" in names and names[-1] == "pool"
    assert features.input.dtype == "float32" and tuple(features.input.shape) == (None, 32, 32, 3)
    assert tuple(features.output.shape) == (None, 5)


@pytest.mark.parametrize("freeze", [True, False])
def test_a_frozen_backbone_keeps_its_batch_norm_statistics_when_the_model_trains(freeze):
    """As the trainer builds it: set_trainable first, then the extractor over the backbone;
    frozen, its output is the same in training and in inference, also once fine-tuning has
    unfrozen its top layers (BatchNormalization among them)."""
    backbone = tiny_backbone(16)
    set_trainable(backbone, config(freeze=freeze), fine_tune=False)
    features = extractor(config(input_size=16, freeze=freeze), backbone, seed=0)
    x = np.random.default_rng(0).integers(0, 256, (4, 32, 32, 3)).astype("float32")

    def unchanged() -> bool:
        trained, inferred = features(x, training=True), features(x, training=False)
        return bool(np.allclose(trained, inferred, atol=1e-5))

    assert unchanged() is freeze  # batch statistics replace the moving ones only when not frozen
    set_trainable(backbone, config(freeze=freeze, fine_tune_layers=2), fine_tune=True)
    assert unchanged() is freeze


def test_augmentation_adds_a_seeded_flip_and_translation():
    features = extractor(config(augment=True), tiny_backbone(96), seed=4)
    kinds = [type(layer).__name__ for layer in features.layers]
    assert kinds.index("RandomFlip") < kinds.index("RandomTranslation") < kinds.index("Resizing")


def test_the_head_is_dropout_hidden_layers_and_a_float32_softmax_seeded_the_same_twice():
    head = HeadConfig(hidden_sizes=[8, 6], dropout=0.3, activation="tanh")
    layers = head_layers(head, n_classes=3, seed=7)
    assert [type(layer).__name__ for layer in layers] == ["Dropout", "Dense", "Dense", "Dense"]
    assert layers[0].rate == 0.3 and [layer.units for layer in layers[1:]] == [8, 6, 3]
    assert layers[1].activation is keras.activations.tanh
    assert layers[-1].name == "softmax" and layers[-1].dtype_policy.name == "float32"
    x = keras.Input((10,))

    def built(layers: list) -> list[np.ndarray]:
        return keras.Model(x, apply(layers, x)).get_weights()

    first, second = built(layers), built(head_layers(head, 3, seed=7))
    for a, b in zip(first, second, strict=True):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(first[0], built(head_layers(head, 3, seed=8))[0])


def test_a_head_without_dropout_or_hidden_layers_is_one_softmax_layer():
    (layer,) = head_layers(HeadConfig(hidden_sizes=[], dropout=0.0), n_classes=10, seed=0)
    assert layer.name == "softmax" and layer.units == 10


def trainable(backbone: keras.Model) -> list[str]:
    return [layer.name for layer in backbone.layers if layer.trainable_weights]


def test_fine_tuning_unfreezes_the_top_layers_but_never_batch_normalization():
    backbone = tiny_backbone(8)
    set_trainable(backbone, config(fine_tune_layers=2), fine_tune=False)
    assert trainable(backbone) == []
    set_trainable(backbone, config(fine_tune_layers=2), fine_tune=True)
    assert trainable(backbone) == ["top"]  # bn is one of the top two: it stays frozen
    set_trainable(backbone, config(fine_tune_layers=3), fine_tune=True)
    assert trainable(backbone) == ["conv", "top"]
    backbone = tiny_backbone(8)
    set_trainable(backbone, config(freeze=False, fine_tune_layers=2), fine_tune=True)
    assert trainable(backbone) == ["conv", "bn", "top"]  # not frozen: all of it trains


def test_the_size_is_the_weights_bytes_in_mib():
    weights = [np.zeros((256, 1024), "float32"), np.zeros(256, "float32"), np.zeros(8, "float16")]
    assert size_mb(weights) == (256 * 1024 * 4 + 256 * 4 + 8 * 2) / 2**20
    assert size_mb(tiny_backbone(8).weights) == pytest.approx(
        tiny_backbone(8).count_params() * 4 / 2**20
    )
