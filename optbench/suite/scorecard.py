"""The suite's scorecard as files: index.html (tables and the performance-profile figure, next to
it as a PNG) and scorecard.md, in one folder that the suite logs on its parent run.

Inputs are plain data (the suite's WorkloadResult list and the baselines' median steps), so the
page can be built and tested without MLflow or a training run. The scoring is
optbench.suite.score's and baselines.score_rows'; this module arranges and formats it."""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from optbench.suite.baselines import baseline_row, score_rows
from optbench.suite.result import HEADER, WorkloadResult
from optbench.suite.score import (
    TAU_MAX,
    median_over_seeds,
    performance_profile,
    performance_ratios,
    speedup_over_best_baseline,
)

SPEEDUP = "speedup vs best baseline"
SCORE_HEADER = ["optimizer", f"AlgoPerf score (tau <= {TAU_MAX:g})",
                "speedup vs nadamw (geometric mean)", "reached"]  # fmt: skip
FIGURE = "performance_profile.png"
NO_BASELINES = (
    "No baseline ran all these workloads, so there is no score or performance profile: "
    "optbench suite --rebuild-baselines"
)
_ME = "\0submission"  # the submission's key in times tables; no baseline can be named so


def speedup_column(
    results: Sequence[WorkloadResult], baseline_steps: dict[str, dict[str, float]]
) -> dict[str, float]:
    """Per workload: the best baseline's median steps / the submission's.

    Each workload is compared with the baselines that ran it, so one missing baseline row does
    not blank the column. 0.0: only baselines reached the target; inf: only the submission did;
    NaN: nobody reached it, or no baseline ran the workload (score.speedup_over_best_baseline's
    conventions)."""
    out = {}
    for result in results:
        name = result.workload.name
        ran = {b: per[name] for b, per in baseline_steps.items() if name in per}
        if not ran:
            out[name] = math.nan
            continue
        times = {_ME: {name: median_over_seeds(result.steps)}}
        times.update({b: {name: steps} for b, steps in ran.items()})
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


def scored_times(
    results: Sequence[WorkloadResult], label: str, baseline_steps: dict[str, dict[str, float]]
) -> dict[str, dict[str, float]]:
    """Median steps of the submission and of every other baseline that ran all its workloads
    (baselines.score_rows' rule, so the figure draws the optimizers the score table lists): a
    profile needs the same workloads for everyone (score.performance_ratios)."""
    mine = {r.workload.name: median_over_seeds(r.steps) for r in results}
    times = {label: mine}
    for baseline, per in baseline_steps.items():
        if all(w in per for w in mine):
            times[baseline_row(baseline, label)] = {w: per[w] for w in mine}
    return times


def _tables(
    results: Sequence[WorkloadResult], label: str, baseline_steps: dict[str, dict[str, float]]
) -> tuple[list[list[str]], dict[str, dict[str, float]], list[list[str]]]:
    """The per-workload rows, the times scored together and the score rows."""
    speedups = speedup_column(results, baseline_steps)
    rows = [[*r.row(), speedup_cell(speedups[r.workload.name])] for r in results]
    times = scored_times(results, label, baseline_steps)
    return rows, times, score_rows(times[label], label, baseline_steps)


def markdown(
    *,
    title: str,
    label: str,
    results: Sequence[WorkloadResult],
    baseline_steps: dict[str, dict[str, float]],
) -> str:
    """scorecard.md: the per-workload table, then the score table (or why there is none)."""
    from optbench.report.tables import markdown as table

    rows, _, scores = _tables(results, label, baseline_steps)
    parts = [f"# {title}", "", table([*HEADER, SPEEDUP], rows)]
    if scores:
        parts += [f"## Score over {len(results)} workloads", "", table(SCORE_HEADER, scores)]
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
    baseline_steps: dict[str, dict[str, float]],
) -> Path:
    """Write index.html, scorecard.md and (with baselines) performance_profile.png into
    ``folder``; returns index.html's path. ``baseline_steps[baseline][workload]``: median steps
    to target (inf: not reached), e.g. baselines.shipped_medians()."""
    from optbench.report.html import STYLE, _image, _text_table
    from optbench.report.tables import TextTable

    folder.mkdir(parents=True, exist_ok=True)
    rows, times, scores = _tables(results, label, baseline_steps)
    (folder / "scorecard.md").write_text(
        markdown(title=title, label=label, results=results, baseline_steps=baseline_steps)
    )
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'>",
        f"<title>{html.escape(title)}</title>",
        f"<style>{STYLE}</style></head><body>",
        f"<h1>{html.escape(title)}</h1>",
        f"<p>Optimizer: <b>{html.escape(label)}</b>. Steps to target: the median over seeds "
        "(a seed that missed counts as infinite, so a target is reached when most seeds reach "
        "it). Speedup: the fewest median steps of any baseline divided by this optimizer's.</p>",
        "<h2>Per workload</h2>",
        _text_table(TextTable([*HEADER, SPEEDUP], rows)),
    ]
    if scores:
        parts += [
            f"<h2>Score over {len(results)} workloads</h2>",
            f"<p>AlgoPerf score: the area under rho(tau) for tau in [1, {TAU_MAX:g}], divided "
            f"by {TAU_MAX - 1:g}; rho(tau) is the share of workloads reached within tau times "
            "the best median steps of the optimizers below.</p>",
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
