"""index.html of a report: its tables and figures on one page, with the landscape overlays,
the architecture table and the diagnostics section where the runs have them, and links to the
runs in the MLflow UI."""

from __future__ import annotations

import html
from pathlib import Path
from typing import TYPE_CHECKING

from optbench.report import diagnostics as diag
from optbench.report.landscapes import LandscapeView
from optbench.report.stats import ONE_SEED
from optbench.report.tables import TextTable, fmt

if TYPE_CHECKING:
    import pandas as pd

STYLE = (
    "body{font-family:sans-serif;margin:2em;max-width:1400px}"
    "table{border-collapse:collapse;font-size:13px;margin:1em 0}"
    "td,th{border:1px solid #ccc;padding:3px 7px;text-align:right}"
    "img{max-width:680px;margin:6px;border:1px solid #eee}"
)
CAPTIONS = {"summary": "Final results over seeds", "time_to_target": "Time to target"}


def index_page(
    title: str,
    metric: str,
    tables: dict[str, pd.DataFrame],
    figures: list[Path],
    landscapes: LandscapeView | None = None,
    architectures: TextTable | None = None,
    ui_links: dict[str, str] | None = None,
    diagnostics: diag.DiagnosticsView | None = None,
) -> str:
    """The page: ``tables`` (by name, captioned by CAPTIONS), then ``figures`` (files in the
    page's folder), then the diagnostics, landscape and architecture views when given.
    ``ui_links``: the experiments in the MLflow UI (optbench.tracking.ui), by name."""
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'>",
        f"<title>{html.escape(title)}</title>",
        f"<style>{STYLE}</style></head><body>",
        f"<h1>{html.escape(title)}</h1>",
        f"<p>Metric: <b>{html.escape(metric)}</b>. Groups compared within each "
        "(dataset, model); 'within noise': the 95% bootstrap interval of the difference from "
        f"the best group contains 0; '{ONE_SEED}': the group or the best has a single seed, "
        "so the gap cannot be told from noise.</p>",
    ]
    if ui_links:
        links = ", ".join(
            f"<a href='{html.escape(url)}'>{html.escape(name)}</a>"
            for name, url in ui_links.items()
        )
        parts.append(f"<p>Every run in the MLflow UI (<code>optbench ui</code>): {links}</p>")
    for name, caption in CAPTIONS.items():
        table = tables.get(name)
        if table is not None and not table.empty:
            parts.append(f"<h2>{caption}</h2>")
            cells = [fmt] * len(table.columns)  # the Markdown's and the terminal's numbers
            parts.append(table.to_html(index=False, formatters=cells, na_rep="-"))
    if figures:
        parts.append("<h2>Figures</h2>")
        parts += [_image(p) for p in figures]
    if diagnostics is not None:
        parts += ["<h2>Diagnostics</h2>", f"<p>{html.escape(diag.NOTE)}</p>"]
        flags = diagnostics.flags
        parts.append(flags.to_html(index=False, formatters=[fmt] * len(flags.columns)))
        for framework, note in diagnostics.unavailable.items():
            parts.append(f"<p>Not measured on {html.escape(framework)}: {html.escape(note)}.</p>")
        parts += [_image(p) for p in diagnostics.figures]
    if landscapes is not None:
        parts.append("<h2>Landscapes: steps to tolerance (distance to the nearest minimum)</h2>")
        parts.append(_text_table(landscapes.tolerance))
        parts += [_image(p) for p in landscapes.overlays.values()]
    if architectures is not None:
        parts.append("<h2>Architectures</h2>")
        parts.append(_text_table(architectures))
    parts.append("</body></html>")
    return "\n".join(parts)


def _image(path: Path) -> str:
    return f"<img src='{html.escape(path.name)}' alt='{html.escape(path.stem)}'>"


def _text_table(table: TextTable) -> str:
    def row(cells: list, tag: str) -> str:
        return "<tr>" + "".join(f"<{tag}>{html.escape(fmt(c))}</{tag}>" for c in cells) + "</tr>"

    body = "\n".join(row(cells, "td") for cells in table.rows)
    return f"<table><thead>{row(table.header, 'th')}</thead><tbody>\n{body}\n</tbody></table>"
