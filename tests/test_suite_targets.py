"""Targets and budgets set the AlgoPerf way, from the baselines' runs: the best value a run
reached, the value most seeds reached, the setter, the budget, the table written back."""

from __future__ import annotations

import math

import pytest

from optbench.errors import OptbenchError
from optbench.suite import baselines, targets


def test_the_target_is_what_most_seeds_of_the_best_baseline_reached():
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
    # of 5 seeds, the value 4 reached: the 4th best; a failed seed (nan) reaches nothing
    assert targets.sure_value([0.3, 0.1, 0.5, 0.2, 0.4], "val_loss") == 0.4
    assert targets.sure_value([0.9, 0.7, 0.8, 0.95, 0.6], "val_accuracy") == 0.7
    assert targets.sure_value([0.9, math.nan, 0.8, 0.95, 0.6], "val_accuracy") == 0.6
    assert math.isnan(targets.sure_value([0.9, math.nan, math.nan, 0.95, 0.6], "val_accuracy"))
    assert targets.sure_value([0.3] * 6, "val_loss") == 0.3  # of 6: 5 must reach it
    assert targets.target_of({"a": 0.4, "b": 0.35, "c": math.nan}, "val_loss") == ("b", 0.35)
    assert targets.target_of({"a": 0.9, "b": 0.85}, "val_accuracy") == ("a", 0.9)
    with pytest.raises(OptbenchError, match="no baseline reached"):
        targets.target_of({"a": math.nan}, "val_loss")
    # 3x the setter's median steps in whole epochs, never shorter than the schedule
    assert targets.budget_of(200, 10, 5) == 60
    assert targets.budget_of(10, 10, 5) == 5
    # written rounded towards the easier side, so the seeds that reached it still do
    assert targets.written(0.96249999, "val_accuracy") == "0.962499"
    assert targets.written(0.0832286123, "val_loss") == "0.0832287"
    assert float(targets.written(0.5, "val_loss")) == 0.5
    assert baselines.schedule_overrides(20) == [
        "trainer.max_iter=20", "trainer.stop_at_target=false", "schedule=warmup_cosine",
        "schedule.warmup_epochs=1",
    ]  # fmt: skip


def test_the_best_value_follows_the_metrics_direction_and_skips_what_is_not_finite():
    history = [
        {"step": 1, "val_accuracy": 0.7, "val_loss": math.nan},
        {"step": 2, "val_accuracy": math.nan, "val_loss": 0.6},
        {"step": 3, "val_accuracy": 0.8, "val_loss": math.inf},
        {"step": 4},
    ]
    assert targets.best_value(history, "val_accuracy") == 0.8
    assert targets.best_value(history, "val_loss") == 0.6
    assert math.isnan(targets.best_value(history, "train_loss"))  # never logged


def test_first_reach_without_step_counts_or_times_uses_the_epoch_and_infinity():
    history = [{"step": 1, "val_accuracy": 0.5}, {"step": 2, "val_accuracy": 0.9}]
    assert targets.first_reach(history, "val_accuracy", 0.9) == {
        "steps_to_target": 2, "time_to_target_s": math.inf,
    }  # fmt: skip


def test_a_target_is_written_towards_the_easier_side_whatever_its_magnitude():
    assert targets.written(1234.5678901, "val_loss") == "1234.57"  # up for a loss
    assert targets.written(1234.5678901, "val_accuracy") == "1234.56"  # down for an accuracy
    assert targets.written(0.0, "val_loss") == "0"
    for value in (0.123456789, 3.3333333, 98765.4321):
        assert float(targets.written(value, "val_loss")) >= value
        assert float(targets.written(value, "val_accuracy")) <= value


def test_saving_a_row_keeps_the_others_and_the_table_stays_sorted(tmp_path):
    from optbench.schema.suite import TABLE_FIELDS, targets_table

    table = tmp_path / "targets.csv"
    targets.write_table(
        {"zeta": {"workload": "zeta", "group": "scored", "target": "0.5"},
         "alpha": {"workload": "alpha", "group": "toy", "budget": "10"}},
        table,
    )  # fmt: skip
    lines = table.read_text().splitlines()
    assert lines[0] == ",".join(TABLE_FIELDS)
    assert [line.split(",")[0] for line in lines[1:]] == ["alpha", "zeta"]
    targets.save_row({"workload": "mid", "group": "scored", "target": "0.25"}, table)
    targets.save_row({"workload": "zeta", "group": "scored", "target": "0.4"}, table)
    rows = targets_table(table)
    assert list(rows) == ["alpha", "mid", "zeta"]
    assert rows["zeta"]["target"] == "0.4" and rows["alpha"]["budget"] == "10"
    assert rows["mid"]["budget"] == ""  # a field the row does not give is written empty
