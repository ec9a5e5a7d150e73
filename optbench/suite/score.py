"""AlgoPerf-style scoring on plain numbers (NumPy only, so the suite runner, the report and the
tests can all call it without MLflow or Keras).

The inputs are times to target: ``times[submission][workload]`` is the steps (or seconds) a
submission took to reach the workload's target, ``math.inf`` where it never did. As in AlgoPerf
(Dahl et al. 2023, "Benchmarking Neural Network Training Algorithms"; mlcommons/
algorithmic-efficiency, scoring/performance_profile.py), each time is divided by the best time
on its workload over every submission scored together (the user's optimizer and the baselines),
rho_s(tau) is the share of workloads with ratio <= tau, and the score is the integral of rho_s
over [1, tau_max] divided by tau_max - 1. AlgoPerf integrates a sampled profile with the
trapezoid rule; here the step function is integrated exactly, so hand-computed scores match.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence

import numpy as np

TAU_MAX = 4.0  # AlgoPerf's upper limit of integration for the benchmark score


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
    best = {w: min(row[w] for row in checked.values()) for w in workloads}
    return {
        s: {w: (t / best[w] if math.isfinite(t) else math.inf) for w, t in row.items()}
        for s, row in checked.items()
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
    return (r[np.newaxis, :] <= t.reshape(-1, 1)).mean(axis=1).reshape(t.shape)


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


def geometric_mean_speedup(
    times: Mapping[str, Mapping[str, float]], submission: str, baseline: str
) -> float:
    """Geometric mean over the workloads both reached of baseline time / submission time (> 1:
    the submission is faster). Geometric, because speedups are ratios: 2x on one workload and
    0.5x on another should average to 1x. NaN when no workload was reached by both."""
    sub, base = times[submission], times[baseline]
    logs = [
        math.log(_check_time(baseline, w, base[w]) / _check_time(submission, w, t))
        for w, t in sub.items()
        if w in base and math.isfinite(t) and math.isfinite(base[w])
    ]
    return math.exp(sum(logs) / len(logs)) if logs else math.nan


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
