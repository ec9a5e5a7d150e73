"""What a metric's name says about it, decided once for the trainers, the callbacks, tuning
and the report (a leaf module: it imports nothing)."""

from __future__ import annotations

MAXIMISED = ("accuracy",)  # a metric whose name contains one of these is better when higher


def higher_is_better(metric: str) -> bool:
    """Accuracies are maximised; everything else (losses, times, steps, distances) minimised."""
    return any(word in metric for word in MAXIMISED)
