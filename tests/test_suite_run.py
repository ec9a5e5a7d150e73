"""optbench/suite/run.py, the suite's own steps in this process: each seed one tracked run whose
steps to target are added and printed, a refused run counted as failed, the score tables
against the shipped or re-run baselines (on steps, gradient evaluations where SAM's differ, and
seconds), the baselines' re-runs leaving toys out, and a suite interrupted by Ctrl-C that still
leaves its table. The whole suite through the real CLI: tests/test_suite.py."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import pytest

from optbench import tags as tag
from optbench.suite import baselines
from optbench.suite import run as suite_run
from optbench.suite.result import WorkloadResult
from optbench.suite.scorecard import NO_BASELINES
from optbench.suite.workloads import Workload
from tests.conftest import client

inf = math.inf
QUICK = ["optimizer=adam", "trainer.max_iter=40", "tracking.artifacts=false"]


def said(text: str) -> str:
    return " ".join(text.split())


def test_each_seed_is_one_run_whose_steps_to_target_are_added_and_printed(store, capsys):
    result = WorkloadResult(Workload("rosenbrock", "", "distance_to_min", 0.01, 3000, "steps"))
    # the function's own 0.05 for adam is left out in the suite; a large lr reaches (1, 1)
    suite_run._seeds(result, [*QUICK, "optimizer.lr=0.5", f"tracking.uri={store}"], None, [3])
    (run,) = client(store).search_runs(["1"])
    assert run.data.params["seed"] == "3" and run.data.params["trainer.progress"] == "False"
    assert result.failed == 0 and result.steps == [run.data.metrics.get("steps_to_tolerance", inf)]
    assert result.final == [run.data.metrics["distance_to_min"]]
    steps = f"{result.steps[0]:,.0f}"
    assert said(capsys.readouterr().out) == f"rosenbrock seed 3: steps to target {steps}"


def test_a_seed_whose_run_is_refused_counts_as_failed_and_not_reached(store, capsys):
    result = WorkloadResult(Workload("logreg_digits", "", "val_loss", 0.1, 44, "epochs"))
    overrides = ["optimizer=adam", "model=resnet50", f"tracking.uri={store}"]
    suite_run._seeds(result, overrides, None, [0, 1])
    assert (result.failed, result.steps, result.seconds) == (2, [inf, inf], [inf, inf])
    out = capsys.readouterr()
    assert said(out.out) == (
        "logreg_digits seed 0: steps to target inf logreg_digits seed 1: steps to target inf"
    )
    assert said(out.err).startswith(
        "error in workload logreg_digits, seed 0: model=resnet50 needs RGB images"
    )


def test_the_baselines_rerun_only_on_scored_workloads():
    toy = Workload("rosenbrock", "", "distance_to_min", 0.01, 3000, "steps", group="toy")
    reruns = suite_run.rerun_baselines({"rosenbrock": (None, toy)}, [], None, [0])
    assert reruns == {name: [] for name in baselines.BASELINES}


A = Workload("a", "", "val_loss", 0.1, 10, "epochs")
B = Workload("b", "", "val_loss", 0.1, 10, "epochs")
BUDGETS = {"a": 1000.0, "b": 1000.0}


def result(workload: Workload, steps: list[float], per_step: float = 1.0) -> WorkloadResult:
    """A workload's seeds, 10 steps a second; ``per_step`` gradient evaluations a step."""
    done = WorkloadResult(workload)
    for s in steps:
        done.add({"steps_to_target": s, "time_to_target_s": s / 10,
                  "optimizer_steps": 100.0, "gradient_evaluations": 100.0 * per_step})  # fmt: skip
    return done


@pytest.fixture
def shipped(tmp_path, monkeypatch):
    """A baselines table of nadamw: a in 100 steps, b in 50 (gradients as many)."""
    table = tmp_path / "baselines.csv"
    with table.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, baselines.FIELDS)
        writer.writeheader()
        for workload, steps in (("a", 100), ("b", 50)):
            writer.writerow({"workload": workload, "baseline": "nadamw", "seed": 0,
                             "steps_to_target": steps})  # fmt: skip
    monkeypatch.setattr(baselines, "table_path", lambda: table)
    return table


def test_the_submission_is_scored_on_steps_with_the_shipped_baselines(shipped, capsys):
    mine = [result(A, [50.0, 60.0, 70.0]), result(B, [inf, 50.0, inf])]
    together = suite_run._print_scores(mine, "mine", {}, BUDGETS)
    assert together.label == "mine + 1 tuned baseline (shipped)"
    assert together.times == {
        "mine": {"a": [50.0, 60.0, 70.0], "b": [inf, 50.0, inf]},
        "nadamw (baseline)": {"a": [100.0], "b": [50.0]},
    }
    text = said(capsys.readouterr().out)
    assert (
        "Score over 2 workloads (median steps to target), pool: mine + 1 tuned baseline (shipped)"
        in text
    )
    assert "median gradients" not in text and "median seconds" not in text
    assert "│ nadamw (baseline) │ 2/2 │" in text and "│ mine │ 1/2 │" in text


def test_sam_is_scored_on_gradient_evaluations_too(shipped, capsys):
    sam = [result(A, [40.0], per_step=2.0), result(B, [40.0], per_step=2.0)]
    together = suite_run._print_scores(sam, "sam", {}, BUDGETS)
    assert together.times["sam"] == {"a": [40.0], "b": [40.0]}  # the pool returned is on steps
    text = said(capsys.readouterr().out)
    assert "(median steps to target), pool: sam + 1 tuned baseline (shipped)" in text
    assert "(median gradients to target), pool: sam + 1 tuned baseline (shipped)" in text


def test_rerun_baselines_score_seconds_too_cut_where_their_steps_passed_the_budget(capsys):
    mine = [result(A, [50.0]), result(B, [1500.0])]  # b past its 1,000-step budget
    reruns = {"nadamw": [result(A, [100.0]), result(B, [500.0])]}
    together = suite_run._print_scores(mine, "mine", reruns, BUDGETS)
    assert together.label == "mine + 1 tuned baseline (re-run here)"
    assert together.times["mine"] == {"a": [50.0], "b": [1500.0]}
    text = said(capsys.readouterr().out)
    assert "(median steps to target), pool: mine + 1 tuned baseline (re-run here)" in text
    assert "(median seconds to target), pool: mine + 1 tuned baseline (re-run here)" in text
    seconds = text.split("(median seconds to target)")[1]
    # mine's b took 150 s, past the budget in steps: not reached (uncut, 150 / 50 s would be
    # within tau 3 of nadamw's and score 2/3); a: 5 s against nadamw's 10 s
    assert "│ mine │ 1/2 │ 0.500 │" in seconds
    assert "│ nadamw (baseline) │ 2/2 │ 0.833 │" in seconds


def test_without_a_baseline_on_every_workload_there_is_no_score(shipped, capsys):
    c = Workload("c", "", "val_loss", 0.1, 10, "epochs")  # no baseline ran c
    assert (
        suite_run._print_scores([result(c, [10.0], per_step=2.0)], "mine", {}, {"c": 1e3}) is None
    )
    assert said(capsys.readouterr().out) == said(NO_BASELINES)  # once, not per table


@pytest.mark.slow
def test_an_interrupted_suite_is_killed_and_still_leaves_the_table_of_what_ran(
    store, tmp_path, monkeypatch, capsys
):
    """Ctrl-C during the second workload: the first one's run is in the store, the suite's
    parent run is KILLED with scorecard.md of that workload, and the interrupt goes on."""
    monkeypatch.chdir(tmp_path)
    real = suite_run.one_run

    def interrupted_in_the_second(name: str, overrides: list[str], config_dir: str | None):
        if name == "ill_conditioned_quadratic":
            raise KeyboardInterrupt
        return real(name, overrides, config_dir)

    monkeypatch.setattr(suite_run, "one_run", interrupted_in_the_second)
    argv = ["suite.seeds=1", "suite.workloads=[rosenbrock,ill_conditioned_quadratic]",
            *QUICK, f"tracking.uri={store}"]  # fmt: skip
    with pytest.raises(KeyboardInterrupt):
        suite_run.run(argv, None)
    mlflow = client(store)
    (parent,) = mlflow.search_runs(
        [mlflow.get_experiment_by_name("suite").experiment_id], tag.where(tag.ROLE, tag.ROLE_SUITE)
    )
    assert parent.info.status == "KILLED"
    assert parent.data.tags[tag.SUITE_SEEDS] == "0" and parent.data.tags[tag.OPTIMIZER] == "adam"
    card = Path(mlflow.download_artifacts(parent.info.run_id, "scorecard.md", str(tmp_path)))
    text = card.read_text()
    assert "| rosenbrock |" in text and "ill_conditioned_quadratic" not in text
    children = mlflow.search_runs(
        [parent.info.experiment_id], tag.where(tag.PARENT_RUN_ID, parent.info.run_id)
    )
    assert [c.data.params["dataset.name"] for c in children] == ["rosenbrock"]
    assert not Path("runs/reports").exists()  # the scorecard page is for a finished suite
