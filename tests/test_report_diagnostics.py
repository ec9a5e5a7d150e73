"""The report's diagnostics section, on real Keras runs in a real MLflow store: the diag_*
curves per optimizer, each optimizer's per-layer heat map, sharpness against 2/lr where
curvature was measured, the flags table (read back against the runs' tags) and index.html's
Diagnostics section; none of it for runs without diagnostics."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest
from matplotlib.image import imread

from optbench import tags as tag
from optbench.diagnostics.record import Recorder
from optbench.report.build import ReportOptions, build_report
from optbench.report.diagnostics import heatmap, read_rows
from optbench.report.frame import search
from tests.conftest import client, train

PNG = b"\x89PNG\r\n\x1a\n"
# two epochs of an MLP on digits, a curvature probe at every probe (every 9 steps), cheap ones
QUICK = (
    "model=mlp",
    "dataset=digits",
    "trainer.max_iter=2",
    "trainer.diagnostics_every=9",  # the default (400 steps) is more than these 2 epochs
    "trainer.diagnostics_curvature_every=9",
    "trainer.diagnostics_sample=128",
    "trainer.diagnostics_power_iters=8",
    "trainer.diagnostics_trace_probes=3",
)
CURVATURE = (*QUICK, "trainer.diagnostics=curvature")


def _valid_png(path: Path) -> None:
    assert path.is_file(), path.name
    assert path.read_bytes()[:8] == PNG, path.name
    height, width, _ = imread(path).shape
    assert height > 100 and width > 100, path.name


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """adam, and sgd at lr 1e-7 (it stalls: the flag), with curvature diagnostics, and
    rmsprop with diagnostics off, in one store (about 25 s: each run costs ~6 s)."""
    folder = tmp_path_factory.mktemp("diagnostics_report")
    uri = f"sqlite:///{folder / 'mlflow.db'}"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("OPTBENCH_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "cache"))
        mp.delenv("MLFLOW_TRACKING_URI", raising=False)
        train(uri, *CURVATURE, "optimizer=adam")
        train(uri, *CURVATURE, "optimizer=sgd", "optimizer.lr=1e-7")
        train(uri, *QUICK, "trainer.diagnostics=off", "optimizer=rmsprop")
    return folder, client(uri)


@pytest.fixture(scope="module")
def report(store):
    folder, mlflow = store
    runs = search(mlflow)
    assert len(runs) == 3
    return build_report(mlflow, runs, folder / "report", ReportOptions()), runs


@pytest.mark.slow
def test_flags_table_lists_each_diagnosed_run_with_its_tags(report):
    built, runs = report
    table = pd.read_csv(built.folder / "diagnostics_flags.csv", keep_default_na=False)
    by_name = {r.info.run_name: r for r in runs}
    diagnosed = [r for r in runs if r.data.tags[tag.choice("optimizer")] != "rmsprop"]
    assert sorted(table["run"]) == sorted(r.info.run_name for r in diagnosed)
    assert sorted(zip(table["label"], table["seed"], strict=True)) == [("adam", 0), ("sgd", 0)]
    assert set(table["level"]) == {"curvature"}
    for row in table.itertuples():
        tags = by_name[row.run].data.tags
        raised = [f for f in tags[tag.DIAG_FLAGS].split(",") if f]
        assert row.flags == (",".join(raised) or "none")
        steps = [f"{f}: {tags[tag.DIAG_FLAG_PREFIX + f].split(':')[0]}" for f in raised]
        assert row.steps == "; ".join(steps)
    (sgd,) = table[table["label"] == "sgd"].itertuples()
    assert "stalled" in sgd.flags.split(",") and sgd.steps.startswith("stalled: step ")
    md = (built.folder / "diagnostics_flags.md").read_text()
    assert all(r.info.run_name in md for r in diagnosed) and "rmsprop" not in md


@pytest.mark.slow
def test_figures_are_pngs_and_on_the_page(report):
    built, runs = report
    folder = built.folder
    for key in ("grad_norm", "update_ratio", "grad_ratio", "noise_scale", "sharpness"):
        _valid_png(folder / f"diagnostics_digits_mlp_diag-{key.replace('_', '-')}.png")
    for label in ("adam", "sgd"):
        _valid_png(folder / f"diagnostics_digits_mlp_{label}_layers.png")
    assert not (folder / "diagnostics_digits_mlp_rmsprop_layers.png").exists()
    # curvature was measured: the edge-of-stability figure
    _valid_png(folder / "diagnostics_digits_mlp_sharpness_vs_2-lr.png")

    page = (folder / "index.html").read_text()
    assert page.count("<h2>Diagnostics</h2>") == 1
    section = page.split("<h2>Diagnostics</h2>", 1)[1]
    drawn = sorted(p.name for p in folder.glob("diagnostics_*.png"))
    assert built.diagnostics is not None
    assert sorted(p.name for p in built.diagnostics.figures) == drawn
    for name in drawn:  # each in the section, once on the page
        assert f"src='{name}'" in section and page.count(f"src='{name}'") == 1
    on_page = {f"src='{p.name}'" for p in folder.glob("*.png")}
    assert all(src in page for src in on_page)
    for run in runs:
        name = run.info.run_name
        assert (name in section) == (run.data.tags[tag.choice("optimizer")] != "rmsprop")


@pytest.mark.slow
def test_the_csv_the_section_reads(store, report, tmp_path):
    """The artifact the heat map and the sharpness figure are drawn from: per-layer rows, and
    all rows with sharpness and lr at each curvature probe (here every probe)."""
    _folder, mlflow = store
    _built, runs = report
    (adam0,) = [r for r in runs if r.data.tags[tag.choice("optimizer")] == "adam"]
    local = mlflow.download_artifacts(
        adam0.info.run_id, "diagnostics/diagnostics.csv", str(tmp_path)
    )
    rows = read_rows(Path(local).read_text())
    whole = [r for r in rows if r["layer"] == "all"]
    assert len(whole) >= 4 and all(r["sharpness"] > 0 and r["lr"] > 0 for r in whole)
    assert {r["layer"] for r in rows} > {"all"}  # the per-layer rows of the heat map


@pytest.mark.slow
def test_no_section_without_diagnostics(store):
    folder, mlflow = store
    off = [r for r in search(mlflow) if r.data.tags[tag.choice("optimizer")] == "rmsprop"]
    assert off[0].data.tags.get(tag.DIAGNOSTICS, "off") == "off"
    built = build_report(mlflow, off, folder / "off", ReportOptions())
    assert built.diagnostics is None
    assert not list(built.folder.glob("diagnostics*"))
    assert "Diagnostics" not in (built.folder / "index.html").read_text()
    assert any(built.folder.glob("*.png"))  # the rest of the report is there


def test_table_round_trip_and_heat_map():
    """diagnostics.csv as the Recorder writes it reads back to its rows: empty cells left out,
    NaN and infinity kept; the heat map draws from them."""
    recorder = Recorder("curvature")
    recorder.add(
        [
            {"step": 0, "layer": "dense", "grad_norm": 0.5, "update_ratio": 1e-3},
            {"step": 0, "layer": "out", "grad_norm": 0.25, "update_ratio": math.nan},
            {"step": 0, "layer": "all", "loss": 2.0, "lr": 0.1, "grad_norm": 0.6, "sharpness": 3.0},
        ]
    )
    recorder.add(
        [
            {"step": 5, "layer": "dense", "grad_norm": math.inf},
            {"step": 5, "layer": "all", "lr": 0.1},
        ]
    )
    rows = read_rows(recorder.table())
    assert [(r["step"], r["layer"]) for r in rows] == [
        (0, "dense"),
        (0, "out"),
        (0, "all"),
        (5, "dense"),
        (5, "all"),
    ]
    assert rows[2] == {
        "step": 0,
        "layer": "all",
        "loss": 2.0,
        "lr": 0.1,
        "grad_norm": 0.6,
        "grad_ratio": 2.0,
        "sharpness": 3.0,
    }
    assert math.isnan(rows[1]["update_ratio"]) and rows[3]["grad_norm"] == math.inf
    assert "sharpness" not in rows[4]
    figure = heatmap(rows, "round trip")
    assert len(figure.axes) == 4  # two panels, each with its colour bar


@pytest.mark.slow
def test_the_report_command_prints_the_flags(store, optbench_main, tmp_path):
    folder, _ = store
    done = optbench_main(
        "report", "--uri", f"sqlite:///{folder / 'mlflow.db'}", "--experiment", "optbench",
        "--out", str(tmp_path / "out"), cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout
    assert "diagnostics" in done.stdout and "stalled" in done.stdout and "curvature" in done.stdout
