"""One answer to "is this metric maximised?", shared by trainers, callbacks, tuning and report."""

from __future__ import annotations

import math

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
