"""The trainer contract: every framework returns the same RunResult with the same metric names.

Per step: train_loss, val_loss, val_accuracy, lr (when the optimizer has one), elapsed_s
(cumulative training time, evaluation excluded). Final: test_loss, test_accuracy, fit_time_s,
time_per_iter_s, params_total, params_trainable (plus trainer-specific extras). A surface
(model=landscape) has no data, so no val_ or test_ metrics: its loss is the function's value.
tests/test_trainer_contract.py holds every model row to this."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from optbench.artifact import Artifact
from optbench.callbacks import CallbackList, LoopState
from optbench.data import Dataset
from optbench.metrics import higher_is_better
from optbench.models.registry import check_framework, framework_of, model_row

__all__ = ["Artifact", "RunResult", "Trainer", "make_trainer"]


def log_loss_and_accuracy(proba: np.ndarray, labels: np.ndarray) -> tuple[float, float]:
    """Mean log-loss (probabilities clipped at 1e-15) and accuracy, from class probabilities
    and the label's column in them; NaN loss when any probability is not finite (diverged)."""
    p_true = proba[np.arange(len(labels)), labels]
    with np.errstate(all="ignore"):
        loss = float(-np.mean(np.log(np.clip(p_true, 1e-15, 1.0))))
    if not np.all(np.isfinite(proba)):
        loss = math.nan
    return loss, float(np.mean(np.argmax(proba, axis=1) == labels))


@dataclass
class RunResult:
    history: list[dict[str, float]]  # one dict per step, each with "step"
    final: dict[str, float]
    diverged: bool = False
    stop_reason: str = ""
    notes: list[str] = field(default_factory=list)  # summary warnings for the console
    artifacts: list[Artifact] = field(default_factory=list)  # trainer-specific files
    tags: dict[str, str] = field(default_factory=dict)  # e.g. the devices a Keras run used

    @classmethod
    def of_loop(cls, state: LoopState, history: list, final: dict, **extra: Any) -> RunResult:
        """The result of a loop that ``state`` followed (diverged, stop reason)."""
        return cls(history, final, state.diverged, state.stop_reason, **extra)

    def objective(self, metric: str = "val_loss") -> float:
        """What sweepers rank this run by (``objective_value`` of its last logged values; a
        value logged once at the end, as steps_to_target, counts where no step logged it)."""
        last = {**self.final, **{k: v for h in self.history for k, v in h.items()}}
        return objective_value(metric, last, self.diverged)


def objective_value(metric: str, last: Mapping[str, float], diverged: bool) -> float:
    """The last value of ``metric`` (a val_ metric falls back to its train_ twin where there is
    no validation set); the worst value when diverged or absent."""
    worst = -math.inf if higher_is_better(metric) else math.inf
    if diverged:
        return worst
    for key in (metric, metric.replace("val_", "train_")):
        if key in last:
            return float(last[key])
    return worst


class Trainer(Protocol):
    log_every: int | None  # steps per write when tracking.log_every is null (None: by time)

    def fit(self, splits: Dataset, callbacks: CallbackList) -> RunResult: ...


def run_title(cfg: Any) -> str:
    """What a run's figures are titled: model · optimizer · dataset."""
    return f"{cfg.model.name} · {cfg.optimizer.name} · {cfg.dataset.name}"


def make_trainer(cfg: Any) -> Trainer:
    """The trainer the model's row names for ``cfg.model.framework`` (imports only that one).
    The caller (optbench.runner.prepare) has had compat.check accept the job first."""
    import importlib

    row = model_row(cfg.model.name)
    framework = framework_of(cfg)
    check_framework(row, framework)
    if framework != "sklearn":  # the others load Keras: on the configured backend
        from optbench.hardware import select_backend

        select_backend(cfg.hardware)
    module, name = row.trainers[framework].split(":")
    return getattr(importlib.import_module(module), name)(cfg)
