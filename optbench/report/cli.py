"""`optbench report`: figures and tables for a finished sweep, read from the MLflow store.

optbench report                      # the latest sweep in the default store
optbench report --sweep 20261124-...  # a sweep id (tag optbench.sweep_id) or parent run id
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from optbench.errors import USER_ERROR_EXIT


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


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="optbench report", description=__doc__.splitlines()[0])
    parser.add_argument("--sweep", default="latest", help="sweep id, parent run id or 'latest'")
    parser.add_argument("--uri", default=None, help="tracking URI (default: as optbench runs)")
    parser.add_argument("--out", default=None, help="folder (default: runs/reports/<sweep id>)")
    args = parser.parse_args(argv)

    from rich.console import Console

    from optbench.console import print_table
    from optbench.mlflow_writer import client_for
    from optbench.report.architectures import architecture_table, markdown, transfer_children
    from optbench.report.landscapes import (
        landscape_children,
        table_csv,
        tolerance_table,
        trajectories,
    )
    from optbench.report.plots import landscape
    from optbench.tracking import resolve_uri, sweep_children

    console = Console()
    uri = resolve_uri(args.uri)
    client = client_for(uri)
    experiment_ids = [e.experiment_id for e in client.search_experiments()]
    sweep = _find_sweep(client, experiment_ids, args.sweep) if experiment_ids else None
    if sweep is None:
        console.print(f"[red]error:[/red] no sweep {args.sweep!r} in {uri}; run one with -m.")
        return USER_ERROR_EXIT
    sweep_id = sweep.data.tags.get("optbench.sweep_id", sweep.info.run_id)
    out = Path(args.out or Path("runs") / "reports" / sweep_id)
    out.mkdir(parents=True, exist_ok=True)
    children = sweep_children(client, experiment_ids, sweep.info.run_id)
    console.print(f"sweep {sweep_id}: {len(children)} runs -> {out}")
    transfer = transfer_children(children)
    if transfer:
        header, rows = architecture_table(transfer)
        (out / "architectures.md").write_text(markdown(header, rows))
        print_table("architectures", header, rows)
    runs = landscape_children(children)
    if runs:
        for function, paths in trajectories(client, runs).items():
            path = out / f"landscape_{function}.png"
            landscape(function, paths, f"{function} · {len(paths)} runs").savefig(path)
            console.print(f"  {path}")
        header, rows = tolerance_table(runs)
        (out / "steps_to_tolerance.csv").write_text(table_csv(header, rows))
        print_table("steps to tolerance", header, rows)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
