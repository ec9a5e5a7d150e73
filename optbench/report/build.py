"""The comparison report: which optimizer wins, by how much, how reliably and how fast.

From a set of runs (an experiment, a sweep, a filter; any frameworks) it writes under one
folder: summary.csv/.md (final metric mean ± std over seeds, 95% bootstrap CI, a noise flag
against the best, time, params, best step), time_to_target.csv/.md, PNG figures (curves with
seed bands per problem, metric against wall-clock time, lr, the performance profile), and
index.html showing them together. A *problem* is a (dataset, model) pair; the groups compared
on it are its (optimizer, schedule) settings; seeds are repetitions."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from optbench import tags as tag
from optbench.metrics import higher_is_better
from optbench.report import plots
from optbench.report.architectures import write_architectures
from optbench.report.diagnostics import DiagnosticsView, write_diagnostics
from optbench.report.frame import curves_frame, runs_frame
from optbench.report.html import index_page
from optbench.report.landscapes import LandscapeView, landscape_children, write_landscapes
from optbench.report.stats import crossing, derived_target, performance_profile, seed_summary
from optbench.report.tables import TextTable, markdown

PROBLEM = ["dataset", "model"]
GROUP = ["dataset", "model", "optimizer", "schedule"]
METRIC_PREFERENCE = ("val_accuracy", "val_loss", "train_loss")
CURVE_KEYS = ("train_loss", "val_loss", "val_accuracy", "lr")


@dataclass
class ReportOptions:
    metric: str | None = None  # None: the first of METRIC_PREFERENCE the runs logged
    target: float | None = None  # None: each problem's best final value within tolerance
    tolerance: float = 0.02  # relative, for the derived target
    title: str = "optbench report"
    ui_base: str | None = None  # the MLflow UI on the runs' store: index.html links to it


@dataclass
class Report:
    folder: Path
    files: list[Path] = field(default_factory=list)  # the comparison's tables and figures
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    metric: str = ""
    landscapes: LandscapeView | None = None  # where some runs are landscape runs
    architectures: TextTable | None = None  # where some runs are transfer-learning runs
    diagnostics: DiagnosticsView | None = None  # where some runs recorded diagnostics


def _label(runs: pd.DataFrame) -> pd.Series:
    """The name of each run's group on its problem: optimizer, plus the schedule where the
    problem's runs use more than one."""
    several = runs.groupby(PROBLEM)["schedule"].transform("nunique") > 1
    return runs["optimizer"].where(~several, runs["optimizer"] + "+" + runs["schedule"])


def _slug(*parts: str) -> str:
    return "_".join("".join(c if c.isalnum() else "-" for c in p) for p in parts)


def time_to_target(
    runs: pd.DataFrame, curves: pd.DataFrame, metric: str, options: ReportOptions
) -> pd.DataFrame:
    """Per run: the target of its problem, the first step and the training seconds at which
    ``metric`` reached it (NaN: never)."""
    maximize = higher_is_better(metric)
    rows = []
    for problem, block in runs.groupby(PROBLEM, sort=False):
        finals = block[metric].to_numpy(dtype=float)
        if options.target is not None:
            target = options.target
        elif np.isfinite(finals).any():
            target = derived_target(finals, maximize, options.tolerance)
        else:
            continue
        for _, run in block.iterrows():
            curve = curves[(curves["run_id"] == run["run_id"]) & (curves["key"] == metric)]
            curve = curve.sort_values("step")
            i = crossing(curve["step"].tolist(), curve["value"].tolist(), target, maximize)
            hit = curve.iloc[i] if i is not None else None
            rows.append(
                {
                    "run_id": run["run_id"],
                    **dict(zip(PROBLEM, problem, strict=True)),
                    "label": run["label"],
                    "seed": run["seed"],
                    "target": target,
                    "steps": float(hit["step"]) if hit is not None else math.nan,
                    "seconds": float(hit["elapsed_s"])
                    if hit is not None and hit["elapsed_s"] is not None
                    else math.nan,
                }
            )
    return pd.DataFrame(rows)


def _ttt_table(ttt: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for (dataset, model, label), g in ttt.groupby([*PROBLEM, "label"], sort=False):
        reached = g["steps"].notna()
        rows.append(
            {
                "dataset": dataset,
                "model": model,
                "label": label,
                "target": g["target"].iloc[0],
                "reached": f"{int(reached.sum())}/{len(g)}",
                "median_steps": g.loc[reached, "steps"].median(),
                "median_seconds": g.loc[reached, "seconds"].median(),
            }
        )
    return pd.DataFrame(rows)


def _costs(ttt: pd.DataFrame) -> pd.DataFrame:
    """Problems (dataset, model, seed) x labels: seconds to target (inf: not reached)."""
    costs = ttt.assign(seconds=ttt["seconds"].fillna(math.inf)).pivot_table(
        index=[*PROBLEM, "seed"], columns="label", values="seconds", aggfunc="mean"
    )
    return costs.fillna(math.inf)


def build_report(client: Any, runs: list[Any], out: Path, options: ReportOptions) -> Report:
    experiments = {e.experiment_id: e.name for e in client.search_experiments()}
    report = Report(Path(out))
    report.folder.mkdir(parents=True, exist_ok=True)
    frame = runs_frame(runs, experiments)
    finished = frame[frame["status"] == "FINISHED"].copy() if not frame.empty else frame
    if not finished.empty:
        finished["label"] = _label(finished)
    colours = _colours(finished, runs)
    report.landscapes = write_landscapes(client, runs, report.folder, colours)
    report.architectures = write_architectures(runs, report.folder)
    if finished.empty:
        return report
    metric = options.metric or next((m for m in METRIC_PREFERENCE if m in finished), "")
    if metric not in finished:
        from optbench.errors import OptbenchError

        raise OptbenchError(f"no run logged {metric or 'any of ' + ', '.join(METRIC_PREFERENCE)}.")
    report.metric = metric
    curves = curves_frame(
        client, finished["run_id"].tolist(), tuple(dict.fromkeys((*CURVE_KEYS, metric)))
    )

    summary = seed_summary(finished, metric, by=[*PROBLEM, "label"], within=PROBLEM)
    joined = lambda s: ",".join(sorted(set(s)))  # noqa: E731
    means = {k: (k, "mean") for k in ("fit_time_s", "params_total") if k in finished}
    extras = finished.groupby([*PROBLEM, "label"], sort=False).agg(
        **means, experiments=("experiment", joined), frameworks=("framework", joined)
    )
    best_steps = _best_steps(finished, curves, metric)
    summary = summary.join(extras, on=[*PROBLEM, "label"]).join(best_steps, on=[*PROBLEM, "label"])
    summary = summary.rename(columns={"mean": f"{metric}_mean", "std": f"{metric}_std"})
    report.tables["summary"] = summary
    ttt = time_to_target(finished, curves, metric, options)
    report.tables["time_to_target"] = _ttt_table(ttt) if not ttt.empty else pd.DataFrame()

    for name, table in report.tables.items():
        report.files += _write_table(table, report.folder / name)
    report.files += _figures(finished, curves, ttt, metric, report.folder, colours)
    report.diagnostics = write_diagnostics(client, runs, finished, report.folder, colours)
    report.files.append(_write_index(report, options.title, _ui_links(runs, experiments, options)))
    return report


def _colours(finished: pd.DataFrame, runs: list[Any]) -> dict[str, str]:
    """The report's one colour map, over every label it draws: the groups' labels, and the
    optimizers of the landscape overlays."""
    labels = finished["label"].tolist() if "label" in finished else []
    optimizers = [r.data.tags[tag.OPTIMIZER] for r in landscape_children(runs)]
    return plots.colours_for([*labels, *optimizers])


def _ui_links(runs: list[Any], names: dict[str, str], options: ReportOptions) -> dict[str, str]:
    """The runs' experiments in the MLflow UI, by name."""
    if options.ui_base is None:
        return {}
    from optbench.tracking import experiment_link

    ids = dict.fromkeys(run.info.experiment_id for run in runs)
    return {names.get(i, i): experiment_link(options.ui_base, i) for i in ids}


def _best_steps(runs: pd.DataFrame, curves: pd.DataFrame, metric: str) -> pd.Series:
    """Mean over a group's runs of the step with the best ``metric``."""
    part = curves[curves["key"] == metric]
    if part.empty:
        return pd.Series(dtype=float, name="best_step")
    grouped = part.groupby("run_id")["value"]
    idx = grouped.idxmax() if higher_is_better(metric) else grouped.idxmin()
    best = part.loc[idx.dropna(), ["run_id", "step"]].set_index("run_id")["step"]
    runs = runs.assign(best_step=runs["run_id"].map(best))
    return runs.groupby([*PROBLEM, "label"], sort=False)["best_step"].mean()


def _write_table(table: pd.DataFrame, stem: Path) -> list[Path]:
    csv, md = stem.with_suffix(".csv"), stem.with_suffix(".md")
    table.to_csv(csv, index=False)
    md.write_text(markdown([str(c) for c in table.columns], table.values.tolist()))
    return [csv, md]


def _figures(
    runs: pd.DataFrame,
    curves: pd.DataFrame,
    ttt: pd.DataFrame,
    metric: str,
    folder: Path,
    colours: dict[str, str],
) -> list[Path]:
    files = []
    for (dataset, model), block in runs.groupby(PROBLEM, sort=False):
        labels = dict(zip(block["run_id"], block["label"], strict=True))
        logged = set(curves.loc[curves["run_id"].isin(labels), "key"])
        panels = [(k, "step", "loss" in k) for k in ("train_loss", "val_loss") if k in logged]
        if metric in logged:
            panels.append((metric, "elapsed_s", "loss" in metric))
        if "lr" in logged:
            panels.append(("lr", "step", True))
        for key, x, log_y in panels:
            path = folder / f"{_slug(dataset, model, key, 'vs', x)}.png"
            title = f"{dataset} · {model} · {key} vs {'time' if x == 'elapsed_s' else 'step'}"
            figure = plots.grouped_curves(curves, labels, key, x, title, log_y, colours)
            figure.savefig(path)
            files.append(path)
    if not ttt.empty:
        costs = _costs(ttt)
        if costs.shape[1] > 1:
            rho = performance_profile(costs, plots.taus_for(costs))
            path = folder / "performance_profile.png"
            title = f"performance profile · time to target on {len(costs)} problems"
            plots.performance_profile(rho, title, colours).savefig(path)
            files.append(path)
    return files


def _write_index(report: Report, title: str, ui_links: dict[str, str]) -> Path:
    figures = [f for f in report.files if f.suffix == ".png"]
    page = index_page(
        title,
        report.metric,
        report.tables,
        figures,
        report.landscapes,
        report.architectures,
        ui_links,
        report.diagnostics,
    )
    path = report.folder / "index.html"
    path.write_text(page)
    return path
