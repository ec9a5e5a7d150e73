"""optbench/report/cli.py, `optbench report`, in this process on a real MLflow store of
hand-made runs: which sweep it reports (the latest, by sweep id or parent run id), where the
report goes and which run it is logged on, the terminal's compact summary, what print_report
shows of each view, and the one-line errors (exit 2). Its --help: tests/test_friction.py."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest

from optbench import console as printer
from optbench import tags as tag
from optbench.report.build import Report
from optbench.report.cli import _find_sweep, compact_summary, main, parse, print_report
from optbench.report.diagnostics import DiagnosticsView
from optbench.report.landscapes import LandscapeView
from optbench.report.tables import TextTable
from tests.conftest import client
from tests.stored_runs import experiment, training_run


@pytest.fixture(autouse=True)
def wide_console(monkeypatch):
    """The console as a pipe gets it (wide): the module's own was made when this process
    first imported it, whatever $COLUMNS an earlier test had set then."""
    monkeypatch.delenv("COLUMNS", raising=False)
    monkeypatch.setattr(printer, "console", printer.make_console())


def said(text: str) -> str:
    """Printed text with its line breaks and table padding collapsed to single spaces."""
    return " ".join(text.split())


def test_without_a_selection_the_latest_sweep_is_reported():
    assert parse([]).sweep == "latest"
    chosen = parse(["--experiment", "a,b", "--tolerance", "0.1", "--target", "0.9"])
    assert (chosen.sweep, chosen.experiment, chosen.tolerance, chosen.target) == (
        None,
        "a,b",
        0.1,
        0.9,
    )
    assert parse(["--filter", "tags.x = 'y'"]).sweep is None
    assert (parse([]).tolerance, parse([]).metric, parse([]).out) == (0.02, None, None)


@pytest.fixture
def sweeps(store):
    """Two sweeps in experiment digits, s-old (started first) and s-new, each the parent of
    adam and sgd runs; returns the client and {sweep id: parent run id}."""
    mlflow = client(store)
    exp = experiment(mlflow, "digits")
    parents = {}
    for start, sweep_id in ((100, "s-old"), (200, "s-new")):
        sweep_tags = {tag.ROLE: tag.ROLE_SWEEP, tag.SWEEP_ID: sweep_id}
        parent = mlflow.create_run(exp, start_time=start, tags=sweep_tags).info.run_id
        child = {tag.PARENT_RUN_ID: parent, tag.SWEEP_ID: sweep_id}
        training_run(mlflow, exp, start + 1, "adam", 0, [0.8, 0.9], tags=child)
        training_run(mlflow, exp, start + 2, "sgd", 0, [0.5, 0.6], tags=child)
        mlflow.set_terminated(parent)
        parents[sweep_id] = parent
    return mlflow, parents


def test_a_sweep_is_found_as_the_latest_by_its_id_or_by_its_parent_run_id(sweeps):
    mlflow, parents = sweeps
    ids = [e.experiment_id for e in mlflow.search_experiments()]
    assert _find_sweep(mlflow, ids, "latest").info.run_id == parents["s-new"]
    assert _find_sweep(mlflow, ids, "s-old").info.run_id == parents["s-old"]
    assert _find_sweep(mlflow, ids, parents["s-old"]).info.run_id == parents["s-old"]
    assert _find_sweep(mlflow, ids, "s-none") is None


def test_the_latest_sweep_is_reported_into_runs_reports_and_logged_on_its_parent(
    sweeps, store, tmp_path, monkeypatch, capsys
):
    mlflow, parents = sweeps
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("OPTBENCH_HOME", raising=False)
    assert main(["--uri", store]) == 0
    out = Path("runs/reports/s-new")
    text = said(capsys.readouterr().out)
    assert "summary · val_accuracy" in text and "time to target · val_accuracy" in text
    assert f"logged as artifacts report/ of run {parents['s-new']}" in text
    assert f"2 runs -> {out / 'index.html'}" in text
    assert "<title>optbench report · s-new</title>" in (out / "index.html").read_text()
    logged = {a.path for a in mlflow.list_artifacts(parents["s-new"], "report")}
    assert {"report/index.html", "report/summary.csv"} <= logged
    assert mlflow.list_artifacts(parents["s-old"]) == []


def test_experiments_are_reported_where_out_says_and_logged_only_where_asked(
    sweeps, store, tmp_path, capsys
):
    mlflow, parents = sweeps
    out = tmp_path / "mine"
    assert main(["--uri", store, "--experiment", "digits", "--out", str(out)]) == 0
    text = said(capsys.readouterr().out)
    assert f"4 runs -> {out / 'index.html'}" in text and "logged as" not in text
    summary = pd.read_csv(out / "summary.csv")
    assert summary["n"].tolist() == [2, 2]  # both sweeps' runs, two seeds of 0 per label
    assert mlflow.list_artifacts(parents["s-new"]) == []
    filtered = tmp_path / "adam"
    adam = "tags.`optbench.optimizer` = 'adam'"
    assert main(["--uri", store, "--filter", adam, "--out", str(filtered),
                 "--log-to", parents["s-old"]]) == 0  # fmt: skip
    assert pd.read_csv(filtered / "summary.csv")["label"].tolist() == ["adam"]
    assert mlflow.list_artifacts(parents["s-old"], "report") != []


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--sweep", "s-none"], "error: no sweep 's-none' in {uri}; run one with -m."),
        (
            ["--experiment", "nope"],
            "error: no experiment nope in the store; it has: Default, digits.",
        ),
        (
            ["--filter", "tags.`optbench.optimizer` = 'lion'"],
            "error: no optbench runs match in {uri}.",
        ),
    ],
)
def test_a_selection_that_finds_nothing_is_one_line_and_exit_2(
    sweeps, store, capsys, argv, message
):
    assert main(["--uri", store, *argv]) == 2
    assert said(capsys.readouterr().out) == message.format(uri=store)


def test_an_empty_store_has_no_latest_sweep(store, capsys):
    assert main(["--uri", store]) == 2
    assert said(capsys.readouterr().out) == f"error: no sweep 'latest' in {store}; run one with -m."


SUMMARY = pd.DataFrame(
    {
        "dataset": "digits",
        "model": "mlp",
        "label": ["adam", "sgd"],
        "n": [3, 1],
        "val_loss_mean": [0.123456, 0.5],
        "val_loss_std": [0.00123, math.nan],
        "ci_low": [0.1, 0.5],
        "ci_high": [0.15, 0.5],
        "vs_best": ["best", "1 seed: no noise estimate"],
        "fit_time_s": [12.5, 3.0],
        "params_total": [101770.0, 101770.0],
    }
)


def test_the_compact_summary_puts_mean_std_and_the_interval_in_one_column_each():
    table = compact_summary(SUMMARY, "val_loss")
    assert list(table.columns) == [
        "dataset",
        "model",
        "label",
        "n",
        "val_loss mean ± std",
        "95% CI",
        "vs best",
        "fit_time_s",
    ]  # params_total and the raw columns stay in summary.csv
    assert table["val_loss mean ± std"].tolist() == ["0.1235 ± 0.0012", "0.5 ± nan"]
    assert table["95% CI"].tolist() == ["[0.1, 0.15]", "[0.5, 0.5]"]
    with_best = compact_summary(SUMMARY.assign(best_step=[4.0, 2.0]), "val_loss")
    assert list(with_best.columns)[-2:] == ["fit_time_s", "best_step"]


def test_print_report_shows_the_tables_then_each_view(tmp_path, capsys):
    report = Report(
        tmp_path, metric="val_loss", tables={"summary": SUMMARY, "time_to_target": pd.DataFrame()}
    )
    report.architectures = TextTable(["model", "params"], [["mobilenet_head", "2,562"]])
    overlay = tmp_path / "landscape_beale.png"
    report.landscapes = LandscapeView(
        TextTable(["function", "adam"], [["beale", "7"]]), {"beale": overlay}
    )
    flags = pd.DataFrame({"dataset": ["digits"], "label": ["sgd"], "seed": [0], "run": ["r"],
                          "flags": ["stalled"], "steps": ["stalled: 40"]})  # fmt: skip
    report.diagnostics = DiagnosticsView(flags)
    print_report(report, printer.console)
    text = said(capsys.readouterr().out)
    assert "time to target" not in text  # an empty table is not printed
    assert text.index("summary · val_loss") < text.index("architectures")
    assert "│ digits │ mlp │ adam │ 3 │ 0.1235 ± 0.0012 │ [0.1, 0.15] │ best │ 12.5 │" in text
    assert "│ mobilenet_head │ 2,562 │" in text
    assert f"{overlay} " in text and "steps to tolerance" in text and "│ beale │ 7 │" in text
    # the diagnostics' chosen columns, in order, without the run's name
    assert "┃ dataset ┃ label ┃ seed ┃ flags ┃ steps ┃" in text
    assert "│ digits │ sgd │ 0 │ stalled │ stalled: 40 │" in text
