"""`optbench report`: the comparison report from the MLflow store (tables, figures,
index.html, with the landscape and architecture views where the runs have them).

optbench report                                   # the latest sweep
optbench report --sweep 20261124-...              # a sweep id (tag optbench.sweep_id) or parent run id
optbench report --experiment mnist_optimizers,convergence_study
optbench report --experiment optbench --filter "tags.\\`optbench.dataset\\` = 'digits'"
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from optbench import paths
from optbench import tags as tag
from optbench.errors import USER_ERROR_EXIT, OptbenchError


def _find_sweep(client: Any, experiment_ids: list[str], wanted: str) -> Any:
    sweeps = client.search_runs(
        experiment_ids,
        filter_string=tag.where(tag.ROLE, tag.ROLE_SWEEP),
        order_by=["attributes.start_time DESC"],
        max_results=1000,
    )
    for run in sweeps:
        if wanted in ("latest", run.info.run_id, run.data.tags.get(tag.SWEEP_ID)):
            return run
    return None


DESCRIPTION = """\
Build the comparison report of optbench runs from the MLflow store: summary and time-to-target
tables (CSV and Markdown), figures and an index.html, with the landscape and architecture views
where the runs have them. Without --sweep, --experiment or --filter it reports the latest sweep."""


def build_parser() -> argparse.ArgumentParser:
    """`optbench report --help`: whole sentences (the docstring's first line stops mid-sentence),
    and each option says what it does as well as its default."""
    parser = argparse.ArgumentParser(
        prog="optbench report",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="examples:\n" + "\n".join(__doc__.splitlines()[3:]),
    )
    parser.add_argument(
        "--sweep",
        default=None,
        help=f"the sweep to report: its sweep id (tag {tag.SWEEP_ID}), its parent run id, "
        "or 'latest' (the default when no other selection is given)",
    )
    parser.add_argument(
        "--experiment",
        default=None,
        help="report every optbench run of these experiments (names, comma-separated)",
    )
    parser.add_argument(
        "--filter",
        default=None,
        help="report only the runs that match this MLflow search filter string",
    )
    parser.add_argument(
        "--metric",
        default=None,
        help="the metric to compare (default: the first of val_accuracy, val_loss and "
        "train_loss that the runs logged)",
    )
    parser.add_argument(
        "--target",
        type=float,
        default=None,
        help="the metric value a run must reach for the time-to-target table (default: each "
        "problem's best final value, relaxed by --tolerance)",
    )
    parser.add_argument(
        "--tolerance",
        type=float,
        default=0.02,
        help="how far, relative to the best final value, the derived target lies when "
        "--target is not given (default: 0.02, i.e. within 2%%)",
    )
    parser.add_argument(
        "--uri",
        default=None,
        help="the MLflow tracking URI to read (default: as optbench runs write: "
        f"$MLFLOW_TRACKING_URI, else {paths.store()} in this folder)",
    )
    parser.add_argument(
        "--out",
        default=None,
        help=f"the folder to write the report to (default: {paths.reports()}/<sweep id or "
        "experiment names>)",
    )
    parser.add_argument(
        "--log-to",
        default=None,
        help="also log the report folder as artifacts report/ of this run id (default: a "
        "sweep's parent run)",
    )
    return parser


def parse(argv: list[str]) -> argparse.Namespace:
    args = build_parser().parse_args(argv)
    if args.sweep is None and args.experiment is None and args.filter is None:
        args.sweep = "latest"
    return args


def main(argv: list[str]) -> int:
    args = parse(argv)
    from rich.markup import escape

    from optbench.console import console  # wide where stdout is a pipe or a file

    try:
        return _report(args, console)
    except OptbenchError as exc:
        console.print(f"[red]error:[/red] {escape(str(exc))}", markup=True)
        return USER_ERROR_EXIT


def _report(args: argparse.Namespace, console: Any) -> int:
    from optbench.report.build import ReportOptions, build_report
    from optbench.report.frame import search
    from optbench.tracking import client_for, resolve_uri, ui_base

    uri = resolve_uri(args.uri)
    client = client_for(uri)
    experiments = args.experiment.split(",") if args.experiment else None
    sweep_run = None
    sweep = None
    if args.sweep is not None:
        ids = [e.experiment_id for e in client.search_experiments()]
        sweep_run = _find_sweep(client, ids, args.sweep) if ids else None
        if sweep_run is None:
            raise OptbenchError(f"no sweep {args.sweep!r} in {uri}; run one with -m.")
        sweep = sweep_run.info.run_id
    runs = search(client, experiments, sweep, args.filter)
    if not runs:
        raise OptbenchError(f"no optbench runs match in {uri}.")
    name = (
        sweep_run.data.tags.get(tag.SWEEP_ID, sweep)
        if sweep_run is not None
        else "_".join(experiments or ["all"])
    )
    out = Path(args.out or paths.reports(name))
    title = f"optbench report · {name}"
    options = ReportOptions(args.metric, args.target, args.tolerance, title, ui_base(uri))
    report = build_report(client, runs, out, options)
    print_report(report, console)
    log_to = args.log_to or (sweep_run.info.run_id if sweep_run is not None else None)
    if log_to:
        log_report(uri, log_to, out)
        console.print(f"logged as artifacts report/ of run {log_to}")
    console.print(f"{len(runs)} runs -> {out / 'index.html'}")
    return 0


def print_report(report: Any, console: Any) -> None:
    """The summary and time-to-target tables, then the architecture, landscape and diagnostics
    views."""
    from rich.table import Table

    from optbench.console import cells, print_table
    from optbench.report.tables import fmt

    for name in ("summary", "time_to_target"):
        table = report.tables.get(name)
        if table is None or table.empty:
            continue
        if name == "summary":
            table = compact_summary(table, report.metric)
        title = f"{name.replace('_', ' ')} · {report.metric}"
        rich_table = Table(title=title)
        for column in table.columns:
            rich_table.add_column(str(column))
        for row in table.itertuples(index=False):
            rich_table.add_row(*cells(*(fmt(v) for v in row)))
        console.print(rich_table)
    if report.architectures is not None:
        print_table("architectures", *report.architectures)
    if report.landscapes is not None:
        for path in report.landscapes.overlays.values():
            console.print(f"  {path}")
        print_table("steps to tolerance", *report.landscapes.tolerance)
    if report.diagnostics is not None:  # the flags each run raised (docs/diagnostics.md)
        flags = report.diagnostics.flags
        shown = [
            c
            for c in ("dataset", "model", "label", "seed", "level", "flags", "steps")
            if c in flags
        ]
        print_table(
            "diagnostics",
            shown,
            [[fmt(v) for v in row] for row in flags[shown].itertuples(index=False)],
        )


def compact_summary(table: Any, metric: str) -> Any:
    """The terminal's view of summary.csv: mean ± std and the CI in one column each."""
    out = table[["dataset", "model", "label", "n"]].copy()
    out[f"{metric} mean ± std"] = [
        f"{m:.4g} ± {s:.2g}"
        for m, s in zip(table[f"{metric}_mean"], table[f"{metric}_std"], strict=True)
    ]
    out["95% CI"] = [
        f"[{lo:.4g}, {hi:.4g}]" for lo, hi in zip(table["ci_low"], table["ci_high"], strict=True)
    ]
    out["vs best"] = table["vs_best"]
    for column in ("fit_time_s", "best_step"):
        if column in table:
            out[column] = table[column]
    return out


def log_report(uri: str, run_id: str, folder: Path) -> None:
    from optbench.tracking import client_for

    client_for(uri).log_artifacts(run_id, str(folder), "report")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
