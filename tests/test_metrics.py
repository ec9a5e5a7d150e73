"""One answer to "is this metric maximised?", shared by trainers, callbacks, tuning and report."""

from __future__ import annotations

import math

import pytest

from optbench.callbacks import LoopState, TargetTracker
from optbench.metrics import higher_is_better
from optbench.trainers.base import objective_value


def test_accuracies_are_maximised_and_everything_else_minimised():
    assert higher_is_better("val_accuracy") and higher_is_better("train_accuracy")
    for metric in ("val_loss", "train_loss", "fit_time_s", "distance_to_min", "steps_to_target"):
        assert not higher_is_better(metric), metric


def test_the_worst_objective_and_a_reached_target_follow_the_direction():
    assert objective_value("val_accuracy", {}, diverged=True) == -math.inf
    assert objective_value("val_loss", {}, diverged=True) == math.inf
    accuracy, loss = (
        TargetTracker("val_accuracy", 0.9, False),
        TargetTracker("val_loss", 0.3, False),
    )
    for tracker in (accuracy, loss):
        tracker.on_train_begin(LoopState(max_steps=3))
    for step, logs in enumerate(
        ({"val_accuracy": 0.8, "val_loss": 0.2}, {"val_accuracy": 0.95}), 1
    ):
        accuracy.on_epoch_end(step, logs)
        loss.on_epoch_end(step, logs)
    assert accuracy.reached["epochs_to_target"] == 2 and loss.reached["epochs_to_target"] == 1


@pytest.mark.parametrize("maximise", [True, False])
def test_landing_exactly_on_a_target_reaches_it_everywhere(maximise):
    """The boundary: a value equal to the target counts, in the runner's TargetTracker, the
    report's crossing and the suite rebuild's first_reach alike (a `>` for `>=` fails here)."""
    from optbench.metrics import reaches
    from optbench.report.stats import crossing
    from optbench.suite.targets import first_reach

    metric = "val_accuracy" if maximise else "val_loss"
    below, exact = (0.8, 0.9) if maximise else (0.3, 0.2)
    assert reaches(exact, exact, maximise) and not reaches(below, exact, maximise)
    assert not reaches(float("nan"), exact, maximise) and not reaches(None, exact, maximise)
    tracker = TargetTracker(metric, exact, stop=False)
    tracker.on_train_begin(LoopState(max_steps=3))
    tracker.on_epoch_end(1, {metric: below, "optimizer_steps": 10})
    assert tracker.reached == {}
    tracker.on_epoch_end(2, {metric: exact, "optimizer_steps": 20, "elapsed_s": 1.5})
    assert tracker.reached["steps_to_target"] == 20 and tracker.reached["epochs_to_target"] == 2
    assert crossing([1, 2], [below, exact], exact, maximise) == 1
    history = [{"step": 1, metric: below}, {"step": 2, "optimizer_steps": 20, metric: exact}]
    assert first_reach(history, metric, exact)["steps_to_target"] == 20


def test_the_metric_table_agrees_with_the_rules_names_follow():
    """Every name in METRICS keeps the direction and timing its name gave it before the table,
    but optimizer_steps and the diagnostics (diag_grad_snr, diag_noise_scale, diag_sharpness: no
    seconds, whatever the "_s" rule would take them for; the table is what says so)."""
    from optbench.metrics import MAXIMISED, METRICS, TIMED, is_timing

    for name, metric in METRICS.items():
        assert metric.maximise == any(word in name for word in MAXIMISED), name
        if name != "optimizer_steps" and not name.startswith("diag_"):
            assert metric.timing == any(part in name for part in TIMED), name
        assert is_timing(name) == metric.timing and higher_is_better(name) == metric.maximise
    assert not is_timing("optimizer_steps") and is_timing("inference_ms_per_image_b64")
    assert not any(is_timing(name) for name in METRICS if name.startswith("diag_"))
    assert higher_is_better("oneshot_train_accuracy") and not higher_is_better("oneshot_fit_time_s")


def test_every_list_of_metric_names_names_metrics_of_the_table():
    """The console's, the UI view's and the report's columns read their names from METRICS."""
    from optbench.console import SWEEP_COLUMNS
    from optbench.metrics import LIVE, METRICS, axis_label
    from optbench.report.build import CURVE_KEYS, METRIC_PREFERENCE
    from optbench.tracking.ui import RESULT_METRICS, SORT_METRIC, view_state

    for names in (LIVE, SWEEP_COLUMNS, RESULT_METRICS, CURVE_KEYS, METRIC_PREFERENCE):
        assert set(names) <= set(METRICS), names
    assert all(METRICS[name].per_step for name in (*LIVE, *CURVE_KEYS))
    assert view_state()["orderByAsc"] is not METRICS[SORT_METRIC].maximise
    assert (
        axis_label("elapsed_s") == "training time (s)"
        and axis_label("samples_per_s") == "samples_per_s"
    )


def test_first_crossing_is_the_first_value_that_reaches_the_target():
    from optbench.metrics import first_crossing

    assert first_crossing([0.5, 0.9, 0.95], 0.9, maximise=True) == 1
    assert first_crossing([3.0, None, float("nan"), 1.0], 1.0, maximise=False) == 3
    assert first_crossing([3.0, 2.0], 1.0, maximise=False) is None
