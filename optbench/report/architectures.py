"""The transfer-learning comparison (the reference's table): Model | Parameter Count |
Training Speed | Validation Accuracy, with the measured extras, one row per backbone and input
size (several seeds or optimizers: mean of the runs)."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

from optbench.report.tables import TextTable, markdown, table_csv

HEADER = [
    "Model",
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


def architecture_table(runs: list[Any]) -> tuple[list[str], list[list[str]]]:
    groups: dict[str, list[dict[str, float]]] = defaultdict(list)
    for run in sorted(runs, key=lambda r: r.info.start_time):
        params = run.data.params
        name = (
            f"{run.data.tags.get('optbench.model', '?')} ({params.get('model.input_size', '?')} px)"
        )
        groups[name].append(run.data.metrics)

    def mean(metrics: list[dict[str, float]], key: str) -> float:
        values = [m[key] for m in metrics if key in m]
        return float(np.mean(values)) if values else float("nan")

    rows = []
    for name, metrics in groups.items():
        rows.append(
            [
                name,
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
