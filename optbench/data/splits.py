"""The record every loader returns, and the seeded, stratified splitting they share."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass
class Splits:
    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    info: dict[str, Any] = field(default_factory=dict)  # name, n_classes, source, checksums...

    @property
    def n_classes(self) -> int:
        return int(self.info["n_classes"])

    def sizes(self) -> dict[str, int]:
        return {"train": len(self.y_train), "val": len(self.y_val), "test": len(self.y_test)}

    def scaled(self, how: str) -> Splits:
        return scale(self, how)


def stratified_take(y: np.ndarray, size: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices (taken, rest) with ``size`` a fraction or a count, stratified by label."""
    from sklearn.model_selection import train_test_split

    idx = np.arange(len(y))
    n_take = int(size) if size > 1 else size
    rest, taken = train_test_split(idx, test_size=n_take, stratify=y, random_state=seed)
    return np.sort(taken), np.sort(rest)


def subsample(x: np.ndarray, y: np.ndarray, size: float | None, seed: int) -> tuple:
    """A stratified, seeded part of (x, y): ``size`` a count (> 1) or a fraction; None, 1 or
    at least len(y) keeps everything."""
    if size is None or size == 1 or size >= len(y):
        return x, y
    keep, _ = stratified_take(y, size, seed)
    return x[keep], y[keep]


def split_pool(
    x: np.ndarray,
    y: np.ndarray,
    x_test: np.ndarray,
    y_test: np.ndarray,
    *,
    val_fraction: float,
    subset: float | None,
    seed: int,
    info: dict[str, Any],
) -> Splits:
    """Subsample the training pool (optional), then carve out a stratified validation split."""
    x, y = subsample(x, y, subset, seed)
    val_idx, train_idx = stratified_take(y, val_fraction, seed)
    info = {**info, "n_classes": int(max(y.max(), y_test.max()) + 1)}
    return Splits(x[train_idx], y[train_idx], x[val_idx], y[val_idx], x_test, y_test, info)


def split_with_holdout(x: np.ndarray, y: np.ndarray, cfg: Any, seed: int, info: dict) -> Splits:
    """For datasets without an official test split: hold out ``cfg.test_fraction`` (stratified,
    seeded), then split the rest into train and validation as ``split_pool`` does."""
    test_idx, pool_idx = stratified_take(y, cfg.test_fraction, seed)
    return split_pool(
        x[pool_idx],
        y[pool_idx],
        x[test_idx],
        y[test_idx],
        val_fraction=cfg.val_fraction,
        subset=cfg.subset,
        seed=seed,
        info=info,
    )


def scale(splits: Splits, how: str) -> Splits:
    """Flatten to 2-D and scale: 'standard' (fit on train only), 'unit' ([0, 1]), or 'none';
    'raw' keeps the arrays as loaded (images for convolutional backbones)."""
    if how == "raw":
        return splits
    xs = [
        a.reshape(len(a), -1).astype(np.float32)
        for a in (splits.x_train, splits.x_val, splits.x_test)
    ]
    if how == "standard":
        mean = xs[0].mean(axis=0)
        std = xs[0].std(axis=0)
        std[std == 0] = 1.0
        xs = [(a - mean) / std for a in xs]
    elif how == "unit":
        peak = float(splits.info.get("max_value", xs[0].max() or 1.0))
        xs = [a / peak for a in xs]
    return Splits(xs[0], splits.y_train, xs[1], splits.y_val, xs[2], splits.y_test, splits.info)
