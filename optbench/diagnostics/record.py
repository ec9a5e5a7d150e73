"""A run's diagnostics as MLflow sees them: a few scalars per logged step (``diag_*`` metrics,
from the ``ALL`` row of the step's last probe), one table of every probe and layer
(diagnostics/diagnostics.csv) and its heat map (diagnostics/diagnostics.png: per-layer
gradient norm and update ratio over steps), the flags as tags and console notes. Per-layer
series stay out of MLflow's metrics: thousands of keys slow its UI down."""

from __future__ import annotations

import csv
import io
import math
from typing import Any

from optbench import tags as tag
from optbench.artifact import Artifact
from optbench.diagnostics import flags
from optbench.diagnostics.stats import ALL

# ALL-row quantity -> its MLflow metric (labelled in optbench/metrics.py; docs/diagnostics.md)
SCALARS = {
    key: f"diag_{key}"
    for key in (
        "grad_norm", "weight_norm", "update_norm", "update_ratio", "dist_init", "dead_relu",
        "nonfinite", "grad_ratio", "noise_scale", "grad_snr", "sharpness", "hessian_trace",
    )
}  # fmt: skip
COLUMNS = (
    "step", "layer", "loss", "lr", "grad_norm", "weight_norm", "update_norm", "update_ratio",
    "dist_init", "dead_relu", "nonfinite", "snr", "grad_ratio", "noise_scale", "grad_snr",
    "sharpness", "hessian_trace",
)  # fmt: skip
ARTIFACT_DIR = "diagnostics"


def with_grad_ratio(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One probe's rows, its ALL row given ``grad_ratio`` (lowest trained layer's gradient
    norm over the top one's) where there are two layers or more with a gradient."""
    layers = [r for r in rows if r["layer"] != ALL and "grad_norm" in r]
    if len(layers) >= 2 and layers[-1]["grad_norm"] > 0:
        for r in rows:
            if r["layer"] == ALL:
                r["grad_ratio"] = layers[0]["grad_norm"] / layers[-1]["grad_norm"]
    return rows


class Recorder:
    """Collects the probes of one run; the trainer asks it for each step's scalars and, at the
    end, for the artifacts, tags and notes."""

    def __init__(self, level: str, cannot: str = "", flags: tuple[str, ...] = flags.FLAGS):
        self.level, self.cannot = level, cannot  # cannot: what this trainer cannot measure
        self.rules = flags  # the flags whose rules fit this trainer's steps
        self.rows: list[dict[str, Any]] = []
        self._fresh: dict[str, float] = {}

    def add(self, rows: list[dict[str, Any]]) -> None:
        rows = with_grad_ratio(rows)
        self.rows += rows
        whole = next(r for r in rows if r["layer"] == ALL)
        self._fresh = {
            metric: float(whole[key])
            for key, metric in SCALARS.items()
            if key in whole and whole[key] is not None
        }

    def scalars(self) -> dict[str, float]:
        """The diag_* metrics of the latest probe not yet logged (empty when none is new)."""
        fresh, self._fresh = self._fresh, {}
        return fresh

    def flags(self) -> list[flags.Flag]:
        return [f for f in flags.evaluate(self.rows) if f.name in self.rules]

    def table(self) -> str:
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=COLUMNS, extrasaction="ignore", lineterminator="\n")
        writer.writeheader()
        for row in self.rows:
            writer.writerow({k: _cell(row.get(k)) for k in COLUMNS})
        return out.getvalue()

    def finish(self, title: str) -> tuple[list[Any], dict[str, str], list[str]]:
        """(artifacts, tags, notes) for the run's result."""
        raised = self.flags()
        tags = {tag.DIAGNOSTICS: self.level, tag.DIAG_FLAGS: ",".join(f.name for f in raised)}
        tags.update({tag.DIAG_FLAG_PREFIX + f.name: f"step {f.step}: {f.rule}" for f in raised})
        notes = [f"diagnostics flagged {f}." for f in raised]
        if self.cannot:
            tags[tag.DIAG_UNAVAILABLE] = self.cannot
        if not self.rows:
            return [], tags, notes
        artifacts = [
            Artifact(f"{ARTIFACT_DIR}/diagnostics.csv", text=self.table()),
            Artifact(
                f"{ARTIFACT_DIR}/diagnostics.png",
                draw="optbench.report.diagnostics:heatmap",
                args=(self.rows, title),
            ),
        ]
        return artifacts, tags, notes


def _cell(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
    return "" if value is None else value
