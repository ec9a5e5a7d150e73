"""Figures built on matplotlib's object API (no pyplot state, no GUI backend)."""

from __future__ import annotations

from typing import Any


def loss_curve(history: list[dict[str, float]], title: str) -> Any:
    """Train/validation log-loss per step, validation accuracy on a second axis."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7, 4), dpi=100)
    ax = fig.add_subplot()
    for key, style in (("train_loss", "-"), ("val_loss", "--")):
        points = [(h["step"], h[key]) for h in history if key in h]
        if points:
            ax.plot(*zip(*points, strict=True), style, label=key)
    ax.set_xlabel("step (iteration / epoch)")
    ax.set_ylabel("log-loss")
    ax.set_yscale("log")
    acc = [(h["step"], h["val_accuracy"]) for h in history if "val_accuracy" in h]
    if acc:
        ax2 = ax.twinx()
        ax2.plot(*zip(*acc, strict=True), ":", color="tab:green", label="val_accuracy")
        ax2.set_ylabel("val accuracy")
        ax2.legend(loc="center right")
    ax.legend(loc="upper right")
    ax.set_title(title)
    fig.subplots_adjust(left=0.1, right=0.88, bottom=0.13, top=0.9)  # tight_layout costs 0.3 s
    return fig
