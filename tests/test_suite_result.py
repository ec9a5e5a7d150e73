"""optbench/suite/result.py: one workload's outcome in the suite, seed by seed. What ``add``
reads from a run's final metrics (steps, gradient evaluations and seconds to target, the final
metric, SAM's two gradients a step), the workload's row of the scorecard as printed, and a
run's final metrics as MLflow keeps them."""

from __future__ import annotations

import math

from optbench.suite.result import HEADER, WorkloadResult, final_metrics
from optbench.suite.workloads import Workload
from optbench.trainers.base import RunResult

inf = math.inf
MNIST = Workload("mnist_mlp", "an MLP", "val_accuracy", 0.962, 21, "epochs")
QUAD = Workload("quad", "a 2-D function", "distance_to_min", 0.01, 250, "steps", group="toy")


def test_a_seed_that_reached_the_target_adds_its_steps_gradients_and_seconds():
    result = WorkloadResult(MNIST)
    result.add({"steps_to_target": 120.0, "time_to_target_s": 4.5, "val_accuracy": 0.97})
    result.add({"val_accuracy": 0.95}, "optimizer.lr=0.01")  # never reached
    assert result.steps == [120.0, inf] and result.gradients == [120.0, inf]
    assert result.seconds == [4.5, inf] and result.final == [0.97, 0.95]
    assert result.settings == ["", "optimizer.lr=0.01"] and result.gradients_per_step == 1.0


def test_a_2d_function_counts_its_steps_and_time_to_tolerance():
    result = WorkloadResult(QUAD)
    result.add({"steps_to_tolerance": 80.0, "time_to_tolerance_s": 0.2, "distance_to_min": 0.004})
    result.add({"steps_to_tolerance": inf, "time_to_tolerance_s": 9.0, "distance_to_min": 2.0})
    assert result.steps == [80.0, inf] and result.seconds == [0.2, inf]  # no time if not reached
    assert result.final == [0.004, 2.0]


def test_sam_takes_two_gradient_evaluations_a_step():
    result = WorkloadResult(MNIST)
    result.add({"steps_to_target": 100.0, "optimizer_steps": 300.0, "gradient_evaluations": 600.0})
    assert result.gradients == [200.0] and result.gradients_per_step == 2.0
    result.add({"steps_to_target": 50.0, "optimizer_steps": 0.0, "gradient_evaluations": 0.0})
    assert result.gradients_per_step == 2.0  # a run of no steps says nothing about the ratio


def test_a_failed_run_adds_a_seed_that_did_not_reach_the_target():
    result = WorkloadResult(MNIST)
    result.add(final_metrics(None))
    assert result.steps == [inf] and result.seconds == [inf] and math.isnan(result.final[0])


def test_the_row_shows_the_median_over_seeds_and_the_spread_of_the_final_metric():
    result = WorkloadResult(MNIST)
    for steps, seconds, final in [(120.0, 4.5, 0.97), (1234.0, 10.25, 0.965), (None, None, 0.95)]:
        reached = {"steps_to_target": steps, "time_to_target_s": seconds} if steps else {}
        result.add({**reached, "val_accuracy": final})
    row = result.row()
    assert dict(zip(HEADER, row, strict=True)) == {
        "workload": "mnist_mlp",
        "target": "val_accuracy >= 0.962",
        "budget": "21 epochs",
        "reached": "2/3",
        "steps to target (median)": "1,234",
        "seconds to target": "10.25",
        "final metric, median [min, max]": "0.965 [0.95, 0.97]",
    }


def test_a_row_where_most_seeds_missed_says_not_reached():
    result = WorkloadResult(QUAD)
    result.add({"steps_to_tolerance": 10.0, "time_to_tolerance_s": 0.1})  # no distance logged
    result.add({})
    assert result.row()[3:] == ["1/2", "not reached", "-", "-"]  # half is not a majority


def test_final_metrics_are_the_last_steps_then_the_final_ones():
    run = RunResult(
        history=[{"step": 1, "val_loss": 0.9, "lr": 0.1}, {"step": 2, "val_loss": 0.5, "lr": 0.05}],
        final={"val_loss": 0.45, "steps_to_target": 2.0},
    )
    assert final_metrics(run) == {"step": 2, "val_loss": 0.45, "lr": 0.05, "steps_to_target": 2.0}
    assert final_metrics(RunResult([], {"final_loss": 1.0})) == {"final_loss": 1.0}
    assert final_metrics(None) == {}
