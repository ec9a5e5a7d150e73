"""The numbers behind the report, on plain arrays and DataFrames: seed statistics with
bootstrap confidence intervals, noise flags, time-to-target, Dolan-Moré performance profiles."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

from optbench.metrics import first_crossing, higher_is_better

BOOTSTRAP_SAMPLES = 2000
ONE_SEED = "1 seed: no noise estimate"  # vs_best where a side has no spread to compare


def bootstrap_ci(
    values: Sequence[float], level: float = 0.95, samples: int = BOOTSTRAP_SAMPLES, seed: int = 0
) -> tuple[float, float]:
    """Percentile bootstrap interval of the mean (seeded: the same data gives the same CI)."""
    x = np.asarray(values, dtype=float)
    if len(x) == 0:
        return math.nan, math.nan
    if len(x) == 1:
        return float(x[0]), float(x[0])
    rng = np.random.default_rng(seed)
    means = x[rng.integers(len(x), size=(samples, len(x)))].mean(axis=1)
    tail = (1 - level) / 2 * 100
    return float(np.percentile(means, tail)), float(np.percentile(means, 100 - tail))


def difference_ci(
    a: Sequence[float], b: Sequence[float], level: float = 0.95, seed: int = 0
) -> tuple[float, float]:
    """Bootstrap interval of mean(a) - mean(b), resampling each group independently."""
    xa, xb = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    rng = np.random.default_rng(seed)
    da = xa[rng.integers(len(xa), size=(BOOTSTRAP_SAMPLES, len(xa)))].mean(axis=1)
    db = xb[rng.integers(len(xb), size=(BOOTSTRAP_SAMPLES, len(xb)))].mean(axis=1)
    tail = (1 - level) / 2 * 100
    diff = da - db
    return float(np.percentile(diff, tail)), float(np.percentile(diff, 100 - tail))


def seed_summary(runs: pd.DataFrame, metric: str, by: list[str], within: list[str]) -> pd.DataFrame:
    """One row per group ``by``: n, mean, std, 95% bootstrap CI of ``metric``; ``vs_best``
    compares each group with the best group of its ``within`` block (e.g. same dataset and
    model): 'best', 'within noise' (the CI of the difference of means contains 0), 'worse', or
    ONE_SEED when either side has a single seed: one value says nothing about the noise, so
    calling the gap noise (or real) would be a guess."""
    rows = []
    for key, group in runs.dropna(subset=[metric]).groupby(by, sort=False, dropna=False):
        values = group[metric].to_numpy(dtype=float)
        low, high = bootstrap_ci(values)
        rows.append(
            {
                **dict(zip(by, key, strict=True)),  # a list ``by`` gives tuple keys
                "n": len(values),
                "mean": values.mean(),
                "std": values.std(ddof=1) if len(values) > 1 else 0.0,
                "ci_low": low,
                "ci_high": high,
                "_values": values,
            }
        )
    table = pd.DataFrame(rows)
    if table.empty:
        return table
    best_is_max = higher_is_better(metric)
    vs_best = {}  # row -> flag; every row is in one block, and the blocks' order is no matter
    for _, block in table.groupby(within, dropna=False):
        best = block["mean"].idxmax() if best_is_max else block["mean"].idxmin()
        for i in block.index:
            if i == best:
                vs_best[i] = "best"
                continue
            a, b = table.loc[i, "_values"], table.loc[best, "_values"]
            if min(len(a), len(b)) < 2:
                vs_best[i] = ONE_SEED
                continue
            low, high = difference_ci(a, b)
            vs_best[i] = "within noise" if low <= 0 <= high else "worse"
    table["vs_best"] = pd.Series(vs_best)
    return table.drop(columns="_values")


def crossing(
    steps: Sequence[float], values: Sequence[float], target: float, maximize: bool
) -> int | None:
    """Index of the first value at or beyond ``target`` (None: never)."""
    return first_crossing(values, target, maximize)


def derived_target(finals: Sequence[float], maximize: bool, tolerance: float) -> float:
    """The best final value relaxed by a relative ``tolerance`` (AlgoPerf-style target when
    none is given): best * (1 - tol) for a metric to maximise, best * (1 + tol) otherwise."""
    finite = [v for v in finals if math.isfinite(v)]
    best = max(finite) if maximize else min(finite)
    return best - tolerance * abs(best) if maximize else best + tolerance * abs(best)


def ratios_to_best(costs: np.ndarray, axis: int = -1) -> np.ndarray:
    """Each cost over the best cost of its problem (the minimum along ``axis``, the solvers):
    inf where a solver failed (inf or NaN) and on a problem nobody solved; a best of 0 gives
    ratio 1 to the solvers at 0 and inf to the rest."""
    c = np.asarray(costs, dtype=float)
    c = np.where(np.isfinite(c), c, np.inf)
    best = c.min(axis=axis, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = np.where(np.isfinite(best), c / best, np.inf)
    return np.where(best == 0, np.where(c == 0, 1.0, np.inf), ratio)


def profile(ratios: np.ndarray, taus: Sequence[float] | np.ndarray) -> np.ndarray:
    """rho_s(tau), the share of problems (rows of ``ratios``) on which solver s (a column) is
    within a factor tau of the best (inf never is): taus (rows) x solvers. The one Dolan-Moré
    profile: the report's and the suite's AlgoPerf score both read it."""
    # tau >= r for every tau, problem and solver: taus x problems x solvers
    return np.greater_equal.outer(np.ravel(taus), ratios).mean(axis=1)


def performance_profile(costs: pd.DataFrame, taus: Sequence[float]) -> pd.DataFrame:
    """Dolan & Moré (2002). ``costs``: problems (rows) x solvers (columns), inf or NaN where a
    solver failed. r = cost / best cost on the problem; rho_s(tau) = share of problems with
    r <= tau. Returns taus (rows) x solvers. A problem that no solver solved counts against all."""
    rho = profile(ratios_to_best(costs.to_numpy()), taus)  # solvers: the last axis
    return pd.DataFrame(rho, index=pd.Index(list(taus), name="tau"), columns=costs.columns)
