"""The trainer contract: every framework returns the same RunResult with the same metric names.

Per step: train_loss, val_loss, val_accuracy, lr (when the optimizer has one), elapsed_s
(cumulative training time, evaluation excluded). Final: test_loss, test_accuracy, fit_time_s,
time_per_iter_s, params_total, params_trainable (plus trainer-specific extras)."""

from __future__ import annotations

import math
import signal
import threading
from dataclasses import dataclass, field
from typing import Any, Protocol

from optbench.callbacks import CallbackList
from optbench.data import Splits


@dataclass
class RunResult:
    history: list[dict[str, float]]  # one dict per step, each with "step"
    final: dict[str, float]
    diverged: bool = False
    stop_reason: str = ""
    notes: list[str] = field(default_factory=list)  # summary warnings for the console

    @property
    def objective(self) -> float:
        """What sweepers minimise: the last validation loss (inf when diverged)."""
        if self.diverged:
            return math.inf
        val = [h["val_loss"] for h in self.history if "val_loss" in h]
        return float(val[-1]) if val else math.inf


class InterruptGuard:
    """Remembers Ctrl-C even when a library swallows the KeyboardInterrupt (scikit-learn's MLP
    does, inside ``partial_fit``), so the loop can stop after the current iteration."""

    def __init__(self) -> None:
        self.interrupted = False

    def __enter__(self) -> InterruptGuard:
        self._previous = None
        main_thread = threading.current_thread() is threading.main_thread()
        if main_thread and signal.getsignal(signal.SIGINT) is not signal.SIG_IGN:
            self._previous = signal.signal(signal.SIGINT, self._on_sigint)
        return self

    def _on_sigint(self, signum: int, frame: Any) -> None:
        self.interrupted = True
        raise KeyboardInterrupt

    def check(self) -> None:
        if self.interrupted:
            raise KeyboardInterrupt

    def __exit__(self, *exc: Any) -> None:
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)


class Trainer(Protocol):
    def fit(self, splits: Splits, callbacks: CallbackList) -> RunResult: ...


def make_trainer(cfg: Any) -> Trainer:
    """Pick the trainer for ``cfg.model.framework`` (imports only that framework)."""
    import importlib

    from optbench.errors import OptbenchError

    trainers = {"sklearn": "optbench.trainers.sklearn:SklearnTrainer"}
    framework = cfg.model.framework
    if framework not in trainers:
        raise OptbenchError(
            f"model.framework={framework!r} has no trainer yet; available: "
            f"{', '.join(sorted(trainers))}."
        )
    module, name = trainers[framework].split(":")
    return getattr(importlib.import_module(module), name)(cfg)
