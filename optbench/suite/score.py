"""AlgoPerf-style scoring on plain numbers (NumPy, and the report's Dolan-Moré profile in
optbench.report.stats, so the suite runner, the report and the tests can all call it without
MLflow or Keras).

The inputs are times to target: ``times[submission][workload]`` is the steps (or seconds) a
submission took to reach the workload's target, ``math.inf`` where it never did. As in AlgoPerf
(Dahl et al. 2023, "Benchmarking Neural Network Training Algorithms"; mlcommons/
algorithmic-efficiency, scoring/performance_profile.py), each time is divided by the best time
on its workload over every submission scored together (the *pool*), rho_s(tau) is the share of
workloads with ratio <= tau, and the score is the integral of rho_s over [1, tau_max] divided by
tau_max - 1. AlgoPerf integrates a sampled profile with the trapezoid rule; here the step
function is integrated exactly, so hand-computed scores match.

A score means nothing outside its pool (the best time on a workload is the pool's), so
``score_pool`` scores one pool from the per-seed times: a seed past the workload's budget counts
as not reached (AlgoPerf gives a run past its max_runtime an infinite time), the speed-up over
a reference follows AlgoPerf's scoring/compute_speedups.py (a miss counts as budget + 1, the
geometric mean runs over every workload), and every score and speed-up carries a bootstrap
interval over seeds.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from optbench.report.stats import profile, ratios_to_best

TAU_MAX = 4.0  # AlgoPerf's upper limit of integration for the benchmark score
RESAMPLES = 1000  # bootstrap resamples of the seeds behind every interval
LEVEL = 0.95  # the intervals are 95% percentile intervals (2.5th to 97.5th percentile)
BOOTSTRAP_SEED = 0  # fixed, so a pool's intervals are the same on every machine and run


def _check_time(submission: str, workload: str, time: float) -> float:
    """A time must be a positive number or inf: NaN or <= 0 would make every ratio on the
    workload meaningless, so it is an error here rather than a silent wrong score."""
    t = float(time)
    if math.isnan(t) or t <= 0:
        raise ValueError(
            f"time to target of {submission!r} on {workload!r} is {time!r}: "
            "expected a positive number, or math.inf where the target was not reached"
        )
    return t


def performance_ratios(times: Mapping[str, Mapping[str, float]]) -> dict[str, dict[str, float]]:
    """``times[s][w] / min over s' of times[s'][w]`` for every submission and workload.

    A submission that did not reach the target keeps ratio inf; on a workload no submission
    reached, every ratio is inf (nobody is within any factor of a best that does not exist).
    Every submission must list the same workloads: a missing one would quietly shrink its
    denominator in the profile, so the caller has to say inf instead."""
    if not times:
        return {}
    workloads = set(next(iter(times.values())))
    for name, row in times.items():
        if set(row) != workloads:
            raise ValueError(
                f"submission {name!r} has workloads {sorted(row)}, expected {sorted(workloads)}"
            )
    checked = {s: {w: _check_time(s, w, t) for w, t in row.items()} for s, row in times.items()}
    order = {w: j for j, w in enumerate(workloads)}
    ratios = ratios_to_best(np.array([[row[w] for w in order] for row in checked.values()]), 0)
    return {
        s: {w: float(ratios[i, order[w]]) for w in row}
        for i, (s, row) in enumerate(checked.items())
    }


def _ratio_array(ratios_of_one: Mapping[str, float] | Iterable[float]) -> np.ndarray:
    """One submission's ratios (a row of performance_ratios, or just the numbers) as an array;
    an empty suite has no profile, and a ratio below 1 or NaN means the ratios were not taken
    against a best that includes this submission."""
    values = ratios_of_one.values() if isinstance(ratios_of_one, Mapping) else ratios_of_one
    r = np.asarray(list(values), dtype=float)
    if r.size == 0:
        raise ValueError("no workloads: the performance profile of an empty suite is undefined")
    if np.isnan(r).any() or (r < 1).any():
        raise ValueError(f"performance ratios must be >= 1 or inf, got {r.tolist()}")
    return r


def performance_profile(
    ratios_of_one: Mapping[str, float] | Iterable[float], taus: np.ndarray | Sequence[float]
) -> np.ndarray:
    """rho(tau): the share of workloads whose ratio is <= tau, for each tau (inf never is)."""
    r = _ratio_array(ratios_of_one)
    t = np.asarray(taus, dtype=float)
    return profile(r[:, np.newaxis], t)[:, 0].reshape(t.shape)


def algoperf_score(
    ratios_of_one: Mapping[str, float] | Iterable[float], tau_max: float = TAU_MAX
) -> float:
    """Integral of rho(tau) over [1, tau_max] divided by tau_max - 1, in [0, 1].

    rho is a step function that rises by 1/n at each ratio, so the integral is exact: a workload
    with ratio r adds (tau_max - r) / n when r < tau_max and nothing otherwise (a ratio of 1
    adds the full width, a workload not reached adds 0)."""
    if not tau_max > 1:
        raise ValueError(f"tau_max must be > 1, got {tau_max!r}")
    r = np.sort(_ratio_array(ratios_of_one))
    widths = np.clip(tau_max - r, 0.0, None)  # inf ratios give -inf -> 0
    return float(widths.sum() / r.size / (tau_max - 1))


def speedup_over_best_baseline(
    times: Mapping[str, Mapping[str, float]], submission: str, baselines: Iterable[str]
) -> dict[str, float]:
    """Per workload, the best (smallest) baseline time / the submission's time.

    0 where only the baselines reached the target, inf where only the submission did, NaN
    where neither did (no time to compare)."""
    names = list(baselines)
    out = {}
    for w, t in times[submission].items():
        mine = _check_time(submission, w, t)
        best = min(_check_time(b, w, times[b][w]) for b in names)
        if math.isfinite(mine):
            out[w] = best / mine  # inf when no baseline reached it
        else:
            out[w] = 0.0 if math.isfinite(best) else math.nan
    return out


def median_over_seeds(values: Iterable[float | None]) -> float:
    """AlgoPerf's self-tuning rule: the median over the suite's seeds of the per-seed steps
    (or seconds) to target counts, a seed that did not reach the target (inf or None) counting
    as inf.

    So the median is inf when more than half of the seeds failed, and also at exactly half
    with an even count (the mean of the two middle values is then inf): a target counts as
    reached only when a strict majority of seeds reached it."""
    v = np.asarray([math.inf if x is None else float(x) for x in values], dtype=float)
    if v.size == 0:
        raise ValueError("no seeds: the median over seeds is undefined")
    if np.isnan(v).any():
        raise ValueError(f"steps to target must be numbers or inf, got {v.tolist()}")
    return float(np.median(v))


def reached_over_seeds(values: Iterable[float | None]) -> bool:
    """Whether the workload counts as reached: its median over seeds is finite."""
    return math.isfinite(median_over_seeds(values))


def within_budget(values: Iterable[float | None], budget: float) -> list[float]:
    """Per seed, the time to target, inf where it was not reached or only past ``budget``.

    AlgoPerf gives a trial that misses the target within max_runtime an infinite time, and the
    infinity takes part in the median over seeds. Cut per seed, not on the median: of two
    seeds, one within and one past the budget, the median is inf (no majority reached it),
    while the median of the raw times could fall within the budget."""
    out = []
    for value in values:
        t = math.inf if value is None else float(value)
        if math.isnan(t):
            raise ValueError(f"time to target must be a number or inf, got {value!r}")
        out.append(t if t <= budget else math.inf)
    return out


def algoperf_speedup(
    times: Mapping[str, Mapping[str, float]],
    submission: str,
    reference: str,
    budgets: Mapping[str, float],
) -> tuple[float, int]:
    """The geometric mean over every workload of reference time / submission time (> 1: the
    submission is faster), and how many workloads it rests on.

    AlgoPerf's scoring/compute_speedups.py: a time not reached (inf) counts as the workload's
    budget + 1 (its max_runtime + 1 s there), so a workload missed by one side weighs as
    budget + 1 over the other's time, and one missed by both as 1x. Geometric, because speed-ups
    are ratios. It rests on the workloads that the submission or the reference reached: the
    others are 1x by construction."""
    sub, ref = times[submission], times[reference]
    logs, rests_on = [], 0
    for w, budget in budgets.items():
        mine = _check_time(submission, w, sub[w])
        theirs = _check_time(reference, w, ref[w])
        rests_on += math.isfinite(mine) or math.isfinite(theirs)
        miss = budget + 1
        logs.append(
            math.log(
                (theirs if math.isfinite(theirs) else miss)
                / (mine if math.isfinite(mine) else miss)
            )
        )
    if not logs:
        raise ValueError("no workloads: the speed-up over an empty suite is undefined")
    return math.exp(sum(logs) / len(logs)), rests_on


@dataclass(frozen=True)
class Estimate:
    """A point estimate and its bootstrap percentile interval [low, high]."""

    point: float
    low: float
    high: float


@dataclass(frozen=True)
class Scored:
    """One optimizer of a pool: its median times (inf: not reached), the AlgoPerf score and the
    speed-up over the pool's reference (None without one), each with its interval, and the
    number of workloads the speed-up rests on (reached by it or by the reference)."""

    name: str
    times: dict[str, float]
    reached: int
    score: Estimate
    speedup: Estimate | None
    rests_on: int


def _scores(times: np.ndarray, tau_max: float) -> np.ndarray:
    """algoperf_score of every optimizer at once: ``times[..., optimizer, workload]`` ->
    ``[..., optimizer]``. The best is over the pool (axis -2); inf times keep ratio inf."""
    ratios = ratios_to_best(times, axis=-2)
    widths = np.clip(tau_max - ratios, 0.0, None)
    return widths.sum(axis=-1) / times.shape[-1] / (tau_max - 1)


def _speedups(times: np.ndarray, reference: int, misses: np.ndarray) -> np.ndarray:
    """algoperf_speedup of every optimizer over optimizer ``reference`` at once."""
    counted = np.where(np.isfinite(times), times, misses)
    logs = np.log(counted[..., reference : reference + 1, :] / counted)
    return np.exp(logs.mean(axis=-1))


def _resampled_medians(
    values: list[float], name: str, workload: str, resamples: int, seed: int
) -> np.ndarray:
    """``resamples`` medians of the seeds drawn with replacement. Each optimizer and workload
    draws from its own generator, seeded by the fixed seed and the two names, so the draws do
    not depend on who else is in the pool or in which order."""
    v = np.asarray(values, dtype=float)
    key = [seed, zlib.crc32(name.encode()), zlib.crc32(workload.encode())]
    idx = np.random.default_rng(key).integers(0, v.size, size=(resamples, v.size))
    return np.median(v[idx], axis=1)


def score_pool(
    per_seed: Mapping[str, Mapping[str, Sequence[float | None]]],
    budgets: Mapping[str, float] | None = None,
    reference: str | None = None,
    *,
    resamples: int = RESAMPLES,
    level: float = LEVEL,
    seed: int = BOOTSTRAP_SEED,
    tau_max: float = TAU_MAX,
) -> dict[str, Scored]:
    """Score every optimizer of one pool together, from its per-seed times to target.

    ``per_seed[optimizer][workload]``: the times of its seeds (or studies; inf or None: not
    reached). ``budgets[workload]``: the budget in the same unit, which cuts seeds past it
    (within_budget) and is the miss time of the speed-up; None: no cut and no speed-up (a
    table on seconds, which have no budget). ``reference``: the optimizer the speed-ups are
    over (NAdamW), or None.

    The point estimates score the medians over seeds. The intervals: ``resamples`` times,
    every optimizer's seeds on every workload are drawn again with replacement, the medians,
    the pool's best times, the scores and the speed-ups recomputed; the interval is the
    central ``level`` share of those (percentile bootstrap). Where all seeds agree it
    collapses to the point."""
    names = list(per_seed)
    if not names:
        return {}
    workloads = list(per_seed[names[0]])
    for name in names:
        if set(per_seed[name]) != set(workloads):
            raise ValueError(
                f"optimizer {name!r} has workloads {sorted(per_seed[name])}, "
                f"expected {sorted(workloads)}: a pool scores everyone on the same workloads"
            )
    if not workloads:
        raise ValueError("no workloads: the performance profile of an empty suite is undefined")
    if budgets is not None and not set(workloads) <= set(budgets):
        missing = sorted(set(workloads) - set(budgets))
        raise ValueError(f"no budget for workloads {missing}")
    if reference is not None and reference not in per_seed:
        raise ValueError(f"the reference {reference!r} is not in the pool {names}")
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), got {level!r}")
    cut: dict[str, dict[str, list[float]]] = {}
    for name in names:
        cut[name] = {}
        for w in workloads:
            values = list(per_seed[name][w])
            if not values:
                raise ValueError(f"{name!r} has no seeds on {w!r}")
            budget = math.inf if budgets is None else float(budgets[w])
            cut[name][w] = within_budget(values, budget)
            for t in cut[name][w]:
                _check_time(name, w, t)
    point = np.array([[median_over_seeds(cut[n][w]) for w in workloads] for n in names])
    draws = np.empty((resamples, len(names), len(workloads)))
    for i, n in enumerate(names):
        for j, w in enumerate(workloads):
            draws[:, i, j] = _resampled_medians(cut[n][w], n, w, resamples, seed)
    tails = [100 * (1 - level) / 2, 100 * (1 + level) / 2]
    scores, score_draws = _scores(point, tau_max), _scores(draws, tau_max)
    score_low, score_high = np.percentile(score_draws, tails, axis=0)
    speedups = speedup_low = speedup_high = None
    if reference is not None and budgets is not None:
        ref, misses = names.index(reference), np.array([budgets[w] + 1 for w in workloads])
        speedups = _speedups(point, ref, misses)
        speedup_low, speedup_high = np.percentile(_speedups(draws, ref, misses), tails, axis=0)
    out = {}
    for i, name in enumerate(names):
        times = dict(zip(workloads, point[i].tolist(), strict=True))
        reached = int(np.isfinite(point[i]).sum())
        speedup, rests_on = None, 0
        if speedups is not None and reference is not None:
            speedup = Estimate(float(speedups[i]), float(speedup_low[i]), float(speedup_high[i]))
            rests_on = int((np.isfinite(point[i]) | np.isfinite(point[ref])).sum())
        score = Estimate(float(scores[i]), float(score_low[i]), float(score_high[i]))
        out[name] = Scored(name, times, reached, score, speedup, rests_on)
    return out
