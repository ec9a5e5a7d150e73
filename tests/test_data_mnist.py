"""MNIST (optbench/data/mnist.py): the official IDX files decoded and checksummed, Keras's
mnist.npz, a checked download into Keras's cache, and what a run is told when none of them is
here (``missing``, before anything is read, and the loader's own refusal)."""

from __future__ import annotations

import gzip
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from optbench.data import load_dataset
from optbench.data.files import Missing
from optbench.data.mnist import IDX_SHA256, NPZ_NAME, NPZ_URL, missing, read_idx
from optbench.errors import OptbenchError
from optbench.schema import validate
from tests.conftest import compose_cfg, needs_mnist


def dataset_cfg(*overrides):
    """The validated dataset settings, without the runner's preflight file check: these tests
    exercise the loaders' own errors (tests/test_preflight.py covers the preflight)."""
    return validate(compose_cfg(*overrides)).dataset


def idx_file(path: Path, magic: int, shape: tuple[int, ...], data: bytes) -> Path:
    """A gzipped IDX file: the magic number, one 4-byte big-endian size per dimension, data."""
    header = magic.to_bytes(4, "big") + b"".join(n.to_bytes(4, "big") for n in shape)
    with gzip.open(path, "wb") as f:
        f.write(header + data)
    return path


def test_idx_labels_and_images_decode_to_their_shapes(tmp_path):
    labels = read_idx(idx_file(tmp_path / "labels.gz", 2049, (3,), bytes([7, 2, 1])))
    assert labels.dtype == np.uint8 and labels.tolist() == [7, 2, 1]
    images = read_idx(idx_file(tmp_path / "images.gz", 2051, (2, 2, 3), bytes(range(12))))
    assert images.shape == (2, 2, 3) and images[1, 0].tolist() == [6, 7, 8]


@pytest.mark.parametrize(
    ("magic", "shape"),
    [(0x0D01, (3,)), (0x0802, (1, 3))],  # float32 labels; 2-D unsigned bytes
    ids=["not-bytes", "two-dimensions"],
)
def test_an_idx_file_of_another_type_or_rank_is_refused(tmp_path, magic, shape):
    path = idx_file(tmp_path / "odd.gz", magic, shape, bytes(12))
    with pytest.raises(OptbenchError) as refused:
        read_idx(path)
    assert str(refused.value) == f"{path} is not an IDX file of unsigned bytes (magic {magic})."


@pytest.fixture
def empty_keras_cache(tmp_path, monkeypatch):
    """Keras's cache, searched after the data folder, is an empty folder of the test's own."""
    monkeypatch.setattr("optbench.data.files.KERAS_CACHE", tmp_path / "keras")


def test_missing_names_the_files_the_folder_and_the_download(tmp_path, empty_keras_cache):
    data = tmp_path / "data"
    (data / "mnist").mkdir(parents=True)
    for name in list(IDX_SHA256)[:3]:  # three of the four IDX files are not enough
        (data / "mnist" / name).touch()
    cfg = dataset_cfg("dataset=mnist", f"dataset.data_dir={data}", "dataset.download=false")
    assert missing(cfg) == [
        Missing(
            "MNIST (the four official train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, "
            "t10k-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte.gz files, or Keras's mnist.npz)",
            f"{data / 'mnist'}/",
            NPZ_URL,
            "dataset.download",
            False,
        )
    ]
    (data / "mnist" / list(IDX_SHA256)[3]).touch()
    assert missing(cfg) == []  # all four: nothing to fetch (checksums are the loader's)


def test_an_npz_in_the_data_folder_is_enough(tmp_path, empty_keras_cache):
    (tmp_path / NPZ_NAME).touch()
    assert missing(dataset_cfg("dataset=mnist", f"dataset.data_dir={tmp_path}")) == []


def test_without_a_data_folder_missing_also_names_the_environment_variable(
    tmp_path, empty_keras_cache, monkeypatch
):
    monkeypatch.delenv("OPTBENCH_DATA_DIR", raising=False)
    cfg = dataset_cfg("dataset=mnist")
    (entry,) = missing(cfg)
    assert entry.where == f"{tmp_path / 'keras' / 'mnist'}/ (or $OPTBENCH_DATA_DIR/mnist/)"
    assert entry.download is True  # dataset.download's default


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
