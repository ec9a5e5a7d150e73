"""The data a run trained on, as an MLflow dataset input (the runs table's Dataset column, the
run page's Datasets): its name, a digest, where it came from, and the split sizes as its
profile.

The digest fingerprints the data before the run's seeded split: the files' sha256 (MNIST,
CIFAR-10) or the generator that made it (digits, make_classification, a 2-D function), with
the dataset settings that choose examples (fractions, subset, classes, generator arguments).
Runs that differ only in seed share it; the seed is the run's own parameter.

Built here as plain data, so the job's process never imports MLflow; the writer
(optbench/tracking/writer.py) turns it into ``mlflow.data`` objects where MLflow runs."""

from __future__ import annotations

import hashlib
import json
from typing import Any

# dataset settings that do not change which examples a run sees
DATA_NEUTRAL = ("name", "data_dir", "download", "target", "backbone_weights", "lr")
CONTEXT = "training"  # MLflow's input context (tag mlflow.data.context)

DatasetRecord = dict[str, Any]  # name, digest, source_type, source, settings, profile, context


def dataset_record(config: Any, info: dict[str, Any], sizes: dict[str, int]) -> DatasetRecord:
    """The input record of data loaded with dataset ``config`` (a DictConfig or dict), whose
    loader described it with ``info`` (source, checksums, n_classes) and split it into
    ``sizes`` (train, val, test)."""
    from omegaconf import DictConfig, OmegaConf

    tree = (
        OmegaConf.to_container(config, resolve=True) if isinstance(config, DictConfig) else config
    )
    settings = {k: v for k, v in dict(tree).items() if k not in DATA_NEUTRAL}
    checksums = info.get("checksums") or {}
    origin: dict[str, Any] = {"sha256": checksums} if checksums else {"source": info["source"]}
    text = json.dumps({**origin, "settings": settings}, sort_keys=True, default=str)
    profile = {f"{split}_rows": n for split, n in sizes.items()}
    if info.get("n_classes") is not None:
        profile["classes"] = info["n_classes"]
    return {
        "name": str(tree["name"]),
        "digest": hashlib.sha256(text.encode()).hexdigest()[:8],
        "source_type": "local" if checksums else "code",
        "source": _path_of(info["source"]) if checksums else info["source"],
        "settings": {k: json.dumps(v, default=str) for k, v in settings.items()},
        "profile": json.dumps(profile),
        "context": CONTEXT,
    }


def _path_of(source: str) -> str:
    """'/data/mnist (IDX files)' -> '/data/mnist': the loaders' source text without its note."""
    return source.split(" (", 1)[0]
