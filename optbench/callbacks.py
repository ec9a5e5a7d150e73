"""Observers of a training loop, as in Keras: the loop emits events, callbacks react.

Every trainer calls ``on_train_begin``, ``on_epoch_end(step, logs)`` once per iteration/epoch,
and ``on_train_end``; a callback stops training through ``LoopState.request_stop``. Around the
loop, the runner calls ``on_run_begin`` (data loaded) and ``on_run_end`` (the trainer's result
in hand) with the whole run (``RunContext``): optbench/run_record.py lists a job's callbacks."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from optbench.metrics import LIVE, higher_is_better, reaches


@dataclass
class LoopState:
    """What callbacks can see and change about the running loop."""

    max_steps: int
    stop_training: bool = False
    stop_reason: str = "max_iter"
    diverged: bool = False

    def request_stop(self, reason: str) -> None:
        if not self.stop_training:
            self.stop_training, self.stop_reason = True, reason


@dataclass
class RunContext:
    """One job as its callbacks see it: the composed config and its validated settings, the
    MLflow run (optbench.tracking.TrackedRun), the data, and the RunResult once trained."""

    cfg: Any
    settings: Any
    run: Any
    data: Any
    result: Any = None


class Callback:
    def on_run_begin(self, ctx: RunContext) -> None:
        pass

    def on_run_end(self, ctx: RunContext) -> None:
        pass

    def on_train_begin(self, state: LoopState) -> None:
        self.state = state

    def on_epoch_end(self, step: int, logs: dict[str, float]) -> None:
        pass

    def on_train_end(self, logs: dict[str, float]) -> None:
        pass


class CallbackList(Callback):
    def __init__(self, callbacks: list[Callback]):
        self.callbacks = callbacks

    def on_run_begin(self, ctx: RunContext) -> None:
        for cb in self.callbacks:
            cb.on_run_begin(ctx)

    def on_run_end(self, ctx: RunContext) -> None:
        for cb in self.callbacks:
            cb.on_run_end(ctx)

    def on_train_begin(self, state: LoopState) -> None:
        for cb in self.callbacks:
            cb.on_train_begin(state)

    def on_epoch_end(self, step: int, logs: dict[str, float]) -> None:
        for cb in self.callbacks:
            cb.on_epoch_end(step, logs)

    def on_train_end(self, logs: dict[str, float]) -> None:
        for cb in self.callbacks:
            cb.on_train_end(logs)


class DivergenceGuard(Callback):
    """Stops at the first NaN/inf loss, or a val_loss above ``val_loss_limit``, and marks the
    run diverged (a result, not a crash)."""

    def __init__(
        self,
        keys: tuple[str, ...] = ("train_loss", "val_loss"),
        val_loss_limit: float | None = None,
    ):
        self.keys, self.val_loss_limit = keys, val_loss_limit

    def on_epoch_end(self, step: int, logs: dict[str, float]) -> None:
        bad = [k for k in self.keys if k in logs and not math.isfinite(logs[k])]
        if bad:
            self.state.diverged = True
            self.state.request_stop(f"diverged: {bad[0]}={logs[bad[0]]} at step {step}")
        elif self.val_loss_limit is not None and logs.get("val_loss", 0.0) > self.val_loss_limit:
            self.state.diverged = True
            self.state.request_stop(
                f"diverged: val_loss={logs['val_loss']:.4g} > {self.val_loss_limit:.4g} "
                f"(trainer.diverge_above x chance level) at step {step}"
            )


class EarlyStopping(Callback):
    """Stops when ``monitor`` has not improved by more than ``tol`` for ``patience`` steps."""

    def __init__(self, monitor: str, tol: float, patience: int):
        self.monitor, self.tol, self.patience = monitor, tol, patience
        self.best = math.inf
        self.wait = 0

    def on_epoch_end(self, step: int, logs: dict[str, float]) -> None:
        value = logs.get(self.monitor)
        if value is None:
            return
        if value < self.best - self.tol:
            self.best, self.wait = value, 0
            return
        self.wait += 1
        if self.wait >= self.patience:
            self.state.request_stop(
                f"converged: {self.monitor} improved by < {self.tol:g} for {self.patience} steps"
            )


class TargetTracker(Callback):
    """Notes when ``metric`` first reaches ``value`` (>= for accuracies, <= for losses):
    steps_to_target (optimizer steps), epochs_to_target, time_to_target_s (training time,
    evaluation excluded); stops there if ``stop``."""

    def __init__(self, metric: str, value: float, stop: bool):
        self.metric, self.value, self.stop = metric, value, stop
        self.maximise = higher_is_better(metric)
        self.reached: dict[str, float] = {}

    def on_epoch_end(self, step: int, logs: dict[str, float]) -> None:
        if not self.reached and reaches(logs.get(self.metric), self.value, self.maximise):
            self.reached = {
                "steps_to_target": logs.get("optimizer_steps", step),
                "epochs_to_target": step,
                "time_to_target_s": logs.get("elapsed_s", math.nan),
            }
            if self.stop:
                self.state.request_stop(f"target: {self.metric} reached {self.value:g}")

    def on_run_end(self, ctx: RunContext) -> None:
        ctx.result.final.update(self.reached)


class RichProgress(Callback):
    """A rich progress bar with the live losses."""

    def __init__(self, description: str):
        self.description = description

    def on_train_begin(self, state: LoopState) -> None:
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
        )

        super().on_train_begin(state)
        self.progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[losses]}"),
            TimeElapsedColumn(),
            transient=False,
        )
        self.task = self.progress.add_task(self.description, total=state.max_steps, losses="")
        self.progress.start()

    def on_epoch_end(self, step: int, logs: dict[str, float]) -> None:
        shown = " ".join(f"{k}={logs[k]:.4f}" for k in LIVE if k in logs)
        self.progress.update(self.task, completed=step, losses=shown)

    def on_train_end(self, logs: dict[str, float]) -> None:
        self.progress.stop()
