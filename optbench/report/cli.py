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

from optbench.errors import USER_ERROR_EXIT, OptbenchError


def _find_sweep(client: Any, experiment_ids: list[str], wanted: str) -> Any:
    sweeps = client.search_runs(
        experiment_ids,
        filter_string="tags.`optbench.role` = 'sweep'",
        order_by=["attributes.start_time DESC"],
        max_results=1000,
    )
    for run in sweeps:
        if wanted in ("latest", run.info.run_id, run.data.tags.get("optbench.sweep_id")):
            return run
    return None


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="optbench report",
        description=__doc__.splitlines()[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="\n".join(__doc__.splitlines()[3:]),
    )
    parser.add_argument("--sweep", default=None, help="sweep id, parent run id or 'latest'")
    parser.add_argument("--experiment", default=None, help="experiment name(s), comma-separated")
    parser.add_argument("--filter", default=None, help="an MLflow search filter string")
    parser.add_argument(
        "--metric", default=None, help="default: val_accuracy, val_loss, train_loss"
    )
    parser.add_argument("--target", type=float, default=None, help="time-to-target threshold")
    parser.add_argument("--tolerance", type=float, default=0.02, help="relative, derived target")
    parser.add_argument("--uri", default=None, help="tracking URI (default: as optbench runs)")
    parser.add_argument("--out", default=None, help="folder (default: runs/reports/<name>)")
    parser.add_argument("--log-to", default=None, help="run id to log the report folder on")
    args = parser.parse_args(argv)
    if args.sweep is None and args.experiment is None and args.filter is None:
        args.sweep = "latest"
    return args


def main(argv: list[str]) -> int:
    args = parse(argv)
    from rich.console import Console

    console = Console()
    try:
        return _report(args, console)
    except OptbenchError as exc:
        console.print(f"[red]error:[/red] {exc}")
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
        sweep_run.data.tags.get("optbench.sweep_id", sweep)
        if sweep_run is not None
        else "_".join(experiments or ["all"])
    )
    out = Path(args.out or Path("runs") / "reports" / name)
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
    """The summary and time-to-target tables, then the landscape and architecture views."""
    from rich.table import Table

    from optbench.console import print_table
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
            rich_table.add_row(*(fmt(v) for v in row))
        console.print(rich_table)
    if report.architectures is not None:
        print_table("architectures", *report.architectures)
    if report.landscapes is not None:
        for path in report.landscapes.overlays.values():
            console.print(f"  {path}")
        print_table("steps to tolerance", *report.landscapes.tolerance)


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
