"""optbench/suite/pool.py: the optimizers scored together. Which baselines join a submission's
pool and how the pool is named, seconds cut where the same seed's steps were past the budget,
budgets converted to optimizer steps (from the real split a workload's run would load), the
score computed once per pool, and the scores as JSON for scripts. The scoring itself:
tests/test_suite_score.py; pools read back from a store: tests/test_suite_stored.py."""

from __future__ import annotations

import json
import math

import pytest

from optbench.schema import register_configs
from optbench.suite import pool
from optbench.suite import workloads as wl
from optbench.suite.settings import compose, composed_workloads

inf = math.inf


def test_a_tuned_baseline_is_always_marked_as_one():
    assert pool.baseline_name("adamw") == "adamw (baseline)"
    assert pool.Pool("x", {}, None).reference == "nadamw (baseline)"
    assert pool.Pool("x", {}, None).workloads == []


def test_baselines_that_ran_every_workload_of_the_submission_join_its_pool():
    mine = {"mine": {"a": [10.0], "b": [inf]}}
    theirs = {
        "nadamw": {"a": [20.0], "b": [30.0], "c": [1.0]},  # c is not the submission's: left out
        "adamw": {"a": [15.0]},  # no b: cannot be scored on this pool's workloads
    }
    together = pool.with_baselines(mine, theirs, {"a": 100.0, "b": 100.0}, "mine")
    assert together.label == "mine + 1 tuned baseline"
    assert together.times == {
        "mine": {"a": [10.0], "b": [inf]},
        "nadamw (baseline)": {"a": [20.0], "b": [30.0]},
    }
    assert together.workloads == ["a", "b"] and together.budgets == {"a": 100.0, "b": 100.0}
    mine["mine"]["a"].append(99.0)
    theirs["nadamw"]["a"].append(99.0)
    assert together.times["mine"]["a"] == [10.0]  # the pool holds copies
    assert together.times["nadamw (baseline)"]["a"] == [20.0]
    assert pool.with_baselines(mine, {"adamw": {"a": [15.0]}}, None, "mine") is None


def test_seconds_past_the_step_budget_are_not_reached():
    steps = {"mine": {"quad": [100.0, 300.0]}, "adamw (baseline)": {"quad": [260.0, 200.0]}}
    seconds = {"mine": {"quad": [1.0, 3.0]}, "adamw (baseline)": {"quad": [2.6, 2.0]}}
    assert pool.mask_past_budget(seconds, steps, {"quad": 250.0}) == {
        "mine": {"quad": [1.0, inf]},
        "adamw (baseline)": {"quad": [inf, 2.0]},
    }
    together = pool.with_baselines(
        {"mine": seconds["mine"]}, {"adamw": seconds["adamw (baseline)"]}, {"quad": 250.0},
        "mine", cut_by=steps,
    )  # fmt: skip
    assert together.budgets is None  # seconds have no budget of their own: no speed-up
    assert together.times["mine"] == {"quad": [1.0, inf]}


def test_a_pool_is_scored_once_and_its_speedups_are_over_the_reference_when_it_has_one():
    times = {"mine": {"w1": [10.0, 20.0, 30.0], "w2": [inf, inf, 5.0]},
             "nadamw (baseline)": {"w1": [20.0] * 3, "w2": [50.0] * 3}}  # fmt: skip
    together = pool.Pool("mine + 1 tuned baseline", times, {"w1": 100.0, "w2": 100.0})
    scored = together.scored()
    assert together.scored() is scored
    # medians: mine 20 and inf (2 of 3 seeds missed w2), nadamw 20 and 50
    assert scored["mine"].times == {"w1": 20.0, "w2": inf} and scored["mine"].reached == 1
    assert scored["mine"].score.point == pytest.approx(0.5)  # within tau of the best on w1 only
    assert scored["nadamw (baseline)"].score.point == pytest.approx(1.0)
    # a miss counts as budget + 1: sqrt(20 / 20 * 50 / 101)
    assert scored["mine"].speedup.point == pytest.approx(math.sqrt(50 / 101))
    assert scored["nadamw (baseline)"].speedup.point == pytest.approx(1.0)
    alone = pool.Pool("mine", {"mine": times["mine"]}, {"w1": 100.0, "w2": 100.0})
    assert alone.scored()["mine"].speedup is None  # no reference in the pool


def test_the_scores_as_json_have_null_where_a_value_is_infinite_or_absent():
    times = {"mine": {"w1": [10.0], "w2": [inf]}, "other": {"w1": [20.0], "w2": [40.0]}}
    saved = json.loads(pool.as_json(pool.Pool("two", times, {"w1": 50.0, "w2": 50.0})))
    assert saved["pool"] == "two" and saved["budgets_steps"] == {"w1": 50.0, "w2": 50.0}
    mine = saved["scores"]["mine"]
    assert mine["median_steps"] == {"w1": 10.0, "w2": None}
    assert (mine["reached"], mine["speedup"], mine["rests_on"]) == (1, None, 0)
    assert mine["score"] == [0.5, 0.5, 0.5]  # one seed: the interval is the point
    # other: ratio 2 on w1 and 1 on w2, so rho = 1/2 on [1, 2) and 1 on [2, 4]: (0.5 + 2) / 3
    assert saved["scores"]["other"]["score"][0] == pytest.approx(5 / 6)
    assert "Infinity" not in pool.as_json(pool.Pool("two", times, None))


def test_a_budget_in_steps_is_the_epochs_times_the_steps_of_one_epoch():
    epochs = wl.Workload("w", "", "val_loss", 0.1, 44, "epochs")
    steps = wl.Workload("f", "", "distance_to_min", 0.01, 3000, "steps", group="toy")
    assert pool.budget_steps(epochs, 34.0) == 1496.0
    assert pool.budget_steps(steps, 34.0) == 3000.0  # a 2-D function counts steps already


def test_steps_per_epoch_come_from_the_split_the_run_would_load_and_its_batch_size():
    register_configs()
    # logreg_digits trains on 1,077 of digits' 1,797 images, whatever the seed
    assert pool.steps_per_unit(compose("logreg_digits", ["optimizer=adam"], None)) == 34.0  # / 32
    for seed in (0, 7):
        cfg = compose(
            "logreg_digits", ["optimizer=adam", "trainer.batch_size=100", f"seed={seed}"], None
        )
        assert pool.steps_per_unit(cfg) == 11.0  # ceil(10.77)
    full = compose("logreg_digits", ["optimizer=adam", "trainer.batch_size=full"], None)
    assert pool.steps_per_unit(full) == 1.0
    assert pool.steps_per_unit(compose("rosenbrock", [], None)) == 1.0
    composed = composed_workloads(["logreg_digits", "rosenbrock"], ["optimizer=adam"], None)
    budget = composed["logreg_digits"][1].budget
    assert pool.budgets_of(composed) == {"logreg_digits": budget * 34.0, "rosenbrock": 3000.0}
