"""Diagnostics figures: one run's per-layer heat map (its diagnostics/diagnostics.png), drawn
from the rows optbench/diagnostics/ records."""

from __future__ import annotations

import math
from typing import Any

HEAT = (("grad_norm", "gradient norm"), ("update_ratio", "update / weight ratio"))


def heatmap(rows: list[dict[str, Any]], title: str) -> Any:
    """Layers (input side at the bottom) x probe steps, coloured by log10 of each quantity in
    HEAT that was measured; NaN (not measured, or zero) is left blank."""
    import numpy as np
    from matplotlib.figure import Figure

    from optbench.diagnostics.stats import ALL

    layers = list(dict.fromkeys(r["layer"] for r in rows if r["layer"] != ALL)) or [ALL]
    steps = sorted({r["step"] for r in rows})
    panels = [(k, label) for k, label in HEAT if any(k in r for r in rows)]
    fig = Figure(figsize=(8, 1.2 + 0.35 * len(layers) * max(len(panels), 1) + 0.6), dpi=100)
    axes = fig.subplots(max(len(panels), 1), 1, squeeze=False)[:, 0]
    index = {(r["step"], r["layer"]): r for r in rows}
    col = {s: i for i, s in enumerate(steps)}
    for ax, (key, label) in zip(axes, panels, strict=False):
        grid = np.full((len(layers), len(steps)), np.nan)
        for (step, layer), r in index.items():
            value = r.get(key)
            if (
                layer in layers
                and isinstance(value, int | float)
                and value > 0
                and math.isfinite(value)
            ):
                grid[layers.index(layer), col[step]] = math.log10(value)
        image = ax.imshow(
            grid, aspect="auto", origin="lower", cmap="viridis", interpolation="nearest"
        )
        ax.set_yticks(range(len(layers)), layers, fontsize=7)
        ticks = np.linspace(0, len(steps) - 1, min(len(steps), 8)).round().astype(int)
        ax.set_xticks(ticks, [str(steps[i]) for i in ticks], fontsize=7)
        ax.set_title(f"log10 {label}", fontsize=9)
        fig.colorbar(image, ax=ax, fraction=0.04, pad=0.01)
    axes[-1].set_xlabel("optimizer step")
    fig.suptitle(f"diagnostics · {title}", fontsize=10)
    fig.tight_layout()
    return fig
