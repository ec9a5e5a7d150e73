"""The suite's external-tuning ruleset, re-run baselines, and targets and budgets set the
AlgoPerf way: through the real CLI and the real equal-budget sweeper, on the 2-D quadratic
(seconds a run), with every number checked against what MLflow recorded."""

from __future__ import annotations

import math
import re
import shutil
from pathlib import Path

import pytest

from optbench.suite import baselines, targets
from optbench.suite.result import WorkloadResult
from optbench.suite.workloads import Workload
from tests.conftest import client, run_cli

pytestmark = pytest.mark.slow
QUADRATIC = "ill_conditioned_quadratic"


def test_external_tuning_counts_each_studys_fastest_trial_and_reruns_the_baselines(tmp_path):
    store = f"sqlite:///{tmp_path / 'mlflow.db'}"
    done = run_cli(
        "suite", "optimizer=adam", f"suite.workloads=[{QUADRATIC}]", "suite.ruleset=external_tuning",
        "suite.seeds=2", "suite.trials=3", "suite.baselines=rerun", f"tracking.uri={store}",
        cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    mlflow = client(store)
    runs = mlflow.search_runs([e.experiment_id for e in mlflow.search_experiments()])
    (suite,) = [r for r in runs if r.data.tags.get("optbench.role") == "suite"]
    children = [r for r in runs if r.data.tags.get("mlflow.parentRunId") == suite.info.run_id]
    (sweep,) = [r for r in children if r.data.tags.get("optbench.role") == "sweep"]
    trials = [r for r in runs if r.data.tags.get("mlflow.parentRunId") == sweep.info.run_id]
    assert len(trials) == 6 and {r.data.tags["optbench.study"] for r in trials} == {"0", "1"}
    fastest = {
        study: min(
            r.data.metrics.get("steps_to_tolerance", math.inf)
            for r in trials
            if r.data.tags["optbench.study"] == study
        )
        for study in ("0", "1")
    }
    text = " ".join(done.stdout.split())
    for study, steps in fastest.items():
        assert f"study {study}: fastest of 3 trials {steps:,.0f} steps" in text
    # the 4 baselines re-run here, one seed each, beside the tuning sweep
    assert len(children) == 1 + 4 * 2
    assert "(re-run here)" in text and "median seconds to target" in text
    page = Path(re.search(r"scorecard: (\S+index\.html)", text).group(1))
    assert page.is_file() and "performance_profile.png" in page.read_text()
    artifacts = {a.path for a in mlflow.list_artifacts(suite.info.run_id, "report")}
    assert {"report/index.html", "report/scorecard.md"} <= artifacts


def test_target_and_budget_come_from_the_best_baselines_median(tmp_path):
    history = [  # val_loss per epoch of 10 steps
        {"step": 1, "optimizer_steps": 10, "elapsed_s": 1.0, "val_loss": 0.9},
        {"step": 2, "optimizer_steps": 20, "elapsed_s": 2.0, "val_loss": 0.4},
        {"step": 3, "optimizer_steps": 30, "elapsed_s": 3.0, "val_loss": 0.5},
    ]
    assert targets.best_value(history, "val_loss") == 0.4
    assert targets.first_reach(history, "val_loss", 0.45) == {
        "steps_to_target": 20, "time_to_target_s": 2.0,
    }  # fmt: skip
    assert targets.first_reach(history, "val_loss", 0.1) == {}
    best, target = targets.target_of({"a": [0.3, 0.5, 0.4], "b": [0.2, 0.9, 0.8]}, "val_loss")
    assert (best, target) == ("a", 0.4)  # medians 0.4 and 0.8: lower is better
    best, target = targets.target_of({"a": [0.9, 0.8], "b": [0.7, 0.7]}, "val_accuracy")
    assert best == "a" and target == pytest.approx(0.85)
    assert targets.budget_of(20, 10) == 3 * 20 // 10
    assert targets.budget_of(math.inf, 10) is None
    yaml = tmp_path / "w.yaml"
    shutil.copy(targets.workload_path("mnist_mlp"), yaml)
    targets.write_workload(yaml, 0.9512345, 7)
    text = yaml.read_text()
    assert "target: {metric: val_accuracy, value: 0.9512}" in text and "  max_iter: 7\n" in text
    targets.write_workload(yaml, None, None)
    assert yaml.read_text() == text


def test_saving_baselines_keeps_the_rows_of_workloads_not_rebuilt(tmp_path):
    table = tmp_path / "baselines.csv"
    old = WorkloadResult(Workload("old", "", "val_loss", 0.1, 5, "epochs"))
    old.add({"steps_to_target": 10.0, "val_loss": 0.05})
    baselines.save({"adamw": [old]}, table)
    new = WorkloadResult(Workload("new", "", "val_loss", 0.1, 5, "epochs"))
    new.add({"steps_to_target": 7.0, "time_to_target_s": 0.5}, "optimizer.lr=0.01")
    baselines.save({"adamw": [new]}, table)
    rows = baselines.load(table)
    assert [(r["workload"], r["steps_to_target"], r["settings"]) for r in rows] == [
        ("old", "10.0", ""), ("new", "7.0", "optimizer.lr=0.01"),
    ]  # fmt: skip
    assert baselines.settings_of(rows)["adamw"]["new"] == "optimizer.lr=0.01"


def test_rebuild_tunes_each_baseline_and_writes_budget_and_table(tmp_path, monkeypatch):
    """One trial and one seed per baseline on the quadratic: the budget becomes 3x the fastest
    baseline's steps to the tolerance, which stays the target."""
    yaml, table = tmp_path / f"{QUADRATIC}.yaml", tmp_path / "baselines.csv"
    shutil.copy(targets.workload_path(QUADRATIC), yaml)
    monkeypatch.setattr(targets, "workload_path", lambda name: yaml)
    monkeypatch.setattr(baselines, "table_path", lambda: table)
    monkeypatch.chdir(tmp_path)
    store = f"sqlite:///{tmp_path / 'mlflow.db'}"
    targets.rebuild(
        [f"suite.workloads=[{QUADRATIC}]", "suite.trials=1", "suite.seeds=1",
         "trainer.max_iter=1000", f"tracking.uri={store}"],  # room for the untuned baselines
        None,
    )  # fmt: skip
    rows = baselines.load(table)
    assert sorted(r["baseline"] for r in rows) == sorted(baselines.BASELINES)
    assert all(r["settings"].startswith("optimizer.lr=") for r in rows)
    fastest = min(float(r["steps_to_target"]) for r in rows)
    assert f"  max_iter: {math.ceil(targets.BUDGET_MULTIPLE * fastest)}\n" in yaml.read_text()


def _trial(study, trial, status="FINISHED", **metrics):
    """A trial run as MLflow's search returns it (only the fields best_per_study reads)."""
    from types import SimpleNamespace

    tags = {"optbench.study": study, "optbench.trial": str(trial)}
    data = SimpleNamespace(metrics=metrics, tags=tags, params={"optimizer.lr": str(trial)})
    return SimpleNamespace(info=SimpleNamespace(status=status), data=data)


def test_each_study_keeps_its_fastest_finished_trial_ties_going_to_the_metric():
    from optbench.suite.tuning import best_per_study

    runs = [
        _trial("0", 0, steps_to_target=300.0, val_loss=0.1),
        _trial("0", 1, steps_to_target=200.0, val_loss=0.2),  # fastest: counts
        _trial("0", 2, "FAILED", steps_to_target=10.0),  # failed: never counts
        _trial("1", 0, val_loss=0.5),  # study 1: nobody reached the target ...
        _trial("1", 1, val_loss=0.3),  # ... so the best val_loss is kept, without steps
        _trial("10", 0, steps_to_target=50.0),
    ]
    (m0, p0), (m1, p1), (m10, _) = best_per_study(runs, "steps_to_target", "val_loss")
    assert (m0["steps_to_target"], p0["optimizer.lr"]) == (200.0, "1")
    assert "steps_to_target" not in m1 and p1["optimizer.lr"] == "1"
    assert m10["steps_to_target"] == 50.0  # studies in seed order: 0, 1, 10
