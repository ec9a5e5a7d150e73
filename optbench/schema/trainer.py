"""Schemas of the top-level trainer and tracking keys (conf/config.yaml): the training
loop's budget and stopping rules, and how the run is recorded in MLflow."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from optbench.constraints import (
    AnyOf,
    Interval,
    OneOf,
    constrained,
    non_negative,
    positive,
    positive_int,
)
from optbench.diagnostics import LEVELS


@dataclass
class EarlyStopConfig:
    enabled: bool = True
    monitor: str = constrained("train_loss", OneOf(("train_loss", "val_loss")))
    tol: float = non_negative(1e-4)  # an improvement smaller than this does not count
    patience: int = positive_int(10)  # steps without improvement before stopping


@dataclass
class PlateauConfig:
    tol: float = non_negative(1e-4)  # a loss change below this counts as no change
    window: int = positive_int(5)  # consecutive such steps that make a plateau


@dataclass
class TrainerConfig:
    max_iter: int = positive_int(100)  # iterations (epochs) of the training loop
    batch_size: Any = constrained(
        "auto", AnyOf((Interval(1, None, integer=True), OneOf(("auto", "full"))))
    )
    eval_every: int = positive_int(1)
    early_stop: EarlyStopConfig = field(default_factory=EarlyStopConfig)
    plateau: PlateauConfig = field(default_factory=PlateauConfig)
    oneshot_baseline: bool = True  # also fit once continuously (logreg) for oneshot_train_loss
    stop_at_target: bool = False  # stop when dataset.target is reached
    # diverged: a NaN/inf loss, or val_loss above this many times chance level (ln n_classes)
    diverge_above: float | None = positive(5.0, nullable=True)
    full_train_loss: bool = False  # Keras: train_loss re-evaluated on all training data each
    #                                epoch (as scikit-learn's) instead of the running mean
    save_model: bool = False  # Keras: log the trained model as model.keras
    # Keras: train steps per compiled call (model.compile's steps_per_execution): Keras's own
    # per-step overhead dominates small models (bench/results/keras_fit_<backend>.md). Same
    # updates in the same order; callbacks still run once per epoch.
    steps_per_execution: int = positive_int(1)
    fine_tune_epochs: int = non_negative(0)  # transfer models: epochs with the top
    #                                         model.fine_tune_layers unfrozen, after max_iter
    skip_existing: bool = False  # skip a job whose resolved config already has a FINISHED run
    animate: bool = False  # model=landscape: also log the trajectory as an animated GIF
    progress: bool = True
    # training diagnostics (optbench/diagnostics/, docs/diagnostics.md), cumulative levels:
    # off | basic (norms per layer, update ratios, dead ReLUs, flags) | noise (+ gradient
    # noise scale and SNR) | curvature (+ sharpness and Hessian trace)
    diagnostics: str = constrained("basic", OneOf(LEVELS))
    # optimizer steps between probes; null: Keras, a cost near 5 % (batch 32: every 400 steps,
    # optbench/diagnostics/__init__.py:default_every); scikit-learn, NumPy: every step
    diagnostics_every: int | None = positive_int(None, nullable=True)
    diagnostics_sample: int = positive_int(512)  # Keras: training examples a probe measures on
    # noise: the micro-batches the probe sample is split into
    diagnostics_splits: int = constrained(8, Interval(2, None, integer=True))
    diagnostics_power_iters: int = positive_int(20)  # curvature: power iterations for sharpness
    diagnostics_trace_probes: int = positive_int(10)  # curvature: Hutchinson probes for the trace
    # curvature: steps between curvature probes; null: 10 x diagnostics_every
    diagnostics_curvature_every: int | None = positive_int(None, nullable=True)


@dataclass
class TrackingConfig:
    uri: str | None = None  # None: $MLFLOW_TRACKING_URI, else sqlite:///<cwd>/runs/mlflow.db
    # steps buffered per MLflow write; null: the trainer's own (Keras: every epoch, which takes
    # seconds; scikit-learn and NumPy, whose steps take milliseconds: by time only)
    log_every: int | None = positive_int(None, nullable=True)
    # ...and at least this often: a job killed outright (kill -9, out of memory) loses at most
    # this many seconds of steps; Ctrl-C and SIGTERM flush everything
    flush_every_s: float = positive(2.0)
    artifacts: bool = True  # resolved config YAML and loss-curve PNG
    # MLflow writes in a helper process unless MLflow is imported already (false: never)
    helper_process: bool = True
