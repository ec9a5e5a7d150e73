"""What a sweep's end reports, once tracking has closed its parent run: the learning curves of
its runs on one figure, and the comparison report (optbench.report.build, with the landscape
overlays and the architecture table where the sweep has them) written to
runs/reports/<sweep id>/ and logged as artifacts report/ of the parent run. The views' files
are also top-level artifacts of the parent (landscapes/<function>.png, steps_to_tolerance.csv,
architectures.md/.csv), where the MLflow UI shows them first; the parent's description says
where the report is."""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from optbench import paths
from optbench import tags as tag
from optbench.report.build import Report, ReportOptions, build_report
from optbench.report.curves import log_sweep_curves
from optbench.report.tables import TextTable
from optbench.tracking import ClosedSweep, MlflowWriter, sweep_description, ui_base


@dataclass
class SweepReport:
    """What was drawn for a sweep, for the console's summary."""

    curves: bool = False  # curves/train_loss.png logged on the parent run
    index: Path | None = None  # the report's index.html
    landscapes: TextTable | None = None  # steps to tolerance, where there are landscape runs
    architectures: TextTable | None = None  # where there are transfer-learning runs


def report_sweep(sweep: ClosedSweep) -> SweepReport:
    """Draw and log the sweep's curves and report. A report that cannot be drawn is a
    warning: the runs themselves are safe in the store."""
    writer = MlflowWriter(sweep.uri)
    drawn = SweepReport(curves=log_sweep_curves(writer, sweep.run_id, sweep.children))
    finished = [c for c in sweep.children if c.info.status == "FINISHED"]
    if not finished:
        return drawn
    folder = paths.reports(sweep.sweep_id or sweep.run_id)
    try:
        options = ReportOptions(title=f"sweep {folder.name}", ui_base=ui_base(sweep.uri))
        report = build_report(writer.client, finished, folder, options)
        writer.client.log_artifacts(sweep.run_id, str(folder), "report")
        _log_views(writer.client, sweep.run_id, report)
    except Exception as exc:
        from optbench.console import print_error

        print_error(f"the sweep report could not be built: {type(exc).__name__}: {exc}")
        return drawn
    drawn.index = folder / "index.html"
    command = writer.client.get_run(sweep.run_id).data.tags.get(tag.NOTE, "")
    writer.tags(sweep.run_id, {tag.NOTE: sweep_description(command, drawn.index)})
    drawn.landscapes = report.landscapes.tolerance if report.landscapes else None
    drawn.architectures = report.architectures
    return drawn


def _log_views(client: Any, run_id: str, report: Report) -> None:
    """The landscape and architecture files of ``report`` as top-level artifacts of the run."""
    if report.landscapes is not None:
        with tempfile.TemporaryDirectory() as tmp:
            for function, path in report.landscapes.overlays.items():
                shutil.copy(path, Path(tmp) / f"{function}.png")
            client.log_artifacts(run_id, tmp, "landscapes")
        client.log_artifact(run_id, str(report.folder / "steps_to_tolerance.csv"))
    if report.architectures is not None:
        for name in ("architectures.md", "architectures.csv"):
            client.log_artifact(run_id, str(report.folder / name))
