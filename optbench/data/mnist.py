"""MNIST: the four official IDX files, Keras's mnist.npz, or a checksummed download."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np

from optbench.data.files import (
    KERAS_CACHE,
    Missing,
    cached_arrays,
    download,
    save_arrays,
    search_dirs,
    verify,
)
from optbench.data.splits import Splits, split_pool
from optbench.errors import OptbenchError

IDX_SHA256 = {
    "train-images-idx3-ubyte.gz": "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
    "train-labels-idx1-ubyte.gz": "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
    "t10k-images-idx3-ubyte.gz": "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
    "t10k-labels-idx1-ubyte.gz": "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
}
NPZ_NAME = "mnist.npz"
NPZ_SHA256 = "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1"
NPZ_URL = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz"
ARRAYS = ("x_train", "y_train", "x_test", "y_test")


def read_idx(path: Path) -> np.ndarray:
    """Decode one gzipped IDX file (magic 2051: images, 2049: labels)."""
    with gzip.open(path, "rb") as f:
        raw = f.read()
    magic = int.from_bytes(raw[:4], "big")
    ndim = magic & 0xFF
    if magic >> 8 != 0x08 or ndim not in (1, 3):
        raise OptbenchError(f"{path} is not an IDX file of unsigned bytes (magic {magic}).")
    shape = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(shape)


def _find(dirs: list[Path], name: str) -> Path | None:
    for folder in dirs:
        for candidate in (folder / "mnist" / name, folder / name):
            if candidate.is_file():
                return candidate
    return None


def _from_idx(paths: dict[str, Path]) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    checksums = {name: verify(path, IDX_SHA256[name]) for name, path in paths.items()}
    key = "mnist-idx-" + checksums["train-images-idx3-ubyte.gz"][:12]
    arrays = cached_arrays(key, ARRAYS)
    if arrays is None:
        arrays = {
            "x_train": read_idx(paths["train-images-idx3-ubyte.gz"]),
            "y_train": read_idx(paths["train-labels-idx1-ubyte.gz"]),
            "x_test": read_idx(paths["t10k-images-idx3-ubyte.gz"]),
            "y_test": read_idx(paths["t10k-labels-idx1-ubyte.gz"]),
        }
        save_arrays(key, arrays)
    return arrays, checksums


def _from_npz(path: Path) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    checksums = {NPZ_NAME: verify(path, NPZ_SHA256)}
    with np.load(path) as f:
        return {k: f[k] for k in ARRAYS}, checksums


def locate(data_dir: str | None, allow_download: bool) -> tuple[dict[str, np.ndarray], dict]:
    """Arrays and provenance from the first source found: IDX files, mnist.npz, download."""
    dirs = search_dirs(data_dir)
    idx_paths = {name: _find(dirs, name) for name in IDX_SHA256}
    if all(idx_paths.values()):
        folder = idx_paths["train-images-idx3-ubyte.gz"].parent
        arrays, checksums = _from_idx(idx_paths)
        return arrays, {"source": f"{folder} (IDX files)", "checksums": checksums}
    npz = _find(dirs, NPZ_NAME)
    if npz is None and allow_download:
        try:
            npz = download(NPZ_URL, KERAS_CACHE / NPZ_NAME, NPZ_SHA256)
        except ConnectionError as exc:
            raise OptbenchError(_missing_message(dirs, f"Download failed ({exc}).")) from None
    if npz is None:
        raise OptbenchError(_missing_message(dirs, "Downloading is off (dataset.download=false)."))
    arrays, checksums = _from_npz(npz)
    return arrays, {"source": str(npz), "checksums": checksums}


def missing(cfg) -> list[Missing]:
    """MNIST when neither the IDX files nor mnist.npz are here (nothing read or downloaded)."""
    dirs = search_dirs(cfg.data_dir)
    if all(_find(dirs, n) for n in IDX_SHA256) or _find(dirs, NPZ_NAME):
        return []
    where = f"{dirs[0] / 'mnist'}/" + ("" if cfg.data_dir else " (or $OPTBENCH_DATA_DIR/mnist/)")
    what = f"MNIST (the four official {', '.join(IDX_SHA256)} files, or Keras's {NPZ_NAME})"
    return [Missing(what, where, NPZ_URL, "dataset.download", cfg.download)]


def _missing_message(dirs: list[Path], why: str) -> str:
    where = dirs[0]
    return (
        f"MNIST not found. {why} Put the four official files "
        f"{', '.join(IDX_SHA256)} in {where / 'mnist'}/ , or Keras's {NPZ_NAME} in {where}/ "
        f"(searched: {', '.join(str(d) for d in dirs)}; set dataset.data_dir or "
        "OPTBENCH_DATA_DIR to use another folder)."
    )


def load(cfg, seed: int) -> Splits:
    arrays, provenance = locate(cfg.data_dir, cfg.download)
    info = {"name": "mnist", "max_value": 255.0, "input_shape": (28, 28), **provenance}
    return split_pool(
        arrays["x_train"],
        arrays["y_train"],
        arrays["x_test"],
        arrays["y_test"],
        val_fraction=cfg.val_fraction,
        subset=cfg.subset,
        seed=seed,
        info=info,
    )
