"""What a metric's name says about it, decided once for the trainers, the callbacks, tuning,
``reproduce``, the console, the UI view and the report (a leaf module: it imports only the
standard library).

``METRICS`` holds the standard record every trainer reports (trainers/base.py) and the
landscape's and target's results; a name outside it (a trainer's extra) falls back to the
rules its name follows: accuracies maximised, names that measure time timings."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

MAXIMISED = ("accuracy",)  # a name outside METRICS that contains one of these: higher is better
TIMED = ("_s", "_per_s", "ms_per_image", "_time")  # ...one that contains these measures time


@dataclass(frozen=True)
class Metric:
    """One metric: which way is better, whether it is logged per step (a curve) or once at
    the end, whether it measures time (never reproduces exactly), and its label on axes."""

    label: str
    maximise: bool = False
    per_step: bool = False
    timing: bool = False


METRICS: dict[str, Metric] = {
    # per step
    "train_loss": Metric("training log-loss", per_step=True),
    "val_loss": Metric("validation log-loss", per_step=True),
    "train_accuracy": Metric("training accuracy", maximise=True, per_step=True),
    "val_accuracy": Metric("validation accuracy", maximise=True, per_step=True),
    "lr": Metric("learning rate", per_step=True),
    "grad_norm": Metric("gradient norm", per_step=True),
    "optimizer_steps": Metric("optimizer steps", per_step=True),
    "elapsed_s": Metric("training time (s)", per_step=True, timing=True),
    "epoch_time_s": Metric("epoch time (s)", per_step=True, timing=True),
    # training diagnostics (optbench/diagnostics/record.py), the step's last probe
    "diag_grad_norm": Metric("gradient norm (probe sample)", per_step=True),
    "diag_weight_norm": Metric("weight norm", per_step=True),
    "diag_update_norm": Metric("update norm per step (scikit-learn: per iteration)", per_step=True),
    "diag_update_ratio": Metric("update / weight ratio", per_step=True),
    "diag_dist_init": Metric("distance from initialisation", per_step=True),
    "diag_dead_relu": Metric("dead ReLU units (share)", per_step=True),
    "diag_nonfinite": Metric("non-finite values", per_step=True),
    "diag_grad_ratio": Metric("lowest / top layer gradient norm", per_step=True),
    "diag_noise_scale": Metric("gradient noise scale B_simple", per_step=True),
    "diag_grad_snr": Metric("gradient signal-to-noise ratio", per_step=True),
    "diag_sharpness": Metric("sharpness (top Hessian eigenvalue)", per_step=True),
    "diag_hessian_trace": Metric("Hessian trace", per_step=True),
    # final
    "test_loss": Metric("test log-loss"),
    "test_accuracy": Metric("test accuracy", maximise=True),
    "fit_time_s": Metric("training time (s)", timing=True),
    "time_per_iter_s": Metric("time per step (s)", timing=True),
    "n_iter": Metric("steps or epochs run"),
    "params_total": Metric("parameters"),
    "params_trainable": Metric("trainable parameters"),
    "steps_to_target": Metric("optimizer steps to target"),
    "epochs_to_target": Metric("epochs to target"),
    "time_to_target_s": Metric("training time to target (s)", timing=True),
    "final_loss": Metric("final loss"),
    "distance_to_min": Metric("distance to the nearest minimum"),
    "steps_to_tolerance": Metric("steps to tolerance"),
}

# the per-step values the progress bar and the run's summary show, in this order
LIVE = ("train_loss", "val_loss", "val_accuracy")


def higher_is_better(metric: str) -> bool:
    """Accuracies are maximised; everything else (losses, times, steps, distances) minimised."""
    known = METRICS.get(metric)
    return known.maximise if known else any(word in metric for word in MAXIMISED)


def is_timing(metric: str) -> bool:
    """Whether ``metric`` measures time, so that a re-run never reproduces it exactly."""
    known = METRICS.get(metric)
    if known:
        return known.timing
    return any(part in metric for part in TIMED) or metric.endswith(("_b1", "_b64"))


def axis_label(metric: str) -> str:
    """How axes name ``metric``: its label, else the name itself."""
    known = METRICS.get(metric)
    return known.label if known else metric


def reaches(value: float | None, target: float, maximise: bool) -> bool:
    """Whether ``value`` is at or beyond ``target`` (landing exactly on it counts): the one
    test of a target that the runner, the report and the suite's rebuild share."""
    if value is None or not math.isfinite(value):
        return False
    return value >= target if maximise else value <= target


def first_crossing(values: Iterable[float | None], target: float, maximise: bool) -> int | None:
    """Index of the first value that reaches ``target`` (None: never): the report's time to
    target and the suite's rebuild ask it of a stored history, as TargetTracker does live."""
    for i, value in enumerate(values):
        if reaches(value, target, maximise):
            return i
    return None
