"""optbench/report/html.py: index.html put together from its parts, read back with an HTML
parser: the sections in their order, each only where it has something to show, the cells
formatted as in the Markdown (counts in full, NaN as '-'), the images by file name, and every
text that came from a run (titles, names, links) escaped."""

from __future__ import annotations

import math
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd

from optbench.report.diagnostics import NOTE, DiagnosticsView
from optbench.report.html import CAPTIONS, index_page
from optbench.report.landscapes import LandscapeView
from optbench.report.stats import ONE_SEED
from optbench.report.tables import TextTable


class Page(HTMLParser):
    """A page's h1/h2 headings, tables (rows of cell texts), image sources and links."""

    def __init__(self, page: str):
        super().__init__()
        self.headings: list[str] = []
        self.tables: list[list[list[str]]] = []
        self.images: list[tuple[str, str]] = []
        self.links: list[str] = []
        self._heading = False
        self._cell = False
        self.feed(page)

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if tag in ("h1", "h2"):
            self.headings.append("")
            self._heading = True
        elif tag == "table":
            self.tables.append([])
        elif tag == "tr":
            self.tables[-1].append([])
        elif tag in ("td", "th"):
            self.tables[-1][-1].append("")
            self._cell = True
        elif tag == "img":
            self.images.append((dict(attrs)["src"], dict(attrs)["alt"]))
        elif tag == "a":
            self.links.append(dict(attrs)["href"])

    def handle_endtag(self, tag: str) -> None:
        self._heading = self._heading and tag not in ("h1", "h2")
        self._cell = self._cell and tag not in ("td", "th")

    def handle_data(self, data: str) -> None:
        if self._heading:
            self.headings[-1] += data
        elif self._cell:
            self.tables[-1][-1][-1] += data.strip()


SUMMARY = pd.DataFrame(
    {
        "label": ["adam", "sgd"],
        "n": [3, 1],
        "params_total": [101770.0, 101770.0],
        "val_accuracy_std": [0.01234, math.nan],
        "vs_best": ["best", ONE_SEED],
    }
)


def test_a_page_with_only_its_tables_and_figures():
    figures = [Path("/tmp/report/digits_mlp_lr_vs_step.png"), Path("performance_profile.png")]
    tables = {"summary": SUMMARY, "time_to_target": pd.DataFrame()}  # empty: no section
    page = Page(index_page("optbench report", "val_accuracy", tables, figures))
    assert page.headings == ["optbench report", CAPTIONS["summary"], "Figures"]
    (summary,) = page.tables
    assert summary == [
        ["label", "n", "params_total", "val_accuracy_std", "vs_best"],
        ["adam", "3", "101,770", "0.01234", "best"],
        ["sgd", "1", "101,770", "-", ONE_SEED],
    ]
    # images by name, relative to the page's folder, alt text the file's stem
    assert page.images == [
        ("digits_mlp_lr_vs_step.png", "digits_mlp_lr_vs_step"),
        ("performance_profile.png", "performance_profile"),
    ]
    assert page.links == []  # no UI links given


def test_tables_come_in_the_captions_order_and_unknown_ones_are_left_out():
    ttt = pd.DataFrame({"label": ["adam"], "reached": ["2/3"], "median_steps": [12.0]})
    tables = {"time_to_target": ttt, "extra": SUMMARY, "summary": SUMMARY}
    page = Page(index_page("t", "val_loss", tables, []))
    assert page.headings == ["t", "Final results over seeds", "Time to target"]
    assert page.tables[1] == [["label", "reached", "median_steps"], ["adam", "2/3", "12"]]


def test_every_text_from_the_runs_is_escaped():
    links = {"a<b>": "http://127.0.0.1:5000/#/experiments/1/runs?x=1&y='2'"}
    text = index_page(
        "<script>alert(1)</script>", "val_<loss>", {}, [Path("a'b.png")], ui_links=links
    )
    assert "<script>" not in text and "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    assert "<b>val_&lt;loss&gt;</b>" in text
    page = Page(text)
    assert page.links == ["http://127.0.0.1:5000/#/experiments/1/runs?x=1&y='2'"]
    assert page.images == [("a'b.png", "a'b")]
    assert ">a&lt;b&gt;</a>" in text


def test_the_views_follow_the_figures_diagnostics_landscapes_then_architectures(tmp_path):
    flags = pd.DataFrame(
        {"run": ["r1"], "seed": [1000], "flags": ["stalled"], "steps": ["stalled: 40"]}
    )
    diagnostics = DiagnosticsView(
        flags, {"sklearn": "no <gradients>"}, [tmp_path / "diag_heatmap_adam.png"]
    )
    tolerance = TextTable(["function", "adam"], [["rosenbrock", "12-40 (2/3)"]])
    landscapes = LandscapeView(tolerance, {"rosenbrock": tmp_path / "landscape_rosenbrock.png"})
    architectures = TextTable(["model", "params"], [["mobilenet <head>", 2562.0]])
    text = index_page(
        "t", "val_accuracy", {}, [tmp_path / "fig.png"], landscapes, architectures,
        diagnostics=diagnostics,
    )  # fmt: skip
    page = Page(text)
    assert page.headings == [
        "t",
        "Figures",
        "Diagnostics",
        "Landscapes: steps to tolerance (distance to the nearest minimum)",
        "Architectures",
    ]
    assert [src for src, _ in page.images] == [
        "fig.png",
        "diag_heatmap_adam.png",
        "landscape_rosenbrock.png",
    ]
    flags_table, tolerance_table, architecture_table = page.tables
    assert flags_table == [
        ["run", "seed", "flags", "steps"],
        ["r1", "1,000", "stalled", "stalled: 40"],
    ]
    assert tolerance_table == [["function", "adam"], ["rosenbrock", "12-40 (2/3)"]]
    assert architecture_table == [["model", "params"], ["mobilenet <head>", "2,562"]]
    assert "mobilenet &lt;head&gt;" in text
    assert "<p>Not measured on sklearn: no &lt;gradients&gt;.</p>" in text
    assert NOTE.split(".")[0] in text


def test_an_empty_report_still_says_what_it_compares():
    text = index_page("nothing yet", "", {}, [])
    page = Page(text)
    assert page.headings == ["nothing yet"] and page.tables == [] and page.images == []
    assert text.startswith("<!doctype html>") and text.endswith("</body></html>")
    assert f"'{ONE_SEED}': the group or the best has a single seed" in text
