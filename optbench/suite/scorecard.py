"""The suite's scorecard as files: index.html (tables and the performance-profile figure, next to
it as a PNG) and scorecard.md, in one folder that the suite logs on its parent run.

Inputs are plain data (the suite's WorkloadResult list and the pool it is scored in, a
pool.Pool), so the page can be built and tested without MLflow or a training run. The scoring
is optbench.suite.score's; this module arranges and formats it."""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from optbench.suite.pool import SUFFIX, Pool
from optbench.suite.result import HEADER, WorkloadResult
from optbench.suite.score import (
    LEVEL,
    RESAMPLES,
    TAU_MAX,
    Estimate,
    Scored,
    median_over_seeds,
    performance_profile,
    performance_ratios,
    speedup_over_best_baseline,
)

SPEEDUP = "speedup vs best baseline"
INTERVAL = f"{LEVEL:.0%} interval"
SCORE_HEADER = ["optimizer", "reached", f"AlgoPerf score (tau <= {TAU_MAX:g})",
                f"score, {INTERVAL}", "speedup vs nadamw (geometric mean)",
                f"speedup, {INTERVAL}", "workloads behind it"]  # fmt: skip
FIGURE = "performance_profile.png"
TOY_ONLY = (
    "Only workloads outside the scored group ran (the toy group: 2-D functions, whose paths "
    "are for the eye), so there is no score: optbench suite --list shows the scored ones."
)
NO_BASELINES = (
    "No baseline ran all these workloads, so there is no score or performance profile: "
    "optbench suite --rebuild-baselines"
)
RULES = (
    f"Scored together in one pool; a seed past the workload's budget counts as not reached. "
    f"Speed-up over the tuned NAdamW as AlgoPerf computes it: a workload not reached counts as "
    f"its budget + 1 step, the geometric mean runs over every workload, and the last column "
    f"says how many of them either side reached (the rest are 1x by construction). Intervals: "
    f"{LEVEL:.0%} percentile bootstrap over seeds ({RESAMPLES} resamples of every optimizer's "
    f"seeds per workload, fixed RNG seed, medians and pool rescored each time)."
)
_ME = "\0submission"  # the submission's key in times tables; no baseline can be named so


def speedup_column(
    results: Sequence[WorkloadResult], pool: Pool | None, label: str
) -> dict[str, float]:
    """Per workload: the best baseline's median steps / the submission's (row ``label``), both
    as the pool scores them (a seed past the budget counts as not reached).

    0.0: only baselines reached the target; inf: only the submission did; NaN: nobody reached
    it, or no baseline ran the workload (score.speedup_over_best_baseline's conventions)."""
    scored = pool.scored() if pool is not None else {}
    baselines = {n: s.times for n, s in scored.items() if n.endswith(SUFFIX)}
    out = {}
    for result in results:
        name = result.workload.name
        ran = {b: times[name] for b, times in baselines.items() if name in times}
        if not ran:
            out[name] = math.nan
            continue
        mine = scored[label].times[name] if label in scored else median_over_seeds(result.steps)
        times = {_ME: {name: mine}, **{b: {name: steps} for b, steps in ran.items()}}
        out[name] = speedup_over_best_baseline(times, _ME, ran)[name]
    return out


def speedup_cell(value: float) -> str:
    """A speedup as the tables show it; the words say which side missed the target."""
    if math.isnan(value):
        return "-"
    if value == 0:
        return "not reached"
    if math.isinf(value):
        return "no baseline reached"
    return f"{value:.2f}x"


def interval_cell(estimate: Estimate | None, form: str) -> str:
    """``[low, high]`` of an estimate in the point's format."""
    if estimate is None:
        return "-"
    return f"[{estimate.low:{form}}, {estimate.high:{form}}]"


def score_rows(scored: dict[str, Scored]) -> list[list[str]]:
    """The score table's cells, one row per optimizer of the pool, in the pool's order."""
    rows = []
    for s in scored.values():
        n = len(s.times)
        speedup = "-" if s.speedup is None else f"{s.speedup.point:.2f}x"
        speedup_interval = "-" if s.speedup is None else interval_cell(s.speedup, ".2f")
        rows.append(
            [
                s.name,
                f"{s.reached}/{n}",
                f"{s.score.point:.3f}",
                interval_cell(s.score, ".3f"),
                speedup,
                speedup_interval,
                "-" if s.speedup is None else f"{s.rests_on}/{n}",
            ]
        )
    return rows


def _tables(
    results: Sequence[WorkloadResult], pool: Pool | None, label: str
) -> tuple[list[list[str]], list[list[str]]]:
    """The per-workload rows and the score rows ([] without a pool)."""
    speedups = speedup_column(results, pool, label)
    rows = [[*r.row(), speedup_cell(speedups[r.workload.name])] for r in results]
    return rows, score_rows(pool.scored()) if pool is not None else []


def score_title(pool: Pool, n: int, what: str = "steps") -> str:
    """The score table's title, which names its pool: a score is only relative to it."""
    return f"Score over {n} workloads (median {what} to target), pool: {pool.label}"


def markdown(
    *, title: str, label: str, results: Sequence[WorkloadResult], pool: Pool | None
) -> str:
    """scorecard.md: the per-workload table, then the score table (or why there is none)."""
    from optbench.report.tables import markdown as table

    rows, scores = _tables(results, pool, label)
    parts = [f"# {title}", "", table([*HEADER, SPEEDUP], rows)]
    if scores and pool is not None:
        parts += [
            f"## {score_title(pool, len(pool.workloads))}",
            "",
            RULES,
            "",
            table(SCORE_HEADER, scores),
        ]
    elif not any(r.workload.group == "scored" for r in results):
        parts.append(TOY_ONLY + "\n")
    else:
        parts.append(NO_BASELINES + "\n")
    return "\n".join(parts)


def profile_figure(times: dict[str, dict[str, float]], label: str, path: Path) -> Path:
    """rho(tau) on [1, TAU_MAX] of every optimizer in ``times``, one colour per optimizer from
    plots.colours_for (the sweep report's map), saved as a PNG. The submission ``label`` is
    drawn last, so a baseline's equal step does not hide it."""
    import pandas as pd
    from matplotlib.ticker import NullFormatter

    from optbench.report import plots

    ratios = performance_ratios(times)
    finite = [r for row in ratios.values() for r in row.values() if r <= TAU_MAX]
    taus = np.unique(np.concatenate([np.linspace(1.0, TAU_MAX, 121), finite]))
    order = [*(name for name in ratios if name != label), label]
    rho = pd.DataFrame({name: performance_profile(ratios[name], taus) for name in order}, taus)
    n = len(ratios[label])
    title = f"performance profile · median steps to target on {n} workloads"
    figure = plots.performance_profile(rho, title, plots.colours_for(times))
    ax = figure.axes[0]
    ticks = [t for t in (1, 1.5, 2, 3, 4, 6, 8) if t <= TAU_MAX]
    ax.set_xticks(ticks, [f"{t:g}" for t in ticks])  # 1..4 on a log axis: no 2x10^0 labels
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_xlim(1.0, TAU_MAX)
    figure.savefig(path)
    return path


def write(
    folder: Path,
    *,
    title: str,
    label: str,
    results: Sequence[WorkloadResult],
    pool: Pool | None,
) -> Path:
    """Write index.html, scorecard.md and (with a pool) performance_profile.png into
    ``folder``; returns index.html's path. ``pool``: the submission ``label`` and the
    baselines scored together on median steps (pool.with_baselines), None without baselines."""
    from optbench.report.html import STYLE, _image, _text_table
    from optbench.report.tables import TextTable

    folder.mkdir(parents=True, exist_ok=True)
    rows, scores = _tables(results, pool, label)
    (folder / "scorecard.md").write_text(
        markdown(title=title, label=label, results=results, pool=pool)
    )
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'>",
        f"<title>{html.escape(title)}</title>",
        f"<style>{STYLE}</style></head><body>",
        f"<h1>{html.escape(title)}</h1>",
        f"<p>Optimizer: <b>{html.escape(label)}</b>. Steps to target: the median over seeds "
        "(a seed that missed, or reached it only past the budget, counts as infinite, so a "
        "target is reached when most seeds reach it). Speedup: the fewest median steps of any "
        "baseline divided by this optimizer's.</p>",
        "<h2>Per workload</h2>",
        _text_table(TextTable([*HEADER, SPEEDUP], rows)),
    ]
    if scores and pool is not None:
        times = {name: s.times for name, s in pool.scored().items()}
        parts += [
            f"<h2>{html.escape(score_title(pool, len(results)))}</h2>",
            f"<p>AlgoPerf score: the area under rho(tau) for tau in [1, {TAU_MAX:g}], divided "
            f"by {TAU_MAX - 1:g}; rho(tau) is the share of workloads reached within tau times "
            f"the best median steps of the optimizers below. {html.escape(RULES)}</p>",
            _text_table(TextTable(SCORE_HEADER, scores)),
            _image(profile_figure(times, label, folder / FIGURE)),
        ]
    else:
        (folder / FIGURE).unlink(missing_ok=True)  # a stale one would contradict the page
        parts.append(f"<p>{html.escape(NO_BASELINES)}</p>")
    parts.append("</body></html>")
    path = folder / "index.html"
    path.write_text("\n".join(parts))
    return path
