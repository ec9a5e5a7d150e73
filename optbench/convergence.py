"""Convergence analysis of any run's loss history (every trainer gets the same numbers).

convergence_rate: slope of log(loss - loss*) against step, by least squares. A linear
    (geometric) convergence loss_t - loss* = C q^t has slope log q: the more negative, the
    faster. loss* defaults to 0, the infimum of a log-loss.
plateau_step: the first step after which the loss changes by less than ``tol`` for
    ``window`` consecutive steps."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np


def convergence_rate(losses: Sequence[float], loss_star: float = 0.0) -> float | None:
    """Least-squares slope of log(loss_t - loss*) vs t over the finite, positive gaps."""
    steps = np.arange(1, len(losses) + 1, dtype=float)
    gaps = np.asarray(losses, dtype=float) - loss_star
    keep = np.isfinite(gaps) & (gaps > 0)
    if keep.sum() < 2:
        return None
    slope, _ = np.polyfit(steps[keep], np.log(gaps[keep]), 1)
    return float(slope)


def plateau_step(losses: Sequence[float], tol: float, window: int) -> int | None:
    """First step s (1-based) with |loss_{i+1} - loss_i| < tol for the ``window`` changes
    after it; None if the loss never settles."""
    changes = np.abs(np.diff(np.asarray(losses, dtype=float)))
    calm = 0
    for i, change in enumerate(changes):
        calm = calm + 1 if math.isfinite(change) and change < tol else 0
        if calm == window:
            return i + 2 - window  # the step whose loss starts the calm run
    return None


def convergence_metrics(history: list[dict[str, float]], tol: float, window: int) -> dict:
    """The final metrics ``convergence_rate`` and ``plateau_step`` of a run's train_loss."""
    losses = [h["train_loss"] for h in history if "train_loss" in h]
    metrics: dict[str, float] = {}
    rate = convergence_rate(losses)
    if rate is not None:
        metrics["convergence_rate"] = rate
    step = plateau_step(losses, tol, window)
    if step is not None:
        metrics["plateau_step"] = step
    return metrics
