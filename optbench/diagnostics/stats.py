"""Per-layer statistics from arrays (NumPy, float64): the one place the norms, update ratios
and distances of every trainer are computed. A *row* is one probe of one layer (``layer`` is
the layer's name, or ``ALL`` for the whole model); the Keras probe, the scikit-learn MLP and
the NumPy landscape trainer all hand their arrays here."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

ALL = "all"  # the layer name of the whole-model row


def _sq(arrays: Sequence[np.ndarray]) -> float:
    return float(sum(np.sum(np.square(np.asarray(a, dtype=np.float64))) for a in arrays))


def _nonfinite(arrays: Sequence[np.ndarray]) -> int:
    return int(sum(np.size(a) - np.count_nonzero(np.isfinite(a)) for a in arrays))


def _ratio(num: float, den: float) -> float:
    return num / den if den > 0 and math.isfinite(den) else math.nan


def layer_rows(
    step: int,
    layers: Mapping[str, Sequence[int]],
    weights: Sequence[np.ndarray],
    initial: Sequence[np.ndarray],
    grads: Sequence[np.ndarray] | None = None,
    before: Sequence[np.ndarray] | None = None,
    after: Sequence[np.ndarray] | None = None,
    steps_between: int = 1,
) -> list[dict[str, Any]]:
    """One row per layer and one for ``ALL``: ``layers`` maps a layer's name to the indices of
    its arrays in ``weights`` (input side first). ``weights`` are where the probe stands and
    ``initial`` where training began; ``before``/``after`` (when given) bracket
    ``steps_between`` optimizer steps, whose mean update per step is measured:
    update_norm = ||after - before|| / steps_between, update_ratio = update_norm / ||before||.

    grad_norm: ||g||; weight_norm: ||w||; dist_init: ||w - w0||; nonfinite: entries of the
    gradient and weights that are NaN or infinite."""
    groups = {**layers, ALL: list(range(len(weights)))}
    rows = []
    for name, idx in groups.items():

        def pick(arrays: Sequence[Any], idx: Sequence[int] = idx) -> list:
            return [arrays[i] for i in idx]

        w = pick(weights)
        row: dict[str, Any] = {
            "step": int(step),
            "layer": name,
            "weight_norm": math.sqrt(_sq(w)),
            "dist_init": math.sqrt(
                _sq([np.asarray(a, np.float64) - b for a, b in zip(w, pick(initial), strict=True)])
            ),
            "nonfinite": _nonfinite(w),
        }
        if grads is not None:
            g = pick(grads)
            row["grad_norm"] = math.sqrt(_sq(g))
            row["nonfinite"] += _nonfinite(g)
        if before is not None and after is not None:
            row.update(_update(pick(before), pick(after), steps_between))
        rows.append(row)
    return rows


def _update(before: Sequence[np.ndarray], after: Sequence[np.ndarray], steps: int) -> dict:
    delta = [np.asarray(a, np.float64) - b for a, b in zip(after, before, strict=True)]
    norm = math.sqrt(_sq(delta)) / max(steps, 1)
    return {"update_norm": norm, "update_ratio": _ratio(norm, math.sqrt(_sq(before)))}


def add_updates(
    rows: list[dict[str, Any]], layers: Mapping[str, Sequence[int]], before: Sequence[np.ndarray],
    after: Sequence[np.ndarray], steps: int,
) -> None:  # fmt: skip
    """Give a probe's rows (``layer_rows`` without before/after) the mean update per step of
    the ``steps`` steps from ``before`` to ``after``, as ``layer_rows`` computes it."""
    groups = {**layers, ALL: list(range(len(before)))}
    for row in rows:
        idx = groups[row["layer"]]
        row.update(_update([before[i] for i in idx], [after[i] for i in idx], steps))


def noise_rows(
    step: int, layers: Mapping[str, Sequence[int]], split_grads: Sequence[Sequence[np.ndarray]],
    split_size: int,
) -> dict[str, dict[str, float]]:  # fmt: skip
    """From the gradients of k equal micro-batches of b = ``split_size`` examples each (one
    batch of B = k b): per layer, ``snr`` = |G_B|^2 / (tr S_b), the squared norm of the batch
    gradient over the summed variance of the micro-batch gradients (S_b: their unbiased sample
    covariance); for ``ALL`` also McCandlish et al.'s (2018, App. A.1) unbiased estimates
    |G|^2 = (B |G_B|^2 - b |G_b|^2) / (B - b), tr(Sigma) = (|G_b|^2 - |G_B|^2) / (1/b - 1/B)
    (|G_b|^2: the mean over the micro-batches) and ``noise_scale`` B_simple = tr(Sigma) / |G|^2.
    Both estimates are unbiased but noisy, and the ratio of single-probe estimates can be
    negative: averaged over probes (the report's curves) they settle."""
    k, b = len(split_grads), split_size
    big = k * b
    groups = {**layers, ALL: list(range(len(split_grads[0])))}
    out: dict[str, dict[str, float]] = {}
    for name, idx in groups.items():
        per = [
            np.concatenate([np.ravel(np.asarray(g[i], np.float64)) for i in idx])
            for g in split_grads
        ]
        stack = np.stack(per)
        mean = stack.mean(axis=0)
        g_big = float(mean @ mean)
        g_small = float(np.mean(np.sum(stack * stack, axis=1)))
        spread = float(np.sum(np.var(stack, axis=0, ddof=1))) if k > 1 else math.nan
        row = {"snr": _ratio(g_big, spread)}
        if name == ALL:
            g2 = (big * g_big - b * g_small) / (big - b)
            trace = (g_small - g_big) / (1 / b - 1 / big)
            row.update(noise_scale=_ratio(trace, g2) if g2 > 0 else math.nan, grad_snr=row["snr"])
        out[name] = row
    return out
