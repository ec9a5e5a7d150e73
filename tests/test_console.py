"""optbench/console.py: what optbench prints, as a user reads it. Errors as one escaped line on
stderr, the run summary of a real MLflow run, a closed sweep's table of its child runs and
what its report drew, the tuning lines, and consoles that never read :emoji: codes and lay
out wide where the stream is not a terminal. (The width where stdout is piped:
tests/test_friction.py.)"""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from optbench import console
from optbench import tags as tag
from optbench.hparams_search import Study
from optbench.report.sweep import SweepReport
from optbench.report.tables import TextTable
from optbench.runner import tracked_run
from optbench.tracking import ClosedSweep, experiment_link
from optbench.trainers.base import RunResult
from tests.conftest import client, compose_cfg
from tests.stored_runs import add_run, experiment


def said(text: str) -> str:
    """Printed text with its line breaks and table padding collapsed to single spaces."""
    return " ".join(text.split())


def test_an_error_is_one_line_on_stderr_with_its_markup_printed_as_typed(capsys):
    console.print_error("optimizer.target=[bold]pkg.mod:X[/bold]: no such class", " in workload w")
    out = capsys.readouterr()
    assert out.out == ""
    assert (
        out.err == "error in workload w: optimizer.target=[bold]pkg.mod:X[/bold]: no such class\n"
    )


def test_a_console_prints_emoji_codes_as_typed_and_is_wide_off_a_terminal(monkeypatch, capsys):
    monkeypatch.delenv("COLUMNS", raising=False)
    made = console.make_console()
    made.print("optimizer.target=my:smile:X")
    assert capsys.readouterr().out == "optimizer.target=my:smile:X\n"
    errors = console.make_console(stderr=True)
    assert errors.stderr and errors.width == console.PIPED_WIDTH
    closed = io.StringIO()
    closed.close()  # isatty() on a closed stream raises
    monkeypatch.setattr("sys.stdout", closed)
    assert console.make_console().width == console.PIPED_WIDTH
    monkeypatch.setattr("sys.stdout", object())  # replaced by an object without isatty
    assert console.make_console().width == console.PIPED_WIDTH


def test_a_table_keeps_its_first_column_on_one_line(capsys):
    console.print_table("t", ["workload", "what"], [["ill_conditioned_quadratic", "x " * 300]])
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].strip() == "t"
    assert any("│ ill_conditioned_quadratic │" in line for line in lines)


def test_a_skipped_run_names_the_finished_one_and_the_setting(capsys):
    console.print_skipped("mlp/adam", "abc123")
    assert said(capsys.readouterr().out) == (
        "skipped mlp/adam: an identical run already FINISHED (run abc123); "
        "trainer.skip_existing=true"
    )


def test_the_run_summary_shows_the_last_live_metrics_the_final_ones_and_where_they_are(
    store, capsys
):
    cfg = compose_cfg(f"tracking.uri={store}", "trainer.progress=false")
    with tracked_run(cfg) as run:  # a real MLflow run, closed FINISHED
        pass
    history = [
        {"step": 1, "train_loss": 0.9},
        {"step": 2, "train_loss": 0.5, "val_loss": 0.61, "lr": 0.1},
    ]
    final = {"test_accuracy": 0.93456, "params_total": 650}
    result = RunResult(history, final, stop_reason="max_iter", notes=["the lr was cut to 0.01"])
    console.print_run_summary(result, run)
    text = said(capsys.readouterr().out)
    assert f"optbench · run {run.run_id[:8]}" in text
    rows = "│ train_loss │ 0.5000 │ │ val_loss │ 0.6100 │ │ test_accuracy │ 0.9346 │ │ params_total │ 650 │ │ stopped │ max_iter │"
    assert rows in text  # the last step's live metrics (not lr), then the final ones
    assert "note: the lr was cut to 0.01" in text
    assert f"results: {store} (run {run.run_id}, artifacts {run.artifact_uri})" in text
    link = f"http://127.0.0.1:5000/#/experiments/{run.experiment_id}/runs/{run.run_id}?"
    assert text.endswith(
        f"browse them: optbench ui --uri {store}, then open {link}" + text.split(link)[1]
    )


@pytest.fixture
def closed_sweep(store) -> ClosedSweep:
    """A sweep of three child runs: one with its val_loss, one diverged, one FAILED with its
    error, started in that order."""
    mlflow = client(store)
    exp = experiment(mlflow, "sweep")
    parent = mlflow.create_run(exp, start_time=0).info.run_id
    child = {tag.PARENT_RUN_ID: parent}
    add_run(
        mlflow, exp, start=3, tags={**child, tag.ERROR: "no data found"}, status="FAILED", name="c"
    )
    add_run(
        mlflow, exp, start=1, tags=child, final={"val_loss": 0.123456, "fit_time_s": 2.0}, name="a"
    )
    add_run(
        mlflow,
        exp,
        start=2,
        tags={**child, tag.DIVERGED: "true"},
        final={"val_loss": 1e9},
        name="b",
    )
    children = mlflow.search_runs([exp], tag.where(tag.PARENT_RUN_ID, parent))
    return ClosedSweep(store, parent, "s1", "FAILED", children, [], exp)


def test_a_sweep_summary_lists_its_runs_in_start_order_and_then_what_its_report_drew(
    closed_sweep, capsys
):
    report = SweepReport(
        curves=True,
        index=Path("runs/reports/s1/index.html"),
        landscapes=TextTable(["function", "adam"], [["beale", "7"]]),
        architectures=TextTable(["model", "params"], [["mobilenet_head", "2,562"]]),
    )
    console.print_sweep_summary(closed_sweep, report)
    text = said(capsys.readouterr().out)
    assert f"sweep · parent run {closed_sweep.run_id[:8]} · FAILED" in text
    # the columns: only the metrics some child logged (val_loss; fit_time_s is not one)
    assert "┃ run ┃ status ┃ val_loss ┃ note ┃" in text
    assert (
        "│ a │ FINISHED │ 0.1235 │ │ │ b │ FINISHED │ 1e+09 │ diverged │ │ c │ FAILED │ - │ no data found │"
        in text
    )
    assert (
        "│ beale │ 7 │" in text and "overlay figures: artifacts landscapes/<function>.png" in text
    )
    assert "report: runs/reports/s1/index.html (also artifacts report/ of the parent run;" in text
    assert "│ mobilenet_head │ 2,562 │" in text
    link = experiment_link("http://127.0.0.1:5000", closed_sweep.experiment_id)
    assert text.endswith(f"browse them: optbench ui --uri {closed_sweep.uri}, then open {link}")


def test_a_sweep_whose_report_drew_nothing_shows_only_its_runs(closed_sweep, capsys):
    console.print_sweep_summary(closed_sweep, SweepReport())
    text = said(capsys.readouterr().out)
    assert (
        "steps to tolerance" not in text and "report:" not in text and "architectures" not in text
    )


def test_tuning_prints_its_studies_and_then_the_best_of_each(capsys):
    studies = [
        Study("optimizer=adam", ["optimizer=adam"], {"optimizer.lr": None}, []),
        Study("optimizer=sgd", ["optimizer=sgd"], {"optimizer.lr": None, "optimizer.momentum": None},
              ["optimizer.beta_1"]),
    ]  # fmt: skip
    console.print_tuning_start(studies, 5, "val_loss", "minimize")
    assert capsys.readouterr().out.splitlines() == [
        "tuning: 2 studies x 5 trials, minimize val_loss",
        "  optimizer=adam: optimizer.lr",
        "  optimizer=sgd: optimizer.lr, optimizer.momentum (not in its config: optimizer.beta_1)",
    ]
    results = [
        {"study": "adam", "trials": 5, "failed": 1, "value": 0.123456,
         "params": {"optimizer.lr": 0.0012345, "model.name": "mlp"}, "file": "adam.yaml"},
        {"study": "sgd", "trials": 5, "failed": 5, "value": None, "params": {}, "file": None},
    ]  # fmt: skip
    console.print_tuning_results(results, "val_loss", Path("runs/suite/x"))
    text = said(capsys.readouterr().out)
    assert "tuning: best val_loss per study" in text
    assert "│ adam │ 4/5 │ 0.1235 │ optimizer.lr=0.00123, model.name=mlp │" in text
    assert "│ sgd │ 0/5 │ - │ │" in text
    assert text.endswith(
        "best configs: runs/suite/x/best/ · evaluate them on 5 seeds with "
        "optbench -m --config-dir runs/suite/x +best=adam seed=0,1,2,3,4"
    )


def test_when_no_study_finished_there_is_no_command_to_suggest(capsys):
    results = [
        {"study": "sgd", "trials": 3, "failed": 3, "value": None, "params": {}, "file": None}
    ]
    console.print_tuning_results(results, "val_loss", Path("runs/suite/x"))
    text = said(capsys.readouterr().out)
    assert text.endswith("no study finished a trial: no best config to evaluate")
    assert "+best=" not in text


BRACKETED = ("suite.workloads=[mnist_mlp]", "data_dir=[/data/mnist] not found", "[bold]x[/]")


@pytest.mark.parametrize("text", BRACKETED)
def test_text_from_runs_and_configs_prints_as_typed_never_as_markup(text, store, capsys):
    """Overrides, run names and error tags hold brackets: a table cell, a skipped run's name,
    the run summary's values and notes print them as they are (rich would drop
    ``[mnist_mlp]`` and raise MarkupError on ``[/data]``)."""
    console.print_table("t", ["what"], [[text]])
    console.print_skipped(text, "abc123")
    with tracked_run(compose_cfg(f"tracking.uri={store}", "trainer.progress=false")) as run:
        pass
    console.print_run_summary(RunResult([], {"x": text}, stop_reason=text, notes=[text]), run)
    out = capsys.readouterr().out
    assert out.count(text) == 5, out
