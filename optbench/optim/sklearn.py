"""Optimizer and schedule configs -> scikit-learn estimator keyword arguments, by the
registry's rows (which solver, which fields) and the schedule table (MLPClassifier's own
schedules); which model takes which is its row in the model registry, passed in as ``models``
(optbench/models/registry.py MODELS) and checked by rules.py."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from optbench.optim.registry import optimizer_row
from optbench.optim.rules import check_sklearn_optimizer
from optbench.optim.schedules import SCHEDULES


def optimizer_kwargs(
    model: Any, opt: Any, schedule: Any, models: Mapping[str, Any]
) -> dict[str, Any]:
    """Estimator kwargs for this model/optimizer/schedule, or a clear error if unsupported."""
    check_sklearn_optimizer(model, opt, schedule, models)
    return {
        **optimizer_row(opt.name).sklearn.kwargs(opt),
        **SCHEDULES[schedule.name].sklearn(schedule),
    }
