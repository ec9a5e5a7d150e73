"""What a metric's name says about it, decided once for the trainers, the callbacks, tuning
and the report (a leaf module: it imports only the standard library)."""

from __future__ import annotations

import math

MAXIMISED = ("accuracy",)  # a metric whose name contains one of these is better when higher


def higher_is_better(metric: str) -> bool:
    """Accuracies are maximised; everything else (losses, times, steps, distances) minimised."""
    return any(word in metric for word in MAXIMISED)


def reaches(value: float | None, target: float, maximise: bool) -> bool:
    """Whether ``value`` is at or beyond ``target`` (landing exactly on it counts): the one
    test of a target that the runner, the report and the suite's rebuild share."""
    if value is None or not math.isfinite(value):
        return False
    return value >= target if maximise else value <= target
