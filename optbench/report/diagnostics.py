"""Diagnostics figures: one run's per-layer heat map (its diagnostics/diagnostics.png), drawn
from the rows optbench/diagnostics/ records; and the report's diagnostics section over many
runs (``write_diagnostics``): per problem, the diag_* scalars per label, each label's first
seed's heat map, sharpness against 2/lr where it was measured, and the flags table."""

from __future__ import annotations

import csv
import math
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from optbench import tags as tag
from optbench.report import plots
from optbench.report.frame import curves_frame
from optbench.report.tables import fmt, markdown

if TYPE_CHECKING:
    import pandas as pd

HEAT = (("grad_norm", "gradient norm"), ("update_ratio", "update / weight ratio"))


def heatmap(rows: list[dict[str, Any]], title: str) -> Any:
    """Layers (input side at the bottom) x probe steps, coloured by log10 of each quantity in
    HEAT that was measured; NaN (not measured, or zero) is left blank."""
    import numpy as np
    from matplotlib.figure import Figure

    from optbench.diagnostics.stats import ALL

    layers = list(dict.fromkeys(r["layer"] for r in rows if r["layer"] != ALL)) or [ALL]
    steps = sorted({r["step"] for r in rows})
    panels = [(k, label) for k, label in HEAT if any(k in r for r in rows)]
    fig = Figure(figsize=(8, 1.2 + 0.35 * len(layers) * max(len(panels), 1) + 0.6), dpi=100)
    axes = fig.subplots(max(len(panels), 1), 1, squeeze=False)[:, 0]
    index = {(r["step"], r["layer"]): r for r in rows}
    col = {s: i for i, s in enumerate(steps)}
    for ax, (key, label) in zip(axes, panels, strict=False):
        grid = np.full((len(layers), len(steps)), np.nan)
        for (step, layer), r in index.items():
            value = r.get(key)
            if (
                layer in layers
                and isinstance(value, int | float)
                and value > 0
                and math.isfinite(value)
            ):
                grid[layers.index(layer), col[step]] = math.log10(value)
        image = ax.imshow(
            grid, aspect="auto", origin="lower", cmap="viridis", interpolation="nearest"
        )
        ax.set_yticks(range(len(layers)), layers, fontsize=7)
        ticks = np.linspace(0, len(steps) - 1, min(len(steps), 8)).round().astype(int)
        ax.set_xticks(ticks, [str(steps[i]) for i in ticks], fontsize=7)
        ax.set_title(f"log10 {label}", fontsize=9)
        fig.colorbar(image, ax=ax, fraction=0.04, pad=0.01)
    axes[-1].set_xlabel("optimizer step")
    fig.suptitle(f"diagnostics · {title}", fontsize=10)
    fig.tight_layout()
    return fig


# The report's section -----------------------------------------------------------------------

# diag_* metric -> whether its axis is logarithmic. The weight and update norms stay out:
# update_ratio is their quotient, and the heat map shows both per layer.
CURVES = (
    ("diag_grad_norm", True),
    ("diag_update_ratio", True),
    ("diag_grad_ratio", True),
    ("diag_noise_scale", True),
    ("diag_grad_snr", True),
    ("diag_sharpness", True),
    ("diag_hessian_trace", True),
    ("diag_dist_init", True),
    ("diag_dead_relu", False),
    ("diag_nonfinite", False),  # drawn only where some run counted a non-finite value
)
PROBLEM = ["dataset", "model"]
CSV_PATH = "diagnostics/diagnostics.csv"  # optbench.diagnostics.record: ARTIFACT_DIR
NOTE = (
    "Training diagnostics (trainer.diagnostics; docs/diagnostics.md). The diag_* curves are "
    "logged at each run's loop steps (epochs for Keras), as the mean over seeds with their "
    "min-max band; the heat maps (the first seed of each optimizer) and the sharpness figures "
    "are indexed by optimizer step. Sharpness is the Hessian's top eigenvalue; the dashed line "
    "2/lr is where plain gradient descent stops being stable, and full-batch gradient descent "
    "drives sharpness up to it and hovers there (the edge of stability, Cohen et al., 2021); "
    "momentum and adaptive methods have other thresholds."
)


@dataclass
class DiagnosticsView:
    """The report's diagnostics section: the flags table (one row per run with diagnostics),
    what some runs' trainers cannot measure (framework -> the runs' note, once each), and the
    figures, files in the report's folder; ``files`` adds the table's CSV and Markdown."""

    flags: pd.DataFrame
    unavailable: dict[str, str] = field(default_factory=dict)
    figures: list[Path] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)


def diagnosed(run: Any) -> bool:
    """Whether a run recorded diagnostics: its level tag (not off), or a diag_* metric."""
    level = run.data.tags.get(tag.DIAGNOSTICS, "off")
    return level != "off" or any(k.startswith("diag_") for k in run.data.metrics)


def write_diagnostics(
    client: Any, runs: list[Any], finished: pd.DataFrame, folder: Path, colours: dict[str, str]
) -> DiagnosticsView | None:
    """The section for the runs of ``finished`` (runs_frame rows with their ``label``) that
    recorded diagnostics, drawn into ``folder``; None when none did."""
    by_id = {r.info.run_id: r for r in runs}
    if finished.empty:
        return None
    block = finished[finished["run_id"].map(lambda i: diagnosed(by_id[i]))]
    if block.empty:
        return None
    block = block.sort_values([*PROBLEM, "label", "seed", "start_time"], na_position="last")
    view = DiagnosticsView(flags_table(block, by_id))
    for _, run in block.iterrows():
        note = by_id[run["run_id"]].data.tags.get(tag.DIAG_UNAVAILABLE)
        if note:
            view.unavailable.setdefault(run["framework"] or "?", note)
    stem = folder / "diagnostics_flags"
    view.flags.to_csv(stem.with_suffix(".csv"), index=False)
    header = [str(c) for c in view.flags.columns]
    notes = "".join(f"\nNot measured on {k}: {v}.\n" for k, v in view.unavailable.items())
    stem.with_suffix(".md").write_text(markdown(header, view.flags.values.tolist()) + notes)
    view.files += [stem.with_suffix(".csv"), stem.with_suffix(".md")]

    curves = curves_frame(client, block["run_id"].tolist(), tuple(k for k, _ in CURVES))
    first = block.drop_duplicates([*PROBLEM, "label"])  # each label's first seed
    wanted = set(first["run_id"])
    wanted |= {i for i in block["run_id"] if by_id[i].data.tags.get(tag.DIAGNOSTICS) == "curvature"}
    tables = _download(client, [i for i in block["run_id"] if i in wanted])
    for (dataset, model), runs_of in block.groupby(PROBLEM, sort=False):
        labels = dict(zip(runs_of["run_id"], runs_of["label"], strict=True))
        problem = (dataset, model)
        view.figures += _curves(curves, labels, problem, folder, colours)
        view.figures += _sharpness(tables, labels, problem, folder, colours)
        for _, run in first[first["run_id"].isin(labels)].iterrows():
            rows = tables.get(run["run_id"])
            if rows:
                path = folder / f"diagnostics_{_slug(*problem, run['label'])}_layers.png"
                title = f"{dataset} · {model} · {run['label']} · seed {fmt(run['seed'])}"
                heatmap(rows, title).savefig(path)
                view.figures.append(path)
    view.files += view.figures
    return view


def flags_table(block: pd.DataFrame, by_id: dict[str, Any]) -> pd.DataFrame:
    """Per run: its problem, label, seed, name, diagnostics level, the flags raised and the
    optimizer step each was raised at."""
    import pandas as pd

    rows = []
    for _, run in block.iterrows():
        tags = by_id[run["run_id"]].data.tags
        raised = [f for f in tags.get(tag.DIAG_FLAGS, "").split(",") if f]
        at = [tags.get(tag.DIAG_FLAG_PREFIX + f, "").split(":", 1)[0] for f in raised]
        rows.append(
            {
                "dataset": run["dataset"],
                "model": run["model"],
                "label": run["label"],
                "seed": int(run["seed"]) if math.isfinite(run["seed"]) else "",
                "run": run["run_name"],
                "level": tags.get(tag.DIAGNOSTICS, ""),
                "flags": ",".join(raised) or "none",
                "steps": "; ".join(f"{f}: {s}" for f, s in zip(raised, at, strict=True)),
            }
        )
    return pd.DataFrame(rows)


def _download(client: Any, run_ids: list[str]) -> dict[str, list[dict[str, Any]]]:
    """run id -> the rows of its diagnostics.csv, for the runs that have one."""
    from mlflow.exceptions import MlflowException

    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        for run_id in run_ids:
            try:
                local = client.download_artifacts(run_id, CSV_PATH, str(Path(tmp) / run_id))
            except (MlflowException, OSError):
                continue  # diagnostics on, but nothing measured (or the artifact is gone)
            out[run_id] = read_rows(Path(local).read_text())
    return out


def read_rows(text: str) -> list[dict[str, Any]]:
    """diagnostics.csv back to rows: empty cells left out, numbers as floats, step an int."""
    rows = []
    for raw in csv.DictReader(text.splitlines()):
        row: dict[str, Any] = {"step": int(float(raw["step"])), "layer": raw["layer"]}
        row.update({k: float(v) for k, v in raw.items() if k not in row and v not in ("", None)})
        rows.append(row)
    return rows


def _curves(
    curves: pd.DataFrame,
    labels: dict[str, str],
    problem: tuple[str, str],
    folder: Path,
    colours: dict,
) -> list[Path]:
    """One figure per diag_* scalar (CURVES) the problem's runs logged."""
    files = []
    part = curves[curves["run_id"].isin(labels)]
    for key, log_y in CURVES:
        values = part.loc[part["key"] == key, "value"]
        if values.empty or (key == "diag_nonfinite" and not (values > 0).any()):
            continue
        path = folder / f"diagnostics_{_slug(*problem, key)}.png"
        title = f"{' · '.join(problem)} · {key} per step"
        plots.grouped_curves(part, labels, key, "step", title, log_y, colours).savefig(path)
        files.append(path)
    return files


def _sharpness(
    tables: dict[str, list[dict]],
    labels: dict[str, str],
    problem: tuple[str, str],
    folder: Path,
    colours: dict,
) -> list[Path]:
    """Sharpness over optimizer steps per label (mean over seeds, min-max band; a label with
    several starting rates, one line per rate) and 2/lr dashed in the label's colour, where
    the runs measured it; [] where none did."""
    import numpy as np
    import pandas as pd

    from optbench.diagnostics.stats import ALL

    whole = [(run_id, r) for run_id in labels for r in tables.get(run_id, []) if r["layer"] == ALL]
    measured = [
        (run_id, "sharpness", r["step"], r["sharpness"], None)
        for run_id, r in whole
        if math.isfinite(r.get("sharpness", math.nan))
    ]
    if not measured:
        return []
    frame = pd.DataFrame(measured, columns=["run_id", "key", "step", "value", "elapsed_s"])
    drawn = _by_rate({i: lab for i, lab in labels.items() if i in set(frame["run_id"])}, whole)
    colours = {**plots.colours_for(drawn.values()), **colours}
    title = f"{' · '.join(problem)} · sharpness against 2/lr (edge of stability)"
    fig = plots.grouped_curves(frame, drawn, "sharpness", "step", title, False, colours)
    ax = fig.axes[0]
    for line in ax.get_lines():  # measured at sparse steps: mark them
        line.set_marker("o")
        line.set_markersize(3)
    shown = list(frame["value"])
    for label in dict.fromkeys(drawn.values()):
        lrs = pd.DataFrame(
            [
                (r["step"], r["lr"])
                for i, r in whole
                if drawn.get(i) == label and r.get("lr", 0) > 0
            ],
            columns=["step", "lr"],
        )
        if lrs.empty:
            continue
        edge = 2.0 / lrs.groupby("step")["lr"].mean()
        ax.plot(
            edge.index, edge.to_numpy(), "--", color=colours[label], lw=1.2, label=f"2/lr {label}"
        )
        shown += list(edge)
    if np.all(np.asarray(shown) > 0):
        ax.set_yscale("log")
    ax.set_xlabel("optimizer step")
    ax.set_ylabel("sharpness (top Hessian eigenvalue)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    path = folder / f"diagnostics_{_slug(*problem, 'sharpness')}_vs_2-lr.png"
    fig.savefig(path)
    return [path]


def _by_rate(labels: dict[str, str], whole: list[tuple[str, dict]]) -> dict[str, str]:
    """Labels told apart by learning rate where one label's runs started at several (a sweep
    over optimizer.lr): each rate has its own 2/lr, so its own line."""
    first_lr: dict[str, float] = {}
    for run_id, r in whole:
        first_lr.setdefault(run_id, r.get("lr", math.nan))
    rates: dict[str, set] = {}
    for run_id, label in labels.items():
        rates.setdefault(label, set()).add(first_lr.get(run_id))
    return {
        i: f"{lab} (lr {first_lr[i]:g})" if len(rates[lab]) > 1 else lab
        for i, lab in labels.items()
    }


def _slug(*parts: str) -> str:
    return "_".join("".join(c if c.isalnum() else "-" for c in str(p)) for p in parts)
