"""The suite's scorecard (optbench/suite/scorecard.py) on hand-made results whose speedups and
scores can be worked out by hand: the cells of index.html and scorecard.md, the performance
profile PNG in each optimizer's colour, and the page as headless Chromium renders it."""

from __future__ import annotations

import math
from html.parser import HTMLParser
from pathlib import Path

import pytest

from optbench.report.plots import colours_for
from optbench.suite.result import HEADER, WorkloadResult
from optbench.suite.scorecard import (
    NO_BASELINES,
    SPEEDUP,
    speedup_column,
    write,
)
from optbench.suite.workloads import Workload
from tests.test_tracking_server import needs_chromium, rendered

inf = math.inf
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def result(name: str, steps: list[float], final: list[float]) -> WorkloadResult:
    unit = "steps" if name == "quad" else "epochs"
    metric, value = ("distance_to_min", 1e-3) if name == "quad" else ("val_accuracy", 0.95)
    work = Workload(name, f"{name} by hand", metric, value, 50, unit)
    seconds = [s / 10 for s in steps]
    return WorkloadResult(work, steps=steps, gradients=steps, seconds=seconds, final=final)


# submission "mysign": quad in 100 steps (median of 3 seeds), mnist not reached (2 of 3 missed)
RESULTS = [
    result("quad", [100.0, 90.0, 120.0], [1e-4, 2e-4, 5e-4]),
    result("mnist", [inf, 50.0, inf], [0.93, 0.96, 0.94]),
]
# nadamw ran both (quad 200, mnist 80); adamw only quad (300), so it has a speedup but no score
BASELINES = {"nadamw": {"quad": 200.0, "mnist": 80.0}, "adamw": {"quad": 300.0}}


class Tables(HTMLParser):
    """Every <table> of a page as rows of cell texts (header row included)."""

    def __init__(self, page: str):
        super().__init__()
        self.tables: list[list[list[str]]] = []
        self.images: list[str] = []
        self.in_cell = False
        self.feed(page)

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if tag == "table":
            self.tables.append([])
        elif tag == "tr":
            self.tables[-1].append([])
        elif tag in ("td", "th"):
            self.tables[-1][-1].append("")
            self.in_cell = True
        elif tag == "img":
            self.images.append(dict(attrs)["src"])

    def handle_endtag(self, tag: str) -> None:
        self.in_cell = self.in_cell and tag not in ("td", "th")

    def handle_data(self, data: str) -> None:
        if self.in_cell:
            self.tables[-1][-1][-1] += data


def by_first_cell(table: list[list[str]]) -> dict[str, dict[str, str]]:
    header, *rows = table
    return {row[0]: dict(zip(header, row, strict=True)) for row in rows}


def test_speedup_column_by_hand():
    results = [
        *RESULTS,
        result("only_me", [40.0, 40.0, 40.0], [0.0] * 3),
        result("nobody", [inf, inf, inf], [math.nan] * 3),
        result("unbaselined", [10.0, 10.0, 10.0], [0.0] * 3),
    ]
    baselines = {
        "nadamw": {**BASELINES["nadamw"], "only_me": inf, "nobody": inf},
        "adamw": BASELINES["adamw"],
    }
    speedups = speedup_column(results, baselines)
    assert speedups["quad"] == pytest.approx(2.0)  # best baseline 200 (not adamw's 300) / 100
    assert speedups["mnist"] == 0.0  # the median over seeds is inf: not reached
    assert speedups["only_me"] == inf
    assert math.isnan(speedups["nobody"]) and math.isnan(speedups["unbaselined"])


def test_write_tables_markdown_and_profile(tmp_path):
    out = tmp_path / "suite-x"
    path = write(out, title="suite x", label="mysign", results=RESULTS, baseline_steps=BASELINES)
    assert path == out / "index.html"
    page = Tables(path.read_text())
    workloads, scores = page.tables
    assert workloads[0] == [*HEADER, SPEEDUP]
    rows = by_first_cell(workloads)
    assert rows["quad"][SPEEDUP] == "2.00x" and rows["quad"]["steps to target (median)"] == "100"
    assert rows["quad"]["reached"] == "3/3" and rows["quad"]["budget"] == "50 steps"
    assert rows["mnist"][SPEEDUP] == "not reached" and rows["mnist"]["reached"] == "1/3"
    assert rows["mnist"]["final metric, median [min, max]"] == "0.94 [0.93, 0.96]"
    # ratios: mysign quad 1, mnist inf -> (4-1)/2/3 = 0.5; nadamw quad 2, mnist 1 -> 5/6
    # geometric-mean speedup over nadamw: quad only (mysign missed mnist) 200/100 = 2
    # adamw did not run mnist, so it is not scored (a profile needs the same workloads)
    assert [row[:4] for row in scores[1:]] == [
        ["mysign", "0.500", "2.00x", "1/2"],
        ["nadamw", "0.833", "1.00x", "2/2"],
    ]
    assert page.images == ["performance_profile.png"]
    figure = out / "performance_profile.png"
    assert figure.read_bytes()[:8] == PNG_MAGIC
    from matplotlib.image import imread

    pixels = imread(figure)[:, :, :3]
    assert pixels.shape[0] > 200 and pixels.shape[1] > 300
    for name, colour in colours_for(["mysign", "nadamw"]).items():
        rgb = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
        drawn = (abs(pixels - rgb) < 2 / 255).all(axis=2).sum()
        assert drawn > 50, f"{name}'s line is not drawn in its colour {colour}"
    md = (out / "scorecard.md").read_text()
    assert md.startswith("# suite x\n") and f"| {SPEEDUP} |" in md
    assert "| quad | distance_to_min <= 0.001 | 50 steps | 3/3 | 100 |" in md and "| 2.00x |" in md
    assert "| mysign | 0.500 | 2.00x | 1/2 |" in md


def test_without_baselines_the_page_says_so_and_has_one_table(tmp_path):
    (tmp_path / "performance_profile.png").write_bytes(PNG_MAGIC)  # from an earlier write
    # no baseline ran every workload: a speedup per workload, no score table
    partial = {"adamw": BASELINES["adamw"]}
    path = write(tmp_path, title="t", label="mine", results=RESULTS, baseline_steps=partial)
    text = path.read_text()
    page = Tables(text)
    assert len(page.tables) == 1 and not page.images
    assert by_first_cell(page.tables[0])["quad"][SPEEDUP] == "3.00x"  # adamw's 300 / 100
    assert NO_BASELINES in text and not (tmp_path / "performance_profile.png").exists()
    alone = write(tmp_path / "alone", title="t", label="x", results=RESULTS, baseline_steps={})
    cells = [row[-1] for row in Tables(alone.read_text()).tables[0][1:]]
    assert cells == ["-", "-"] and NO_BASELINES in (tmp_path / "alone" / "scorecard.md").read_text()


def test_a_submission_named_as_a_baseline_is_scored_next_to_it(tmp_path):
    """optimizer=nadamw at its defaults is not the tuned nadamw baseline: both rows, and the
    tuned one is the per-workload speedup's reference too."""
    path = write(tmp_path, title="t", label="nadamw", results=RESULTS, baseline_steps=BASELINES)
    workloads_table, scores = Tables(path.read_text()).tables[:2]
    assert {row[0] for row in scores[1:]} == {"nadamw", "nadamw (baseline)"}
    assert by_first_cell(workloads_table)["quad"][SPEEDUP] == "2.00x"  # its 200 / 100


@pytest.mark.slow
@needs_chromium
def test_scorecard_renders_in_headless_chromium(tmp_path):
    path = write(
        tmp_path, title="suite c", label="mysign", results=RESULTS, baseline_steps=BASELINES
    )
    images, tables, text = rendered(Path(path))
    assert images == [["performance_profile.png", True, 750]]  # 7.5 in at 100 dpi
    assert tables == 2
    for shown in ("suite c", "quad", "mnist", "2.00x", "not reached", "0.500", "0.833"):
        assert shown in text, shown
