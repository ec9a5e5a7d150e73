"""Every figure optbench draws, on matplotlib's object API (no pyplot state, no GUI backend):
a run's loss curve, confusion matrix and misclassified images; 2-D landscapes and their
animation; a sweep's curves; the report's grouped curves and performance profile."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from optbench.metrics import axis_label

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

# matplotlib's tab10, then tab20's light shades: 20 distinct colours before any repeats
PALETTE = (
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
    "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf",
    "#aec7e8", "#ffbb78", "#98df8a", "#ff9896", "#c5b0d5",
    "#c49c94", "#f7b6d2", "#c7c7c7", "#dbdb8d", "#9edae5",
)  # fmt: skip
DASHES = ("-", "--", ":", "-.")  # told apart within one colour (landscape overlays)


def colours_for(names: Iterable[str]) -> dict[str, str]:
    """One colour per name (optimizer, or optimizer+schedule), from PALETTE in sorted order.
    A report draws every figure from one such map, so each optimizer keeps its colour across
    figures; matplotlib's colour cycle follows the drawing order, which differs per figure."""
    return {name: PALETTE[i % len(PALETTE)] for i, name in enumerate(sorted(set(names)))}


def _whole_steps(ax: Any) -> None:
    """Ticks on a step axis at whole numbers: there is no epoch 2.5."""
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))


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
    _whole_steps(ax)
    ax.set_ylabel("log-loss")
    ax.set_yscale("log")
    curves = [
        (key, color, [(h["step"], h[key]) for h in history if key in h])
        for key, color in (("train_accuracy", "tab:olive"), ("val_accuracy", "tab:green"))
    ]
    if any(points for _, _, points in curves):
        ax2 = ax.twinx()
        for key, color, points in curves:
            if points:
                ax2.plot(*zip(*points, strict=True), ":", color=color, label=key)
        ax2.set_ylabel("accuracy")
        ax2.legend(loc="center right")
    ax.legend(loc="upper right")
    ax.set_title(title)
    fig.subplots_adjust(left=0.1, right=0.88, bottom=0.13, top=0.9)  # tight_layout costs 0.3 s
    return fig


def _surface_axes(function_name: str, paths: dict[str, list], title: str) -> tuple[Any, Any]:
    """A figure with the function's log-scaled contours, its minima (stars) and the start."""
    import numpy as np
    from matplotlib.figure import Figure

    from optbench.optim.functions import FUNCTIONS

    f = FUNCTIONS[function_name]
    (x0, x1), (y0, y1) = f.bounds
    xs, ys = np.meshgrid(np.linspace(x0, x1, 300), np.linspace(y0, y1, 300))
    z = np.asarray(f.value(xs, ys), dtype=float)
    fig = Figure(figsize=(6.4, 5.2), dpi=100)
    ax = fig.add_subplot()
    shifted = np.log10(z - z.min() + 1e-2)  # contours evenly spaced in log(f - min)
    ax.contourf(xs, ys, shifted, levels=30, cmap="Greys", alpha=0.35)
    ax.contour(xs, ys, shifted, levels=30, colors="0.4", linewidths=0.4)
    for mx, my in f.minima:
        ax.plot(mx, my, "*", color="gold", markersize=14, markeredgecolor="k", zorder=5)
    starts = {tuple(np.round(p[0], 6)) for p in paths.values() if p}
    for sx, sy in starts:
        ax.plot(sx, sy, "o", color="k", markersize=6, zorder=5)
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ax.set_xlabel("x")
    ax.set_ylabel("y")
    ax.set_title(title, fontsize=10)
    fig.subplots_adjust(left=0.1, right=0.97, bottom=0.1, top=0.93)
    return fig, ax


def _finite(path: list) -> Any:
    import numpy as np

    points = np.asarray(path, dtype=float).reshape(-1, 2)
    keep = np.all(np.isfinite(points), axis=1) & np.all(np.abs(points) < 1e6, axis=1)
    return points[: int(np.argmin(keep)) if not keep.all() else len(points)]


def landscape(
    function_name: str, paths: dict[str, list], title: str, colours: dict[str, str] | None = None
) -> Any:
    """Contour plot of a 2-D test function with one trajectory per label. ``colours``: label ->
    colour (a report's, by optimizer; None: matplotlib's cycle); trajectories that share a
    colour (one optimizer at several lr) differ in dash pattern."""
    fig, ax = _surface_axes(function_name, paths, title)
    drawn: dict[str | None, int] = {}
    for label, path in paths.items():
        points = _finite(path)
        colour = (colours or {}).get(label)
        dash = DASHES[drawn.get(colour, 0) % len(DASHES)] if colour else "-"
        drawn[colour] = drawn.get(colour, 0) + 1
        line = ax.plot(
            points[:, 0],
            points[:, 1],
            dash,
            color=colour,
            lw=1.4,
            label=f"{label} ({len(path) - 1} steps)",
        )[0]
        ax.plot(points[-1, 0], points[-1, 1], "x", color=line.get_color(), ms=8)
    ax.legend(loc="best", fontsize=8, framealpha=0.85)
    return fig


class _Animation:
    def __init__(self, animation: Any, fps: int):
        self.animation, self.fps = animation, fps

    def save(self, path: str) -> None:
        from matplotlib.animation import PillowWriter

        self.animation.save(path, writer=PillowWriter(fps=self.fps))


def landscape_animation(
    function_name: str, paths: dict[str, list], title: str, frames: int = 80, fps: int = 15
) -> Any:
    """The trajectories of ``landscape`` drawn step by step (``save(path)`` writes a GIF)."""
    import numpy as np
    from matplotlib.animation import FuncAnimation

    fig, ax = _surface_axes(function_name, paths, title)
    points = {label: _finite(path) for label, path in paths.items()}
    lines = {label: ax.plot([], [], "-", lw=1.4, label=label)[0] for label in points}
    heads = {
        label: ax.plot([], [], "o", color=lines[label].get_color(), ms=6)[0] for label in points
    }
    ax.legend(loc="best", fontsize=8, framealpha=0.85)
    longest = max(len(p) for p in points.values())
    cuts = np.unique(np.geomspace(1, longest, frames).astype(int))  # fast start, long tail

    def draw(cut: int) -> list:
        for label, p in points.items():
            shown = p[: min(cut, len(p))]
            lines[label].set_data(shown[:, 0], shown[:, 1])
            heads[label].set_data(shown[-1:, 0], shown[-1:, 1])
        return [*lines.values(), *heads.values()]

    return _Animation(FuncAnimation(fig, draw, frames=list(cuts), blit=False), fps)


def confusion_matrix(y_true: Any, y_pred: Any, n_classes: int, title: str) -> Any:
    """Counts of (true, predicted) test labels, with the per-class recall on the diagonal."""
    import numpy as np
    from matplotlib.figure import Figure

    counts = np.zeros((n_classes, n_classes), dtype=int)
    np.add.at(counts, (np.asarray(y_true), np.asarray(y_pred)), 1)
    fig = Figure(figsize=(6, 5.4), dpi=100)
    ax = fig.add_subplot()
    image = ax.imshow(counts, cmap="Blues")
    fig.colorbar(image, ax=ax, fraction=0.046)
    peak = counts.max() or 1
    for i in range(n_classes):
        for j in range(n_classes):
            if counts[i, j]:
                color = "white" if counts[i, j] > peak / 2 else "black"
                ax.text(j, i, str(counts[i, j]), ha="center", va="center", fontsize=7, color=color)
    ax.set_xticks(range(n_classes))
    ax.set_yticks(range(n_classes))
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    accuracy = np.trace(counts) / max(counts.sum(), 1)
    ax.set_title(f"{title} · test accuracy {accuracy:.4f}", fontsize=10)
    return fig


def misclassified(images: Any, y_true: Any, y_pred: Any, title: str) -> Any:
    """Up to 25 misclassified test images (grey, or RGB as (N, H, W, 3)), each titled
    'true -> predicted'."""
    import numpy as np
    from matplotlib.figure import Figure

    images = np.asarray(images)
    if images.ndim == 4 and images.dtype != np.uint8:  # scaled RGB: stretch each to [0, 1]
        low = images.min(axis=(1, 2, 3), keepdims=True)
        images = (images - low) / np.maximum(images.max(axis=(1, 2, 3), keepdims=True) - low, 1e-12)

    fig = Figure(figsize=(7, 7.4), dpi=100)
    fig.suptitle(f"{title} · misclassified (true -> predicted)", fontsize=10)
    for k in range(25):
        ax = fig.add_subplot(5, 5, k + 1)
        ax.axis("off")
        if k < len(images):
            ax.imshow(images[k], cmap="gray_r")
            ax.set_title(f"{y_true[k]} -> {y_pred[k]}", fontsize=9, color="tab:red")
    fig.subplots_adjust(left=0.02, right=0.98, bottom=0.02, top=0.9, hspace=0.35)
    return fig


def sweep_curves(curves: dict[str, dict], key: str) -> Any:
    """``key`` per step (left) and per second of training (right), one line per run."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(12, 4.6), dpi=100)
    by_step, by_time = fig.add_subplot(1, 2, 1), fig.add_subplot(1, 2, 2)
    for name, curve in curves.items():
        line = by_step.plot(curve["step"], curve[key], "-", lw=1.3, label=name)[0]
        timed = [
            (t, v) for t, v in zip(curve["elapsed_s"], curve[key], strict=True) if t is not None
        ]
        if timed:
            by_time.plot(*zip(*timed, strict=True), "-", lw=1.3, color=line.get_color())
    _whole_steps(by_step)
    for ax, label in ((by_step, "step (iteration / epoch)"), (by_time, axis_label("elapsed_s"))):
        ax.set_xlabel(label)
        ax.set_ylabel(key)
        ax.set_yscale("log")
        ax.grid(alpha=0.3)
    by_step.legend(fontsize=7, loc="upper right")
    fig.suptitle(f"{key} per step and per second of training")
    fig.subplots_adjust(left=0.07, right=0.98, bottom=0.12, top=0.9, wspace=0.2)
    return fig


def grouped_curves(
    curves: pd.DataFrame,
    labels: dict[str, str],
    key: str,
    x: str,
    title: str,
    log_y: bool,
    colours: dict[str, str] | None = None,
) -> Any:
    """``key`` against ``x`` ('step' or 'elapsed_s'): per label the mean over its runs (seeds)
    as a line and their min-max as a band; against time, each run is drawn thin instead.
    ``labels``: run id -> label; ``colours``: label -> colour (None: ``colours_for``)."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7.5, 4.6), dpi=100)
    ax = fig.add_subplot(1, 1, 1)
    data = curves[(curves["key"] == key) & curves["run_id"].isin(labels)]
    colours = colours if colours is not None else colours_for(labels.values())
    for label in dict.fromkeys(labels.values()):
        color = colours[label]
        runs = [r for r, lab in labels.items() if lab == label]
        part = data[data["run_id"].isin(runs)]
        if part.empty:
            continue
        if x == "step":
            table = part.pivot_table(index="step", columns="run_id", values="value")
            mean = table.mean(axis=1)
            ax.plot(
                mean.index, mean.to_numpy(), color=color, lw=1.6, label=f"{label} (n={len(runs)})"
            )
            if table.shape[1] > 1:
                ax.fill_between(
                    table.index, table.min(axis=1), table.max(axis=1), color=color, alpha=0.2
                )
        else:
            for j, (_, run) in enumerate(part.dropna(subset=["elapsed_s"]).groupby("run_id")):
                run = run.sort_values("step")
                ax.plot(
                    run["elapsed_s"],
                    run["value"],
                    color=color,
                    lw=1.0,
                    alpha=0.8,
                    label=label if j == 0 else None,
                )
    if log_y and (data["value"] > 0).all() and not data.empty:
        ax.set_yscale("log")
    ax.set_xlabel("step (iteration / epoch)" if x == "step" else axis_label(x))
    if x == "step":
        _whole_steps(ax)
    ax.set_ylabel(key)
    ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def performance_profile(
    rho: pd.DataFrame, title: str, colours: dict[str, str] | None = None
) -> Any:
    """rho_s(tau) as steps, tau on a log axis; ``colours``: label (column) -> colour (None:
    ``colours_for``)."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7.5, 4.6), dpi=100)
    ax = fig.add_subplot(1, 1, 1)
    labels = [str(c) for c in rho.columns]
    colours = colours if colours is not None else colours_for(labels)
    for column, label in zip(rho.columns, labels, strict=True):
        ax.step(rho.index, rho[column], where="post", lw=1.6, label=label, color=colours[label])
    ax.set_xscale("log")
    ax.set_ylim(-0.02, 1.02)
    ax.set_xlabel("tau (time to target / best time on the problem)")
    ax.set_ylabel("fraction of problems within tau")
    ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    return fig


def taus_for(costs: pd.DataFrame) -> np.ndarray:
    """The tau values where a performance profile can step: every finite cost ratio, and an
    even log grid from 1 to a little beyond the largest."""
    import numpy as np

    c = costs.to_numpy(dtype=float)
    reached = np.where(np.isfinite(c), c, np.nan)
    solved = ~np.isnan(reached).all(axis=1)  # problems no optimizer solved have no best
    best = np.full((len(c), 1), np.nan)
    best[solved, 0] = np.nanmin(reached[solved], axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        ratios = c / best
    finite = ratios[np.isfinite(ratios)]
    top = max(2.0, float(finite.max()) * 1.2) if finite.size else 2.0
    return np.unique(np.concatenate([np.geomspace(1.0, top, 60), finite]))
