"""Everything optbench prints: errors, the run summary, the sweep summary (rich)."""

from __future__ import annotations

import os
import sys
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from optbench import tags as tag
from optbench.metrics import LIVE

# Piped into a file or another program, rich would lay everything out for 80 columns and cut
# table cells short ("targ…"). A log should read whole: there the width is as wide as any line
# optbench prints (a table takes only the width its cells need). $COLUMNS still wins.
PIPED_WIDTH = 1000


def make_console(stderr: bool = False) -> Console:
    """A rich Console on stdout (or stderr) for the terminal, or wide where the stream is not one."""
    stream = sys.stderr if stderr else sys.stdout
    try:
        terminal = stream.isatty()
    except (AttributeError, ValueError):  # replaced by an object without isatty, or closed
        terminal = False
    wide = not terminal and not os.environ.get("COLUMNS")
    # Printed as typed: no :emoji: codes (a message such as "optimizer.target=pkg.mod:X: ...")
    # and no markup, since run names, overrides, paths and error tags hold brackets
    # (``suite.workloads=[mnist_mlp]``, ``[/data]``) that rich would drop or fail on. A styled
    # line asks for markup=True and escapes what it interpolates.
    return Console(stderr=stderr, emoji=False, markup=False, width=PIPED_WIDTH if wide else None)


console = make_console()
errors = make_console(stderr=True)


def cells(*values: Any) -> list[Text]:
    """Table cells as plain text: run names, overrides and error tags hold brackets
    (``suite.workloads=[mnist_mlp]``, ``[/data]``) that rich would read as markup, dropping
    them or raising MarkupError."""
    return [Text(str(value)) for value in values]


def print_table(title: str, header: list[str], rows: list[list[str]]) -> None:
    table = Table(title=title)
    for i, column in enumerate(header):
        table.add_column(column, no_wrap=i == 0)  # names: other columns wrap first
    for row in rows:
        table.add_row(*cells(*row))
    console.print(table)


def print_error(message: str, context: str = "") -> None:
    errors.print(
        f"[bold red]error{escape(context)}:[/] {escape(message)}",
        highlight=False,
        soft_wrap=True,
        markup=True,
    )


def print_skipped(name: str, run_id: str) -> None:
    console.print(
        f"[yellow]skipped[/yellow] {escape(name)}: an identical run already FINISHED (run {run_id}); "
        "trainer.skip_existing=true",
        markup=True,
    )


def print_run_summary(result: Any, run: Any) -> None:
    table = Table(title=f"optbench · run {run.run_id[:8]}", show_header=True)
    table.add_column("metric")
    table.add_column("value", justify="right")
    last = result.history[-1] if result.history else {}
    rows = {
        **{k: last[k] for k in LIVE if k in last},
        **result.final,
    }
    for key, value in rows.items():
        table.add_row(*cells(key, f"{value:.4f}" if isinstance(value, float) else value))
    table.add_row(*cells("stopped", result.stop_reason))
    console.print(table)
    for note in result.notes:
        console.print(f"[yellow]note:[/] {escape(note)}", highlight=False, markup=True)
    console.print(
        f"results: {run.uri}  (run {run.run_id}, artifacts {run.artifact_uri})",
        highlight=False,
        soft_wrap=True,
    )
    print_browse_hint(run.uri, run.experiment_id, run.run_id)


def print_browse_hint(uri: str, experiment_id: str, run_id: str | None = None) -> None:
    """The MLflow UI's link to the run (or the experiment), and the command that serves it."""
    from optbench.tracking import browse_hint

    hint = browse_hint(uri, experiment_id, run_id)
    console.print(f"browse them: {hint}", highlight=False, soft_wrap=True)


SWEEP_COLUMNS = ("val_loss", "test_accuracy", "final_loss", "distance_to_min", "steps_to_tolerance")


def print_sweep_summary(sweep: Any, report: Any) -> None:
    """The child runs of a closed sweep (optbench.tracking.ClosedSweep), then what its report
    (optbench.report.sweep.SweepReport) drew."""
    children = sorted(sweep.children, key=lambda c: c.info.start_time)
    columns = [k for k in SWEEP_COLUMNS if any(k in c.data.metrics for c in children)]
    table = Table(title=f"sweep · parent run {sweep.run_id[:8]} · {sweep.status}")
    for column in ("run", "status", *columns, "note"):
        table.add_column(column)
    for child in children:
        metrics, tags = child.data.metrics, child.data.tags
        table.add_row(
            *cells(
                child.info.run_name,
                child.info.status,
                *(f"{metrics[k]:.4g}" if k in metrics else "-" for k in columns),
                tags.get(tag.ERROR, "diverged" if tags.get(tag.DIVERGED) == "true" else ""),
            )
        )
    console.print(table)
    if report.landscapes:
        print_table("steps to tolerance (distance to the nearest minimum)", *report.landscapes)
        console.print(
            "overlay figures: artifacts landscapes/<function>.png of the sweep's parent run"
        )
    if report.index:
        console.print(
            f"report: {report.index} (also artifacts report/ of the parent run; "
            "redraw with `optbench report`)",
            soft_wrap=True,
        )
    if report.architectures:
        print_table("architectures", *report.architectures)
    print_browse_hint(sweep.uri, sweep.experiment_id)


def print_tuning_start(studies: list[Any], n_trials: int, metric: str, direction: str) -> None:
    console.print(
        f"tuning: {len(studies)} studies x {n_trials} trials, {direction} {metric}", soft_wrap=True
    )
    for study in studies:
        note = f" (not in its config: {', '.join(study.skipped)})" if study.skipped else ""
        console.print(
            f"  {study.name}: {', '.join(study.space)}{note}",
            soft_wrap=True,
        )


def print_tuning_results(results: list[dict[str, Any]], metric: str, folder: Any) -> None:
    rows = [
        [
            r["study"],
            f"{r['trials'] - r['failed']}/{r['trials']}",
            "-" if r["value"] is None else f"{r['value']:.4g}",
            ", ".join(
                f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}"
                for k, v in r["params"].items()
            ),
        ]
        for r in results
    ]
    print_table(f"tuning: best {metric} per study", ["study", "trials ok", metric, "best"], rows)
    names = ",".join(r["study"] for r in results if r["file"])
    if not names:
        console.print("no study finished a trial: no best config to evaluate", soft_wrap=True)
        return
    console.print(
        f"best configs: {folder}/best/ · evaluate them on 5 seeds with\n"
        f"  optbench -m --config-dir {folder} +best={names} seed=0,1,2,3,4",
        soft_wrap=True,
    )
