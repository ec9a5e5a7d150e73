"""Report views of landscape runs: all trajectories on one contour plot per function, and
the steps-to-tolerance table (functions x optimizers), read back from the MLflow store."""

from __future__ import annotations

import csv
import tempfile
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from optbench import tags as tag
from optbench.optim.functions import FUNCTIONS
from optbench.report.tables import TextTable, table_csv


def landscape_children(children: list[Any]) -> list[Any]:
    """Finished landscape runs on a 2-D function (an n-D one has no trajectory to draw)."""
    return [
        c
        for c in children
        if c.data.tags.get(tag.MODEL) == "landscape"
        and c.data.tags.get(tag.DATASET) in FUNCTIONS
        and c.info.status == "FINISHED"
    ]


def _label(run: Any, varying: set[str]) -> str:
    """The optimizer, then its lr and what else varies (``_optimizer_of`` reads it back)."""
    params = run.data.params
    parts = [run.data.tags[tag.OPTIMIZER], f"lr={params.get('optimizer.lr')}"]
    parts += [f"{key}={params.get(key)}" for key in sorted(varying - {"optimizer.lr"})]
    return " ".join(parts)


def _optimizer_of(label: str) -> str:
    return label.split(" ", 1)[0]


def _varying(group: list[Any]) -> set[str]:
    """Settings that differ between runs of the same optimizer (seeds, schedules, ...)."""
    by_optimizer: dict[str, list[Any]] = defaultdict(list)
    for run in group:
        by_optimizer[run.data.tags[tag.OPTIMIZER]].append(run)
    varying: set[str] = set()
    for runs in by_optimizer.values():
        for key in set().union(*(r.data.params for r in runs)):
            if len({r.data.params.get(key) for r in runs}) > 1:
                varying.add(key)
    return {k for k in varying if k.split(".")[0] in ("optimizer", "schedule", "model", "seed")}


def trajectories(client: Any, runs: list[Any]) -> dict[str, dict[str, list]]:
    """function name -> {label: [[x, y], ...]} for the given landscape runs. Labels are the
    optimizer and its lr, plus whatever else differs between runs of that optimizer."""
    by_function: dict[str, list[Any]] = defaultdict(list)
    for run in runs:
        by_function[run.data.tags[tag.DATASET]].append(run)
    out: dict[str, dict[str, list]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for function, group in sorted(by_function.items()):
            varying = _varying(group)
            paths: dict[str, list] = {}
            for run in sorted(group, key=lambda r: r.info.start_time):
                local = client.download_artifacts(run.info.run_id, "trajectory.csv", tmp)
                rows = list(csv.DictReader(Path(local).read_text().splitlines()))
                paths[_label(run, varying)] = [[float(r["x"]), float(r["y"])] for r in rows]
            out[function] = paths
    return out


def tolerance_table(runs: list[Any]) -> tuple[list[str], list[list[str]]]:
    """(header, rows): steps to tolerance per function (rows) and optimizer (columns);
    'diverged' or 'not reached' where it did not get there, several seeds as min-max."""
    cells: dict[tuple[str, str], list[str]] = defaultdict(list)
    optimizers: list[str] = []
    for run in sorted(runs, key=lambda r: r.info.start_time):
        tags, metrics = run.data.tags, run.data.metrics
        optimizer = tags[tag.OPTIMIZER]
        if optimizer not in optimizers:
            optimizers.append(optimizer)
        if tags.get(tag.DIVERGED) == "true":
            value = "diverged"
        elif "steps_to_tolerance" in metrics:
            value = str(int(metrics["steps_to_tolerance"]))
        elif "distance_to_min" not in metrics:
            value = "no minimum"  # e.g. the saddle, unbounded below
        else:
            value = "not reached"
        cells[(tags[tag.DATASET], optimizer)].append(value)
    header = ["function", *optimizers]
    rows = []
    for function in sorted({f for f, _ in cells}):
        row = [function]
        for optimizer in optimizers:
            values = cells.get((function, optimizer), [])
            numbers = sorted(int(v) for v in values if v.isdigit())
            if len(values) > 1 and numbers:
                row.append(f"{numbers[0]}-{numbers[-1]} ({len(numbers)}/{len(values)})")
            else:
                row.append(values[0] if values else "-")
        rows.append(row)
    return header, rows


@dataclass
class LandscapeView:
    """What a set of landscape runs shows: steps to tolerance, one overlay figure per function."""

    tolerance: TextTable
    overlays: dict[str, Path]  # function name -> landscape_<function>.png


def write_landscapes(
    client: Any, runs: list[Any], folder: Path, colours: dict[str, str] | None = None
) -> LandscapeView | None:
    """Draw landscape_<function>.png (every trajectory on one contour plot) and write
    steps_to_tolerance.csv in ``folder``; None when no finished run is a landscape run.
    ``colours``: optimizer -> colour, the report's (None: plots.colours_for these runs')."""
    from optbench.report import plots

    landscape_runs = landscape_children(runs)
    if not landscape_runs:
        return None
    if colours is None:
        colours = plots.colours_for(r.data.tags[tag.OPTIMIZER] for r in landscape_runs)
    overlays = {}
    for function, paths in trajectories(client, landscape_runs).items():
        overlays[function] = folder / f"landscape_{function}.png"
        by_label = {label: colours[_optimizer_of(label)] for label in paths}
        title = f"{function} · {len(paths)} runs"
        plots.landscape(function, paths, title, by_label).savefig(overlays[function])
    tolerance = TextTable(*tolerance_table(landscape_runs))
    (folder / "steps_to_tolerance.csv").write_text(table_csv(*tolerance))
    return LandscapeView(tolerance, overlays)
