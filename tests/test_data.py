"""Loaders: seeded stratified splits, subsets, MNIST from real files with checksums."""

import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from optbench.data import load_dataset
from optbench.data.mnist import IDX_SHA256, NPZ_NAME, read_idx
from optbench.data.splits import scale
from optbench.errors import OptbenchError
from optbench.schema import validate
from tests.conftest import compose_cfg, needs_mnist


def dataset_cfg(*overrides):
    """The validated dataset settings, without the runner's preflight file check: these tests
    exercise the loaders' own errors (tests/test_preflight.py covers the preflight)."""
    return validate(compose_cfg(*overrides)).dataset


def test_digits_splits_are_stratified_seeded_and_disjoint():
    splits = load_dataset(dataset_cfg(), seed=0)
    assert splits.sizes() == {"train": 1077, "val": 270, "test": 450}
    assert splits.n_classes == 10
    # stratified: every split has every class in about the same proportion
    for y in (splits.y_train, splits.y_val, splits.y_test):
        counts = np.bincount(y, minlength=10) / len(y)
        assert np.all(np.abs(counts - 0.1) < 0.02)
    again = load_dataset(dataset_cfg(), seed=0)
    other = load_dataset(dataset_cfg(), seed=1)
    np.testing.assert_array_equal(splits.x_train, again.x_train)
    assert not np.array_equal(splits.x_train, other.x_train)
    rows = {tuple(r) for r in splits.x_train} & {tuple(r) for r in splits.x_test}
    assert len(rows) < 5  # the digits set has a handful of duplicate images, nothing more


@pytest.mark.parametrize(("subset", "expected_pool"), [(500, 500), (0.5, 674)])
def test_subset_takes_a_count_or_a_fraction_of_the_training_pool(subset, expected_pool):
    splits = load_dataset(dataset_cfg(f"dataset.subset={subset}"), seed=0)
    assert len(splits.y_train) + len(splits.y_val) == expected_pool
    assert len(splits.y_test) == 450  # the test split is never subsampled


def test_standard_scaling_uses_training_statistics_only():
    splits = scale(load_dataset(dataset_cfg(), seed=0), "standard")
    assert splits.x_train.dtype == np.float32
    np.testing.assert_allclose(splits.x_train.mean(axis=0), 0, atol=1e-5)
    assert abs(splits.x_val.mean()) > 1e-4  # val is transformed with train's mean, not its own


def all_examples(splits) -> list[tuple[bytes, int]]:
    """Every (features, label) pair of train, val and test, in a split-independent order."""
    x = np.concatenate([splits.x_train, splits.x_val, splits.x_test])
    y = np.concatenate([splits.y_train, splits.y_val, splits.y_test])
    return sorted(zip(map(bytes, x), y.tolist(), strict=True))


def test_synthetic_problem_is_fixed_by_problem_seed_and_sized_by_config():
    sized = (
        "dataset=synthetic",
        "dataset.n_samples=1000",
        "dataset.n_features=8",
        "dataset.n_informative=4",
        "dataset.n_classes=4",
    )
    cfg = dataset_cfg(*sized, "dataset.problem_seed=3")
    splits = load_dataset(cfg, seed=0)
    assert splits.x_train.shape[1] == 8 and splits.n_classes == 4
    assert sum(splits.sizes().values()) == 1000
    # another run seed deals the same 1000 examples into different splits
    reseeded = load_dataset(cfg, seed=1)
    assert not np.array_equal(splits.x_train, reseeded.x_train)
    assert all_examples(reseeded) == all_examples(splits)
    # another problem seed is another problem, whatever the run seed
    other = load_dataset(dataset_cfg(*sized, "dataset.problem_seed=4"), seed=0)
    assert not set(all_examples(other)) & set(all_examples(splits))


@needs_mnist
def test_mnist_loads_the_official_files_with_checksums():
    splits = load_dataset(dataset_cfg("dataset=mnist"), seed=0)
    assert splits.x_train.shape[1:] == (28, 28) and splits.x_train.dtype == np.uint8
    assert splits.sizes() == {"train": 54000, "val": 6000, "test": 10000}
    assert np.bincount(splits.y_test).tolist()[:3] == [980, 1135, 1032]
    # every file was hashed and matched the published sha256 (recorded as the run's tags)
    assert splits.info["checksums"] == IDX_SHA256
    assert splits.info["checksums"]["train-images-idx3-ubyte.gz"].startswith("440fcabf")
    assert splits.info["source"].endswith("(IDX files)")


@needs_mnist
def test_mnist_idx_header_is_decoded():
    folder = Path(os.environ["OPTBENCH_DATA_DIR"]) / "mnist"
    labels = read_idx(folder / "t10k-labels-idx1-ubyte.gz")
    assert labels.shape == (10000,) and labels[:5].tolist() == [7, 2, 1, 0, 4]


def test_missing_mnist_offline_names_the_files_and_the_folder(tmp_path, monkeypatch):
    monkeypatch.setattr("optbench.data.files.KERAS_CACHE", tmp_path / "keras")
    cfg = dataset_cfg(
        "dataset=mnist", f"dataset.data_dir={tmp_path / 'data'}", "dataset.download=false"
    )
    with pytest.raises(OptbenchError) as info:
        load_dataset(cfg, seed=0)
    message = str(info.value)
    assert "train-images-idx3-ubyte.gz" in message and "t10k-labels-idx1-ubyte.gz" in message
    assert str(tmp_path / "data" / "mnist") in message and NPZ_NAME in message


@needs_mnist
def test_a_corrupt_mnist_file_fails_its_checksum(tmp_path, monkeypatch):
    monkeypatch.setattr("optbench.data.files.KERAS_CACHE", tmp_path / "keras")
    source = Path(os.environ["OPTBENCH_DATA_DIR"]) / "mnist"
    target = tmp_path / "mnist"
    shutil.copytree(source, target)
    with open(target / "t10k-labels-idx1-ubyte.gz", "r+b") as f:
        f.seek(100)
        f.write(b"\x00\x01\x02")
    cfg = dataset_cfg("dataset=mnist", f"dataset.data_dir={tmp_path}")
    with pytest.raises(
        OptbenchError, match=r"t10k-labels-idx1-ubyte\.gz has sha256 .* expected f7ae60f9"
    ):
        load_dataset(cfg, seed=0)


def _tiny_mnist_npz(path):
    rng = np.random.default_rng(0)
    np.savez(
        path,
        x_train=rng.integers(0, 256, (200, 28, 28), dtype=np.uint8),
        y_train=np.repeat(np.arange(10, dtype=np.uint8), 20),
        x_test=rng.integers(0, 256, (50, 28, 28), dtype=np.uint8),
        y_test=np.repeat(np.arange(10, dtype=np.uint8), 5),
    )


def test_mnist_downloads_into_the_keras_cache_with_its_checksum(tmp_path, http_folder, monkeypatch):
    from optbench.data.files import sha256

    root, url = http_folder
    _tiny_mnist_npz(root / "mnist.npz")
    monkeypatch.setattr("optbench.data.files.KERAS_CACHE", tmp_path / "keras")
    monkeypatch.setattr("optbench.data.mnist.KERAS_CACHE", tmp_path / "keras")
    monkeypatch.setattr("optbench.data.mnist.NPZ_URL", f"{url}/mnist.npz")
    monkeypatch.setattr("optbench.data.mnist.NPZ_SHA256", sha256(root / "mnist.npz"))
    cfg = dataset_cfg("dataset=mnist", f"dataset.data_dir={tmp_path / 'nothing'}")
    splits = load_dataset(cfg, seed=0)
    assert (tmp_path / "keras" / "mnist.npz").is_file()  # cached where Keras keeps it
    assert splits.sizes() == {"train": 180, "val": 20, "test": 50}
    (root / "mnist.npz").unlink()  # a second load needs no network
    assert load_dataset(cfg, seed=0).sizes() == splits.sizes()


def test_a_download_with_the_wrong_checksum_is_refused(tmp_path, http_folder, monkeypatch):
    root, url = http_folder
    _tiny_mnist_npz(root / "mnist.npz")  # not the official file: its sha256 differs
    monkeypatch.setattr("optbench.data.files.KERAS_CACHE", tmp_path / "keras")
    monkeypatch.setattr("optbench.data.mnist.KERAS_CACHE", tmp_path / "keras")
    monkeypatch.setattr("optbench.data.mnist.NPZ_URL", f"{url}/mnist.npz")
    cfg = dataset_cfg("dataset=mnist", f"dataset.data_dir={tmp_path / 'nothing'}")
    with pytest.raises(OptbenchError, match="expected 731c5ac6"):
        load_dataset(cfg, seed=0)
    assert not (tmp_path / "keras" / "mnist.npz").exists()  # nothing half-trusted is kept
    assert not list((tmp_path / "keras").iterdir())


def test_an_unreachable_download_says_where_to_put_the_files(tmp_path, monkeypatch):
    monkeypatch.setattr("optbench.data.files.KERAS_CACHE", tmp_path / "keras")
    monkeypatch.setattr("optbench.data.mnist.KERAS_CACHE", tmp_path / "keras")
    monkeypatch.setattr("optbench.data.mnist.NPZ_URL", "http://127.0.0.1:9/mnist.npz")
    cfg = dataset_cfg("dataset=mnist", f"dataset.data_dir={tmp_path / 'data'}")
    with pytest.raises(OptbenchError, match=r"Download failed .* Put the four official files"):
        load_dataset(cfg, seed=0)
