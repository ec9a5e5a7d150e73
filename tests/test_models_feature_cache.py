"""optbench/models/feature_cache.py, the content-addressed cache of frozen-backbone features,
with a NumPy function standing in for the backbone: one digest per image, the key a cache
folder is named by, and lookups that compute only the images not seen yet (each once, even
twice in one call), keep the callers' order, survive a new cache object (the shards on disk)
and write each build as one shard, atomically. Which settings change the folder:
tests/test_transfer.py."""

from __future__ import annotations

import json

import numpy as np
import pytest

from optbench.models.feature_cache import PREPROCESSING, FeatureCache, cache_key, image_hashes
from optbench.schema.model import TransferConfig

KEY = {"backbone": "resnet50", "backend": "tensorflow", "weights": "w", "input_size": 32,
       "preprocessing": "p"}  # fmt: skip


def images(n: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (n, 4, 4, 3), dtype=np.uint8)


def channel_means(x: np.ndarray) -> np.ndarray:
    """Features an image always has."""
    return x.reshape(len(x), -1, 3).mean(axis=1).astype(np.float64)


class Backbone:
    """``channel_means``, keeping the size of every batch it was asked for."""

    def __init__(self):
        self.batches: list[int] = []

    def __call__(self, x: np.ndarray) -> np.ndarray:
        self.batches.append(len(x))
        return channel_means(x)


def test_each_image_has_a_16_byte_digest_of_its_pixels():
    x = images(3)
    hashes = image_hashes(x)
    assert hashes.dtype == np.dtype("S16") and hashes.shape == (3,)
    assert len(set(hashes)) == 3
    assert list(image_hashes(x.copy())) == list(hashes)  # the same pixels, the same digest
    y = x.copy()
    y[1, 0, 0, 0] ^= 1  # one bit of one pixel
    assert image_hashes(y)[1] != hashes[1] and image_hashes(y)[0] == hashes[0]
    assert list(image_hashes(x[::-1])) == list(hashes[::-1])  # a strided view hashes the same


def test_the_folder_is_named_by_the_backbone_and_a_digest_of_the_whole_key(tmp_path):
    folder = FeatureCache(KEY, tmp_path).folder
    backbone, digest = folder.name.split("-")
    assert folder.parent == tmp_path and backbone == "resnet50"
    assert len(digest) == 16 and set(digest) <= set("0123456789abcdef")
    assert FeatureCache(dict(KEY), tmp_path).folder == folder  # nothing changed
    assert FeatureCache(dict(reversed(KEY.items())), tmp_path).folder == folder  # key order
    for field in KEY:
        assert FeatureCache({**KEY, field: "other"}, tmp_path).folder != folder, field


def test_the_key_holds_the_weights_files_sha256_or_the_seed_of_a_random_init(tmp_path):
    weights = tmp_path / "w.weights.h5"
    weights.write_bytes(b"abc")
    model = TransferConfig(name="resnet50", weights=str(weights), input_size=32)
    assert cache_key(model, 3, weights, "torch") == {
        "backbone": "resnet50",
        "backend": "torch",
        # sha256(b"abc"), the FIPS 180-2 test vector
        "weights": "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
        "input_size": 32,
        "preprocessing": f"resnet50 {PREPROCESSING}",
    }
    assert cache_key(model, 3, None, "torch")["weights"] == "random-init-seed-3"


def test_a_first_lookup_computes_every_image_once_and_writes_one_shard(tmp_path):
    cache, backbone = FeatureCache(KEY, tmp_path), Backbone()
    x = images(5)
    x[3] = x[1]  # the same image twice
    found = cache.features(x, backbone)
    assert backbone.batches == [4] and found.hits == 0
    assert found.features.dtype == np.float32
    np.testing.assert_allclose(found.features, channel_means(x), rtol=1e-6)
    assert len(list(cache.folder.glob("shard-*.npz"))) == 1
    assert not list(cache.folder.glob(".*.tmp"))  # written to a temporary name, then renamed
    assert json.loads((cache.folder / "key.json").read_text()) == KEY


def test_a_later_lookup_computes_only_the_images_it_has_not_seen(tmp_path):
    FeatureCache(KEY, tmp_path).features(images(4), Backbone())
    cache, backbone = FeatureCache(KEY, tmp_path), Backbone()  # a new process: from disk
    seen, new = images(4), images(3, seed=1)
    mixed = np.concatenate([new[:1], seen[2:], new[1:]])
    found = cache.features(mixed, backbone)
    assert backbone.batches == [3] and found.hits == 2
    np.testing.assert_allclose(found.features, channel_means(mixed), rtol=1e-6)
    assert len(list(cache.folder.glob("shard-*.npz"))) == 2
    again = cache.features(mixed[::-1], Backbone())
    assert again.hits == len(mixed) and again.build_time_s == 0.0
    np.testing.assert_array_equal(again.features, found.features[::-1])


def test_no_images_compute_nothing(tmp_path):
    backbone = Backbone()
    found = FeatureCache(KEY, tmp_path).features(images(0), backbone)
    assert (found.features.shape, found.hits, backbone.batches) == ((0, 0), 0, [])


@pytest.mark.parametrize("first", [2, 0])
def test_the_hits_count_the_images_found(tmp_path, first):
    cache = FeatureCache(KEY, tmp_path)
    if first:
        cache.features(images(first), Backbone())
    assert cache.features(images(5), Backbone()).hits == first
