"""The suite's scorecard (optbench/suite/scorecard.py) on hand-made results whose speedups and
scores can be worked out by hand: the cells of index.html and scorecard.md, the performance
profile PNG in each optimizer's colour, and the page as headless Chromium renders it. Pools:
tests/test_suite_pool.py; suites read back from an MLflow store: tests/test_suite_stored.py;
`optbench suite --score`: tests/test_suite_cli.py."""

from __future__ import annotations

import math
from html.parser import HTMLParser
from pathlib import Path

import pytest

from optbench.report.plots import colours_for
from optbench.suite import pool
from optbench.suite.result import HEADER, WorkloadResult
from optbench.suite.scorecard import (
    INTERVAL,
    NO_BASELINES,
    SCORE_HEADER,
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
BUDGETS = {"quad": 250.0, "mnist": 1000.0}  # in steps
# nadamw: quad 200, mnist 80; adamw: quad 300, past the 250-step budget (not reached), mnist 100
BASELINES = {
    "nadamw": {"quad": [200.0] * 3, "mnist": [80.0] * 3},
    "adamw": {"quad": [300.0] * 3, "mnist": [100.0] * 3},
}


def pool_of(label: str, results: list[WorkloadResult] = RESULTS, theirs=BASELINES):
    mine = {label: {r.workload.name: r.steps for r in results}}
    return pool.with_baselines(mine, theirs, BUDGETS, label)


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
    results = [*RESULTS, result("nobody", [inf, inf, inf], [math.nan] * 3)]
    theirs = {b: {**per, "nobody": [inf]} for b, per in BASELINES.items()}
    budgets = {**BUDGETS, "nobody": 100.0}
    mine = {"mysign": {r.workload.name: r.steps for r in results}}
    speedups = speedup_column(results, pool.with_baselines(mine, theirs, budgets, "x"), "mysign")
    assert speedups["quad"] == pytest.approx(2.0)  # nadamw's 200 / 100; adamw's 300 is cut
    assert speedups["mnist"] == 0.0  # the median over seeds is inf: not reached
    assert math.isnan(speedups["nobody"])
    only_me = {"mysign": {"quad": [40.0]}}
    assert speedup_column(RESULTS[:1], pool.with_baselines(only_me, {"nadamw": {"quad": [inf]}},
                          BUDGETS, "x"), "mysign") == {"quad": inf}  # fmt: skip
    assert math.isnan(speedup_column(RESULTS, None, "mysign")["quad"])  # no baselines at all


def test_write_tables_markdown_and_profile(tmp_path):
    out = tmp_path / "suite-x"
    scored = pool_of("mysign")
    assert scored.label == "mysign + 2 tuned baselines"
    path = write(out, title="suite x", label="mysign", results=RESULTS, pool=scored)
    assert path == out / "index.html"
    text = path.read_text()
    page = Tables(text)
    workloads, scores = page.tables
    assert workloads[0] == [*HEADER, SPEEDUP]
    rows = by_first_cell(workloads)
    assert rows["quad"][SPEEDUP] == "2.00x" and rows["quad"]["steps to target (median)"] == "100"
    assert rows["quad"]["reached"] == "3/3" and rows["quad"]["budget"] == "50 steps"
    assert rows["mnist"][SPEEDUP] == "not reached" and rows["mnist"]["reached"] == "1/3"
    assert rows["mnist"]["final metric, median [min, max]"] == "0.94 [0.93, 0.96]"
    # medians: mysign quad 100, mnist inf; nadamw 200, 80; adamw inf (past budget), 100
    # ratios: mysign 1, inf -> (4-1)/2/3 = 0.5; nadamw 2, 1 -> 5/6; adamw inf, 1.25 -> 2.75/6
    # speed-up over nadamw, a miss counting budget + 1: mysign sqrt(200/100 * 80/1001) = 0.40,
    # adamw sqrt(200/251 * 80/100) = 0.80, on the 2 workloads one side reached
    assert scores[0] == SCORE_HEADER and INTERVAL == "95% interval"
    cells = {row[0]: [row[1], row[2], row[4], row[6]] for row in scores[1:]}
    assert cells == {
        "mysign": ["1/2", "0.500", "0.40x", "2/2"],
        "nadamw (baseline)": ["2/2", "0.833", "1.00x", "2/2"],
        "adamw (baseline)": ["1/2", "0.458", "0.80x", "2/2"],
    }
    for name, row in by_first_cell(scores).items():  # every interval holds its point
        for point, interval in [
            (SCORE_HEADER[2], SCORE_HEADER[3]),
            (SCORE_HEADER[4], SCORE_HEADER[5]),
        ]:
            low, high = (float(v) for v in row[interval].strip("[]").split(","))
            assert low <= float(row[point].rstrip("x")) <= high, (name, row)
    # mysign's seeds disagree, and resampling them moves everyone's best times
    assert by_first_cell(scores)["mysign"][SCORE_HEADER[3]] != "[0.500, 0.500]"
    assert "pool: mysign + 2 tuned baselines" in text and "budget + 1" in text
    assert page.images == ["performance_profile.png"]
    figure = out / "performance_profile.png"
    assert figure.read_bytes()[:8] == PNG_MAGIC
    from matplotlib.image import imread

    pixels = imread(figure)[:, :, :3]
    assert pixels.shape[0] > 200 and pixels.shape[1] > 300
    for name, colour in colours_for(["mysign", "nadamw (baseline)"]).items():
        rgb = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
        drawn = (abs(pixels - rgb) < 2 / 255).all(axis=2).sum()
        assert drawn > 50, f"{name}'s line is not drawn in its colour {colour}"
    md = (out / "scorecard.md").read_text()
    assert md.startswith("# suite x\n") and f"| {SPEEDUP} |" in md
    assert "| quad | distance_to_min <= 0.001 | 50 steps | 3/3 | 100 |" in md and "| 2.00x |" in md
    assert "## Score over 2 workloads (median steps to target), pool: mysign + 2 tuned" in md
    assert "| mysign | 1/2 | 0.500 |" in md


def test_without_baselines_the_page_says_so_and_has_one_table(tmp_path):
    (tmp_path / "performance_profile.png").write_bytes(PNG_MAGIC)  # from an earlier write
    # no baseline ran every workload: no pool, no score table
    partial = {"adamw": {"quad": [300.0]}}
    assert pool_of("mine", theirs=partial) is None
    path = write(tmp_path, title="t", label="mine", results=RESULTS, pool=None)
    text = path.read_text()
    page = Tables(text)
    assert len(page.tables) == 1 and not page.images
    assert [row[-1] for row in page.tables[0][1:]] == ["-", "-"]
    assert NO_BASELINES in text and not (tmp_path / "performance_profile.png").exists()
    assert NO_BASELINES in (tmp_path / "scorecard.md").read_text()


def test_a_submission_named_as_a_baseline_is_scored_next_to_it(tmp_path):
    """optimizer=nadamw at its defaults is not the tuned nadamw baseline: both rows, and the
    tuned one is the per-workload speedup's reference too."""
    path = write(tmp_path, title="t", label="nadamw", results=RESULTS, pool=pool_of("nadamw"))
    workloads_table, scores = Tables(path.read_text()).tables[:2]
    assert {row[0] for row in scores[1:]} == {"nadamw", "nadamw (baseline)", "adamw (baseline)"}
    assert by_first_cell(scores)["nadamw"]["speedup vs nadamw (geometric mean)"] == "0.40x"
    assert by_first_cell(workloads_table)["quad"][SPEEDUP] == "2.00x"  # its 200 / 100


@pytest.mark.slow
@needs_chromium
def test_scorecard_renders_in_headless_chromium(tmp_path):
    path = write(tmp_path, title="suite c", label="mysign", results=RESULTS, pool=pool_of("mysign"))
    images, tables, text = rendered(Path(path))
    assert images == [["performance_profile.png", True, 750]]  # 7.5 in at 100 dpi
    assert tables == 2
    for shown in ("suite c", "quad", "mnist", "2.00x", "not reached", "0.500", "0.833"):
        assert shown in text, shown
