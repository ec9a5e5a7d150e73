"""Datasets by name. Each module exposes ``load(cfg, seed) -> Splits``; imported on demand."""

from __future__ import annotations

import importlib

from optbench.data.splits import Splits
from optbench.errors import OptbenchError

DATASETS: dict[str, str] = {
    "digits": "optbench.data.digits",
    "synthetic": "optbench.data.synthetic",
    "mnist": "optbench.data.mnist",
}


def load_dataset(cfg, seed: int) -> Splits:
    """Load, split and describe the dataset named by ``cfg.name``."""
    try:
        module = DATASETS[cfg.name]
    except KeyError:
        raise OptbenchError(
            f"dataset.name={cfg.name!r} has no loader; known: {', '.join(sorted(DATASETS))}."
        ) from None
    return importlib.import_module(module).load(cfg, seed)


__all__ = ["DATASETS", "Splits", "load_dataset"]
