"""The baselines table: one row per baseline, workload and seed, saved workload by
workload."""

from __future__ import annotations

from optbench.suite import baselines
from optbench.suite.result import WorkloadResult
from optbench.suite.workloads import Workload


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
