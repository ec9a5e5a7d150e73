"""The loop's observers: a divergence stops the run and marks it, early stopping counts its
patience past the tolerance, the target tracker notes the first step at the target."""

from __future__ import annotations

import math

import pytest

from optbench.callbacks import (
    Callback,
    CallbackList,
    DivergenceGuard,
    EarlyStopping,
    LoopState,
    RunContext,
    TargetTracker,
)


def started(callback: Callback, max_steps: int = 10) -> LoopState:
    state = LoopState(max_steps=max_steps)
    callback.on_train_begin(state)
    return state


def test_a_stop_keeps_the_first_reason():
    state = LoopState(max_steps=5)
    assert (state.stop_training, state.stop_reason) == (False, "max_iter")
    state.request_stop("converged: first")
    state.request_stop("target: second")
    assert state.stop_training and state.stop_reason == "converged: first"


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_a_non_finite_loss_stops_and_marks_the_run_diverged(bad):
    guard = DivergenceGuard()
    state = started(guard)
    guard.on_epoch_end(1, {"train_loss": 0.5, "val_loss": 0.6})
    assert not state.stop_training and not state.diverged
    guard.on_epoch_end(2, {"train_loss": 0.4, "val_loss": bad})
    assert state.diverged and state.stop_training
    assert state.stop_reason == f"diverged: val_loss={bad} at step 2"


def test_only_the_guarded_keys_count_and_the_first_bad_one_is_named():
    guard = DivergenceGuard(keys=("train_loss",))
    state = started(guard)
    guard.on_epoch_end(1, {"val_loss": math.nan, "train_accuracy": math.nan})
    assert not state.diverged  # neither is a guarded key
    both = DivergenceGuard()
    state = started(both)
    both.on_epoch_end(3, {"train_loss": math.inf, "val_loss": math.nan})
    assert state.stop_reason == "diverged: train_loss=inf at step 3"


def test_the_val_loss_limit_is_exclusive_and_named_in_the_reason():
    guard = DivergenceGuard(val_loss_limit=2.5)
    state = started(guard)
    guard.on_epoch_end(1, {"val_loss": 2.5})  # at the limit: still a result
    guard.on_epoch_end(2, {"train_loss": 99.0})  # no val_loss: nothing to compare
    assert not state.stop_training and not state.diverged
    guard.on_epoch_end(3, {"val_loss": 2.5001})
    assert state.diverged and state.stop_reason == (
        "diverged: val_loss=2.5 > 2.5 (trainer.diverge_above x chance level) at step 3"
    )


def test_without_a_limit_a_huge_finite_val_loss_is_not_divergence():
    guard = DivergenceGuard()
    state = started(guard)
    guard.on_epoch_end(1, {"val_loss": 1e30})
    assert not state.diverged and not state.stop_training


def test_early_stopping_waits_patience_steps_without_an_improvement_beyond_tol():
    stopper = EarlyStopping("val_loss", tol=0.1, patience=2)
    state = started(stopper)
    stopper.on_epoch_end(1, {"val_loss": 1.0})  # first value: an improvement on inf
    stopper.on_epoch_end(2, {"val_loss": 0.9})  # by exactly tol: not more than tol
    assert stopper.best == 1.0 and stopper.wait == 1 and not state.stop_training
    stopper.on_epoch_end(3, {"val_loss": 0.85})  # better than 1.0 - 0.1: the wait restarts
    assert stopper.best == 0.85 and stopper.wait == 0
    stopper.on_epoch_end(4, {"train_loss": 0.1})  # monitor not logged: no step counted
    stopper.on_epoch_end(5, {"val_loss": 0.8})
    assert not state.stop_training
    stopper.on_epoch_end(6, {"val_loss": 0.8})
    assert state.stop_training and state.stop_reason == (
        "converged: val_loss improved by < 0.1 for 2 steps"
    )


def test_early_stopping_with_patience_one_stops_at_the_first_flat_step():
    stopper = EarlyStopping("train_loss", tol=0.0, patience=1)
    state = started(stopper)
    stopper.on_epoch_end(1, {"train_loss": 0.5})
    assert not state.stop_training
    stopper.on_epoch_end(2, {"train_loss": 0.5})  # equal is no improvement with tol=0
    assert state.stop_reason == "converged: train_loss improved by < 0 for 1 steps"


def test_the_target_tracker_stops_exactly_at_the_target_and_keeps_the_first_step():
    tracker = TargetTracker("val_accuracy", 0.9, stop=True)
    state = started(tracker)
    tracker.on_epoch_end(1, {"val_accuracy": 0.8999, "optimizer_steps": 10, "elapsed_s": 1.0})
    assert tracker.reached == {} and not state.stop_training
    tracker.on_epoch_end(2, {"val_accuracy": 0.9, "optimizer_steps": 20, "elapsed_s": 2.5})
    first = {"steps_to_target": 20, "epochs_to_target": 2, "time_to_target_s": 2.5}
    assert tracker.reached == first
    assert state.stop_training and state.stop_reason == "target: val_accuracy reached 0.9"
    tracker.on_epoch_end(3, {"val_accuracy": 0.99, "optimizer_steps": 30, "elapsed_s": 3.0})
    assert tracker.reached == first  # the first crossing, not the latest


def test_the_target_tracker_without_stop_or_step_counts_falls_back_to_the_epoch():
    tracker = TargetTracker("val_loss", 0.2, stop=False)
    state = started(tracker)
    tracker.on_epoch_end(4, {"val_loss": 0.2})
    assert tracker.reached["steps_to_target"] == 4 and tracker.reached["epochs_to_target"] == 4
    assert math.isnan(tracker.reached["time_to_target_s"])
    assert not state.stop_training


def test_the_target_tracker_adds_what_it_noted_to_the_result():
    class Result:
        final = {"val_loss": 0.1}

    tracker = TargetTracker("val_loss", 0.2, stop=False)
    started(tracker)
    ctx = RunContext(cfg=None, settings=None, run=None, data=None, result=Result())
    tracker.on_run_end(ctx)  # not reached: nothing added
    assert ctx.result.final == {"val_loss": 0.1}
    tracker.on_epoch_end(1, {"val_loss": 0.1, "optimizer_steps": 7, "elapsed_s": 0.5})
    tracker.on_run_end(ctx)
    assert ctx.result.final == {
        "val_loss": 0.1, "steps_to_target": 7, "epochs_to_target": 1, "time_to_target_s": 0.5,
    }  # fmt: skip


def test_a_callback_list_passes_every_event_to_each_callback_in_order():
    seen: list[tuple[str, str]] = []

    class Log(Callback):
        def __init__(self, name: str):
            self.name = name

        def on_run_begin(self, ctx):
            seen.append((self.name, "run_begin"))

        def on_train_begin(self, state):
            super().on_train_begin(state)
            seen.append((self.name, "train_begin"))

        def on_epoch_end(self, step, logs):
            seen.append((self.name, f"epoch {step} {logs['train_loss']}"))

        def on_train_end(self, logs):
            seen.append((self.name, "train_end"))

        def on_run_end(self, ctx):
            seen.append((self.name, "run_end"))

    a, b = Log("a"), Log("b")
    callbacks = CallbackList([a, b])
    ctx = RunContext(cfg=None, settings=None, run=None, data=None)
    state = LoopState(max_steps=1)
    callbacks.on_run_begin(ctx)
    callbacks.on_train_begin(state)
    callbacks.on_epoch_end(1, {"train_loss": 0.5})
    callbacks.on_train_end({})
    callbacks.on_run_end(ctx)
    assert a.state is state and b.state is state
    events = ["run_begin", "train_begin", "epoch 1 0.5", "train_end", "run_end"]
    assert seen == [(name, e) for e in events for name in ("a", "b")]
