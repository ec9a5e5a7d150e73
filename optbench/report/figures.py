"""Report figures (matplotlib, no pyplot state): grouped curves with seed bands, and the
Dolan-Moré performance profile."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd


def grouped_curves(
    curves: pd.DataFrame, labels: dict[str, str], key: str, x: str, title: str, log_y: bool
) -> Any:
    """``key`` against ``x`` ('step' or 'elapsed_s'): per label the mean over its runs (seeds)
    as a line and their min-max as a band; against time, each run is drawn thin instead."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7.5, 4.6), dpi=100)
    ax = fig.add_subplot(1, 1, 1)
    data = curves[(curves["key"] == key) & curves["run_id"].isin(labels)]
    for i, label in enumerate(dict.fromkeys(labels.values())):
        color = f"C{i % 10}"
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
    ax.set_xlabel("step (iteration / epoch)" if x == "step" else "training time (s)")
    ax.set_ylabel(key)
    ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def performance_profile(rho: pd.DataFrame, title: str) -> Any:
    """rho_s(tau) as steps, tau on a log axis."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7.5, 4.6), dpi=100)
    ax = fig.add_subplot(1, 1, 1)
    for column in rho.columns:
        ax.step(rho.index, rho[column], where="post", lw=1.6, label=str(column))
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
