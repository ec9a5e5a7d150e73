"""The CIFAR-10 loader on the real pieces in ../shared/data/cifar10 (PROVENANCE.md there):
the .npz files, the official pickled-batch format, class selection, splits, offline errors."""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import numpy as np
import pytest

from optbench.data import load_dataset
from optbench.data.cifar10 import CLASS_NAMES, read_batch
from optbench.errors import OptbenchError
from optbench.schema import validate
from tests.conftest import compose_cfg, requires

EXACT = "cifar10/cifar10_data_batch_4_first1329_exact.npz"
JPEG_TEST = "cifar10/cifar10_test_jpeg_q75_decoded.npz"
SHA256 = {  # from PROVENANCE.md
    "cifar10_data_batch_4_first1329_exact.npz": "633cfb9f2f3b9a4bc890803b1849ce1fccaae41dee41bf9e0e8ff0595238b9b3",
    "cifar10_test_jpeg_q75_decoded.npz": "06f9703795812593a5327131f4d0e273db05e631e9dffaa457c6e5df78262c5c",
}
EXACT_COUNTS = [122, 142, 151, 114, 139, 148, 117, 126, 139, 131]  # PROVENANCE.md


def data_dir() -> Path:
    return Path(os.environ.get("OPTBENCH_DATA_DIR", "/nonexistent"))


needs_sample = requires(
    (data_dir() / EXACT).is_file(),
    f"the shared CIFAR-10 pieces are not in {data_dir()}: set OPTBENCH_DATA_DIR to a folder "
    "with cifar10/ (CI uses ../shared/data)",
)


def load(*overrides: str):
    settings = validate(compose_cfg(*overrides))
    return load_dataset(settings.dataset, settings.seed)


def assert_stratified(part: np.ndarray, source_counts: list[int]) -> None:
    """Each class's count in ``part`` is its proportional share of the source, rounded down or
    up: the guarantee of the stratified split behind every subset and split (scikit-learn's
    ``train_test_split(stratify=...)``), and what a plain random draw breaks."""
    counts = np.bincount(part, minlength=len(source_counts)).tolist()
    n, total = len(part), sum(source_counts)
    floor = [c * n // total for c in source_counts]
    ceil = [-(-c * n // total) for c in source_counts]
    assert all(lo <= k <= hi for lo, k, hi in zip(floor, counts, ceil, strict=True)), (
        f"class counts {counts} are not the proportional shares {floor} (floor) .. {ceil} (ceil)"
    )


@needs_sample
def test_sample_config_reads_both_real_files_with_their_checksums():
    splits = load("dataset=cifar10_sample")
    assert splits.x_train.dtype == np.uint8 and splits.x_train.shape[1:] == (32, 32, 3)
    assert splits.sizes() == {"train": 1063, "val": 266, "test": 10000}
    assert splits.n_classes == 10 and splits.info["class_names"] == list(CLASS_NAMES)
    assert splits.info["checksums"] == SHA256
    pool = np.concatenate([splits.y_train, splits.y_val])
    assert np.bincount(pool).tolist() == EXACT_COUNTS
    assert np.bincount(splits.y_test).tolist() == [1000] * 10
    # stratified: every class is in the validation split in proportion (within one image)
    assert_stratified(splits.y_val, EXACT_COUNTS)


@needs_sample
def test_seed_moves_the_split_and_subsets_are_stratified():
    a = load("dataset=cifar10_sample", "seed=0", "dataset.test_subset=500")
    b = load("dataset=cifar10_sample", "seed=1", "dataset.test_subset=500")
    assert len(a.y_test) == 500 and np.bincount(a.y_test).tolist() == [50] * 10
    assert_stratified(a.y_test, [1000] * 10)  # the same rule: 50 = 1000 * 500 / 10000 exactly
    assert not np.array_equal(a.x_val, b.x_val)
    again = load("dataset=cifar10_sample", "seed=0", "dataset.test_subset=500")
    assert np.array_equal(a.x_train, again.x_train) and np.array_equal(a.y_test, again.y_test)


@needs_sample
def test_training_subset_keeps_each_class_share():
    """dataset.subset draws a stratified part of the unbalanced training file (122..151 images
    a class), and the validation split is then carved out of that part, stratified again."""
    splits = load("dataset=cifar10_sample", "dataset.subset=500")
    pool = np.concatenate([splits.y_train, splits.y_val])
    assert len(pool) == 500 and len(splits.y_val) == 100
    assert_stratified(pool, EXACT_COUNTS)
    assert_stratified(splits.y_val, np.bincount(pool).tolist())
    assert len(splits.y_test) == 10000  # the test set is only cut by dataset.test_subset


@needs_sample
def test_classes_by_name_or_id_are_relabelled_in_order():
    splits = load("dataset=cifar10_sample", "dataset.classes=[cat,dog]")
    assert splits.n_classes == 2
    assert np.bincount(np.concatenate([splits.y_train, splits.y_val])).tolist() == [114, 148]
    assert splits.info["class_names"] == ["cat", "dog"]
    by_id = load("dataset=cifar10_sample", "dataset.classes=[3,5]")
    assert np.array_equal(by_id.y_test, splits.y_test)
    with pytest.raises(OptbenchError, match="'kitten' is not a CIFAR-10 class"):
        load("dataset=cifar10_sample", "dataset.classes=[kitten,dog]")


@needs_sample
def test_train_file_alone_holds_out_a_stratified_test_set():
    splits = load("dataset=cifar10", f"dataset.train_npz={EXACT}", "dataset.test_fraction=0.2")
    assert sum(splits.sizes().values()) == 1329
    assert len(splits.y_test) == 266  # ceil(0.2 * 1329)
    assert_stratified(splits.y_test, EXACT_COUNTS)
    pool = np.concatenate([splits.y_train, splits.y_val])
    assert (np.bincount(pool) + np.bincount(splits.y_test)).tolist() == EXACT_COUNTS


def _write_official_batches(folder: Path, x: np.ndarray, y: np.ndarray) -> None:
    """The cifar-10-batches-py layout: pickled dicts with CHW rows, as the official tarball."""
    folder.mkdir(parents=True)
    chunks = np.array_split(np.arange(len(y)), 6)
    names = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
    for name, idx in zip(names, chunks, strict=True):
        rows = x[idx].transpose(0, 3, 1, 2).reshape(len(idx), -1)
        batch = {b"batch_label": name.encode(), b"labels": y[idx].tolist(), b"data": rows}
        with open(folder / name, "wb") as f:
            pickle.dump(batch, f, protocol=2)


@needs_sample
def test_official_batch_folder_round_trips_the_exact_images(tmp_path):
    with np.load(data_dir() / EXACT) as f:
        x, y = f["x"], f["y"]
    _write_official_batches(tmp_path / "cifar-10-batches-py", x, y)
    assert np.array_equal(
        read_batch(tmp_path / "cifar-10-batches-py" / "data_batch_1")[0],
        x[: len(np.array_split(np.arange(len(y)), 6)[0])],
    )
    splits = load("dataset=cifar10", f"dataset.data_dir={tmp_path}", "dataset.val_fraction=0.2")
    assert "official batches" in splits.info["source"]
    assert set(splits.info["checksums"]) == {
        *(f"data_batch_{i}" for i in range(1, 6)),
        "test_batch",
    }
    everything = np.concatenate([splits.x_train, splits.x_val, splits.x_test])
    assert len(everything) == 1329
    # the same images, pixel for pixel (as sets of rows)
    key = lambda a: sorted(map(bytes, a.reshape(len(a), -1)))  # noqa: E731
    assert key(everything) == key(x)


def test_missing_data_offline_says_where_to_put_it(tmp_path, monkeypatch):
    import optbench.data.files as files

    monkeypatch.setattr(files, "KERAS_CACHE", tmp_path / "keras")
    import optbench.data.cifar10 as cifar10

    monkeypatch.setattr(cifar10, "KERAS_CACHE", tmp_path / "keras")
    with pytest.raises(OptbenchError) as err:
        load("dataset=cifar10", f"dataset.data_dir={tmp_path / 'data'}", "dataset.download=false")
    message = str(err.value)
    assert "CIFAR-10 not found" in message and "dataset.download=false" in message
    assert f"{tmp_path / 'data'}/" in message and "cifar-10-batches-py" in message


def test_bad_npz_is_refused(tmp_path):
    np.savez(tmp_path / "bad.npz", x=np.zeros((4, 28, 28), np.uint8), y=np.zeros(4))
    with pytest.raises(OptbenchError, match=r"x must be uint8 of shape \(N, 32, 32, 3\)"):
        load("dataset=cifar10", f"dataset.train_npz={tmp_path / 'bad.npz'}")
