"""Cache of frozen-backbone features, content-addressed.

With a frozen backbone and no augmentation, an image's pooled features never change, so they
are computed once and stored under ``<cache>/features/<key>/`` where the key names the backbone,
the weights file's sha256 (or the seed, for random init), the input size and the
preprocessing. Inside, each image is found by a hash of its pixels, so another seed, split,
subset or class selection of the same data reuses what is there and computes only the images
it has not seen. Each build adds one shard file (written atomically): parallel jobs never
overwrite each other's work."""

from __future__ import annotations

import hashlib
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from optbench.data.files import cache_dir, sha256

PREPROCESSING = "resize-bilinear+preprocess_input"


def cache_key(model: Any, seed: int, weights: Path | None, backend: str) -> dict[str, Any]:
    """What the features depend on, besides the image (the Keras backend computes them:
    their last bits, and a random initialisation, differ across backends)."""
    return {
        "backbone": model.name,
        "backend": backend,
        "weights": f"random-init-seed-{seed}" if weights is None else sha256(weights),
        "input_size": model.input_size,
        "preprocessing": f"{model.name} {PREPROCESSING}",
    }


def image_hashes(x: np.ndarray) -> np.ndarray:
    """One 16-byte BLAKE2 digest per image, as an (N,) array of bytes."""
    x = np.ascontiguousarray(x)
    digests = [hashlib.blake2b(row.tobytes(), digest_size=16).digest() for row in x]
    return np.array(digests, dtype="S16")


@dataclass
class Lookup:
    features: np.ndarray
    hits: int  # images found in the cache
    build_time_s: float  # time spent computing the missing ones
    load_time_s: float


class FeatureCache:
    def __init__(self, key: dict[str, Any], root: Path | None = None):
        self.key = key
        digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:16]
        self.folder = (root or cache_dir() / "features") / f"{key['backbone']}-{digest}"

    def _index(self) -> tuple[dict[bytes, tuple[int, int]], list[np.ndarray]]:
        index: dict[bytes, tuple[int, int]] = {}
        shards = []
        for path in sorted(self.folder.glob("shard-*.npz")):
            with np.load(path) as f:
                shards.append(f["features"])
                for row, h in enumerate(f["hashes"]):
                    index[bytes(h)] = (len(shards) - 1, row)
        return index, shards

    def features(self, x: np.ndarray, compute: Any) -> Lookup:
        """Features of every image in ``x``; ``compute(images) -> features`` for the misses."""
        start = time.perf_counter()
        hashes = image_hashes(x)
        index, shards = self._index()
        found = [index.get(bytes(h)) for h in hashes]
        missing = np.array([i for i, loc in enumerate(found) if loc is None], dtype=np.int64)
        load_time = time.perf_counter() - start
        build_time = 0.0
        if len(missing):
            # the same image twice in x is computed once
            unique, first = np.unique(hashes[missing], return_index=True)
            t0 = time.perf_counter()
            new = np.asarray(compute(x[missing[first]]), dtype=np.float32)
            build_time = time.perf_counter() - t0
            self._write(unique, new)
            shards.append(new)
            for row, h in enumerate(unique):
                index[bytes(h)] = (len(shards) - 1, row)
            found = [index[bytes(h)] for h in hashes]
        t0 = time.perf_counter()
        out = np.stack([shards[s][r] for s, r in found]) if len(found) else np.zeros((0, 0))
        load_time += time.perf_counter() - t0
        return Lookup(out, len(x) - len(missing), build_time, load_time)

    def _write(self, hashes: np.ndarray, features: np.ndarray) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        meta = self.folder / "key.json"
        if not meta.exists():
            meta.write_text(json.dumps(self.key, indent=2, sort_keys=True))
        name = f"shard-{time.time_ns()}-{os.getpid()}.npz"
        tmp = self.folder / f".{name}.tmp"
        with open(tmp, "wb") as f:
            np.savez(f, hashes=hashes, features=features)
        os.replace(tmp, self.folder / name)
