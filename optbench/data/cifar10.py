"""CIFAR-10: the official ``cifar-10-batches-py`` folder, ``.npz`` files with ``x``/``y``, or
the official tarball downloaded (sha256-checked) into Keras's cache and extracted there.

Sources, first found wins:
1. ``dataset.train_npz`` (and optionally ``dataset.test_npz``): ``.npz`` files with ``x``
   (N, 32, 32, 3) uint8 and ``y``, relative to the data directory or absolute. Without a test
   file, a stratified ``dataset.test_fraction`` of the training file is held out.
2. a ``cifar-10-batches-py`` folder in the data directory (also under ``cifar10/``) or in
   Keras's cache (where ``keras.datasets.cifar10`` leaves it);
3. the official ``cifar-10-python.tar.gz`` downloaded into ``~/.keras/datasets`` and extracted.
"""

from __future__ import annotations

import pickle
import tarfile
from pathlib import Path

import numpy as np

from optbench.data.files import KERAS_CACHE, Missing, download, search_dirs, sha256
from optbench.data.splits import Splits, split_pool, split_with_holdout, subsample
from optbench.errors import OptbenchError
from optbench.schema.dataset import CIFAR10_CLASS_NAMES as CLASS_NAMES
from optbench.schema.dataset import cifar10_class_ids as class_ids

TAR_NAME = "cifar-10-python.tar.gz"
TAR_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
TAR_SHA256 = "6d958be074577803d12ecdefd02955f39262c83c16fe9348329d7fe0b5c001ce"
BATCHES = "cifar-10-batches-py"
TRAIN_BATCHES = tuple(f"data_batch_{i}" for i in range(1, 6))
TEST_BATCH = "test_batch"


def read_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """One pickled CIFAR batch -> images (N, 32, 32, 3) uint8 HWC, labels (N,) uint8."""
    with open(path, "rb") as f:
        batch = pickle.load(f, encoding="bytes")
    data = np.asarray(batch[b"data"], dtype=np.uint8).reshape(-1, 3, 32, 32)
    return data.transpose(0, 2, 3, 1), np.asarray(batch[b"labels"], dtype=np.uint8)


def read_npz(path: Path) -> tuple[np.ndarray, np.ndarray]:
    with np.load(path) as f:
        missing = {"x", "y"} - set(f.files)
        if missing:
            raise OptbenchError(f"{path} has no {sorted(missing)} array(s); it has {f.files}.")
        x, y = f["x"], f["y"].astype(np.int64).ravel()
    if x.ndim != 4 or x.shape[1:] != (32, 32, 3) or x.dtype != np.uint8 or len(x) != len(y):
        raise OptbenchError(
            f"{path}: x must be uint8 of shape (N, 32, 32, 3) with one label per image in y; "
            f"got x {x.dtype} {x.shape}, y {y.shape}."
        )
    return x, y


def _candidates(name: str, dirs: list[Path]) -> list[Path]:
    path = Path(name).expanduser()
    return [path] if path.is_absolute() else [d / path for d in dirs]


def _resolve(name: str, dirs: list[Path]) -> Path:
    candidates = _candidates(name, dirs)
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    raise OptbenchError(
        f"dataset file {name} not found; looked in: {', '.join(str(c) for c in candidates)}."
    )


def missing(cfg) -> list[Missing]:
    """The files ``load`` would need and not find here, found without reading or downloading
    anything (the run's check before it starts)."""
    dirs = search_dirs(cfg.data_dir)
    if cfg.train_npz:
        absent = []
        for name in (n for n in (cfg.train_npz, cfg.test_npz) if n):
            candidates = _candidates(name, dirs)
            if not any(c.is_file() for c in candidates):
                others = ", ".join(map(str, candidates[1:]))
                what = f"dataset file {name}" + (f" (also looked at {others})" if others else "")
                absent.append(Missing(what, str(candidates[0])))
        return absent
    if _find_batches(dirs) is not None:
        return []
    where = f"{dirs[0] / BATCHES}/" + ("" if cfg.data_dir else " (or in $OPTBENCH_DATA_DIR)")
    what = f"CIFAR-10's {BATCHES}/ folder (inside {TAR_NAME})"
    return [Missing(what, where, TAR_URL, "dataset.download", cfg.download)]


def _find_batches(dirs: list[Path]) -> Path | None:
    for folder in dirs:
        for candidate in (
            folder / BATCHES,
            folder / "cifar10" / BATCHES,
            folder / "cifar-10-batches-py-target" / BATCHES,  # keras.datasets.cifar10's cache
        ):
            if (candidate / TEST_BATCH).is_file():
                return candidate
    return None


def _from_batches(folder: Path) -> tuple[tuple[np.ndarray, ...], dict]:
    parts = [read_batch(folder / name) for name in TRAIN_BATCHES]
    x_test, y_test = read_batch(folder / TEST_BATCH)
    x = np.concatenate([p[0] for p in parts])
    y = np.concatenate([p[1] for p in parts]).astype(np.int64)
    checksums = {n: sha256(folder / n) for n in (*TRAIN_BATCHES, TEST_BATCH)}
    arrays = (x, y, x_test, y_test.astype(np.int64))
    return arrays, {"source": f"{folder} (official batches)", "checksums": checksums}


def _download(dirs: list[Path]) -> Path:
    try:
        archive = download(TAR_URL, KERAS_CACHE / TAR_NAME, TAR_SHA256, timeout_s=60)
    except ConnectionError as exc:
        raise OptbenchError(_missing_message(dirs, f"Download failed ({exc}).")) from None
    with tarfile.open(archive) as tar:
        tar.extractall(KERAS_CACHE, filter="data")
    return KERAS_CACHE / BATCHES


def _missing_message(dirs: list[Path], why: str) -> str:
    return (
        f"CIFAR-10 not found. {why} Put the official {BATCHES}/ folder (from {TAR_URL}) in "
        f"{dirs[0]}/ , or point dataset.train_npz (and dataset.test_npz) at .npz files with x "
        f"(N,32,32,3 uint8) and y (searched: {', '.join(str(d) for d in dirs)}; set "
        "dataset.data_dir or OPTBENCH_DATA_DIR to use another folder)."
    )


def _keep_classes(x: np.ndarray, y: np.ndarray, classes: list[int]) -> tuple:
    """Only the images of ``classes``, relabelled 0..k-1 in the order given."""
    mapping = np.full(len(CLASS_NAMES), -1)
    mapping[list(classes)] = np.arange(len(classes))
    keep = mapping[y] >= 0
    return x[keep], mapping[y[keep]]


def load(cfg, seed: int) -> Splits:
    dirs = search_dirs(cfg.data_dir)
    info: dict = {"name": "cifar10", "max_value": 255.0, "input_shape": (32, 32, 3)}
    classes = class_ids(cfg.classes) if cfg.classes else list(range(len(CLASS_NAMES)))
    info["class_names"] = [CLASS_NAMES[c] for c in classes]
    if cfg.train_npz:
        train_path = _resolve(cfg.train_npz, dirs)
        x, y = _keep_classes(*read_npz(train_path), classes)
        info["checksums"] = {train_path.name: sha256(train_path)}
        info["source"] = str(train_path)
        if cfg.test_npz:
            test_path = _resolve(cfg.test_npz, dirs)
            x_test, y_test = _keep_classes(*read_npz(test_path), classes)
            info["checksums"][test_path.name] = sha256(test_path)
            info["source"] += f" + {test_path} (test)"
        else:
            return _subset_test(split_with_holdout(x, y, cfg, seed, info), cfg, seed)
    else:
        folder = _find_batches(dirs)
        if folder is None and not cfg.download:
            raise OptbenchError(
                _missing_message(dirs, "Downloading is off (dataset.download=false).")
            )
        (x, y, x_test, y_test), provenance = _from_batches(folder or _download(dirs))
        info.update(provenance)
        x, y = _keep_classes(x, y, classes)
        x_test, y_test = _keep_classes(x_test, y_test, classes)
    splits = split_pool(
        x,
        y,
        x_test,
        y_test,
        val_fraction=cfg.val_fraction,
        subset=cfg.subset,
        seed=seed,
        info=info,
    )
    return _subset_test(splits, cfg, seed)


def _subset_test(splits: Splits, cfg, seed: int) -> Splits:
    """``dataset.test_subset``: a stratified, seeded part of the test set (for quick runs)."""
    splits.x_test, splits.y_test = subsample(splits.x_test, splits.y_test, cfg.test_subset, seed)
    return splits
