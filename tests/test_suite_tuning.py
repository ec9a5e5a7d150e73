"""The suite's external-tuning ruleset, re-run baselines, and targets and budgets set the
AlgoPerf way: through the real CLI and the real equal-budget sweeper, on the 2-D quadratic
(seconds a run), with every number checked against what MLflow recorded."""

from __future__ import annotations

import math
import re
from pathlib import Path

import pytest

from optbench.schema.suite import targets_table
from optbench.suite import baselines, targets
from tests.conftest import client, run_cli

pytestmark = pytest.mark.slow
DIGITS = "logreg_digits"


@pytest.mark.acceptance
def test_external_tuning_counts_each_studys_fastest_trial_and_reruns_the_baselines(
    tmp_path, tiny_targets
):
    store = f"sqlite:///{tmp_path / 'mlflow.db'}"
    done = run_cli(
        "suite", "optimizer=adam", f"suite.workloads=[{DIGITS}]", "suite.ruleset=external_tuning",
        "suite.seeds=2", "suite.trials=2", "suite.baselines=rerun", f"tracking.uri={store}",
        cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    mlflow = client(store)
    runs = mlflow.search_runs([e.experiment_id for e in mlflow.search_experiments()])
    (suite,) = [r for r in runs if r.data.tags.get("optbench.role") == "suite"]
    children = [r for r in runs if r.data.tags.get("mlflow.parentRunId") == suite.info.run_id]
    (sweep,) = [r for r in children if r.data.tags.get("optbench.role") == "sweep"]
    trials = [r for r in runs if r.data.tags.get("mlflow.parentRunId") == sweep.info.run_id]
    assert len(trials) == 4 and {r.data.tags["optbench.study"] for r in trials} == {"0", "1"}
    fastest = {
        study: min(
            r.data.metrics.get("steps_to_target", math.inf)
            for r in trials
            if r.data.tags["optbench.study"] == study
        )
        for study in ("0", "1")
    }
    text = " ".join(done.stdout.split())
    for study, steps in fastest.items():
        assert f"study {study}: fastest of 2 trials {steps:,.0f} steps" in text
    assert all(math.isfinite(s) for s in fastest.values())  # val_loss <= 0.5 in 2 epochs
    # the 4 baselines re-run here, two seeds each, beside the tuning sweep, as the table was
    # built: warm-up and cosine decay over the workload's schedule
    assert len(children) == 1 + 4 * 2
    reruns = [c for c in children if c.data.tags.get("optbench.role") != "sweep"]
    assert {c.data.params["schedule.name"] for c in reruns} == {"warmup_cosine"}
    assert "(re-run here)" in text and "median seconds to target" in text
    page = Path(re.search(r"scorecard: (\S+index\.html)", text).group(1))
    assert page.is_file() and "performance_profile.png" in page.read_text()
    artifacts = {a.path for a in mlflow.list_artifacts(suite.info.run_id, "report")}
    assert {"report/index.html", "report/scorecard.md"} <= artifacts


@pytest.mark.acceptance
def test_rebuild_tunes_each_baseline_and_writes_target_budget_and_table(tmp_path, monkeypatch):
    """Two trials and two seeds per baseline on logreg_digits over a 2-epoch schedule (a
    table of the test's own): each baseline's study draws its own rates, the target is what
    the setter's seeds reached, and the budget is 3x its median steps. Two of the four
    baselines, one adaptive and one momentum (each tuning study is a process of its own,
    ~13 s): the rebuild's logic does not depend on how many there are."""
    two = {name: baselines.BASELINES[name] for name in ("adamw", "momentum")}
    monkeypatch.setattr(baselines, "BASELINES", two)
    table, rows_path = tmp_path / "targets.csv", tmp_path / "baselines.csv"
    row = dict(targets_table()["logreg_digits"], schedule="2", budget="6")
    targets.save_row(row, table)
    monkeypatch.setenv("OPTBENCH_SUITE_TARGETS", str(table))
    monkeypatch.setattr(baselines, "table_path", lambda: rows_path)
    monkeypatch.chdir(tmp_path)
    store = f"sqlite:///{tmp_path / 'mlflow.db'}"
    targets.rebuild(
        ["suite.workloads=[logreg_digits]", "suite.trials=2", "suite.seeds=2",
         f"tracking.uri={store}"], None,
    )  # fmt: skip
    rows = baselines.load(rows_path)
    assert sorted({r["baseline"] for r in rows}) == ["adamw", "momentum"]
    assert all(r["settings"].startswith("optimizer.lr=") for r in rows)
    tuned = {r["baseline"]: r["settings"] for r in rows}
    assert len(set(tuned.values())) == 2  # independent studies: different rates
    written = targets_table(table)["logreg_digits"]
    setter = written["set_by"].split(",")[0]
    steps = sorted(float(r["steps_to_target"]) for r in rows if r["baseline"] == setter)
    assert written["reached"] == f"{sum(math.isfinite(s) for s in steps)}/2"
    assert written["reached"] != "0/2" and written["schedule"] == "2"
    per_epoch = 34  # 1,078 training samples at batch 32
    median = sum(steps) / 2 if all(math.isfinite(s) for s in steps) else steps[0]
    assert int(written["budget"]) == max(2, math.ceil(3 * median / per_epoch))
    mlflow = client(store)
    runs = mlflow.search_runs([e.experiment_id for e in mlflow.search_experiments()])
    seeded = [r for r in runs if r.data.params.get("seed") in ("0", "1")]
    assert {r.data.params["schedule.name"] for r in seeded} == {"warmup_cosine"}
    assert {r.data.params["trainer.max_iter"] for r in seeded} == {"2"}


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
