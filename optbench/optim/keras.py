"""Framework-neutral optimizer/schedule configs -> keras.optimizers objects.

Config fields carry Keras's own keyword names (``lr`` aside), so building an optimizer is a
table lookup plus the fields; nothing here re-implements an update rule."""

from __future__ import annotations

import dataclasses
from typing import Any

from optbench.errors import OptbenchError

# optimizer config name -> keras.optimizers class name
KERAS_CLASSES: dict[str, str] = {
    "sgd": "SGD",
    "momentum": "SGD",
    "nesterov": "SGD",
    "adagrad": "Adagrad",
    "rmsprop": "RMSprop",
    "adam": "Adam",
    "adamw": "AdamW",
    "nadam": "Nadam",
    "adamax": "Adamax",
    "lamb": "Lamb",
    "lion": "Lion",
    "adafactor": "Adafactor",
    "muon": "Muon",
    "schedule_free_adamw": "ScheduleFreeAdamW",
}
KERAS_SCHEDULES = (
    "constant",
    "cosine",
    "warmup_cosine",
    "step",
    "exponential",
    "cosine_restarts",
    "one_cycle",
    "reduce_on_plateau",
)
SAM_FIELDS = ("base", "rho", "adaptive")  # SAM's own; the rest configure its base optimizer
SHARED_FIELDS = (
    "weight_decay",
    "clipnorm",
    "clipvalue",
    "global_clipnorm",
    "use_ema",
    "ema_momentum",
)
SAM_BASE_DEFAULTS = {"momentum": {"momentum": 0.9}, "nesterov": {"momentum": 0.9, "nesterov": True}}


def optimizer_kwargs(opt: Any) -> dict[str, Any]:
    """Keras keyword arguments for ``opt`` (without the learning rate)."""
    if opt.name == "sam":
        kwargs = {k: getattr(opt, k) for k in SHARED_FIELDS}
        kwargs.update(SAM_BASE_DEFAULTS.get(opt.base, {}))
    else:
        skip = ("name", "lr")
        kwargs = {
            f.name: getattr(opt, f.name) for f in dataclasses.fields(opt) if f.name not in skip
        }
    if kwargs.get("weight_decay") is None:
        kwargs.pop("weight_decay", None)  # keep Keras's own default (AdamW: 0.004)
    return kwargs


def build_optimizer(opt: Any, learning_rate: Any) -> Any:
    """The keras.optimizers instance for ``opt``; for SAM, its base optimizer (the two-pass
    step lives in the model's ``train_step``)."""
    import keras

    name = opt.base if opt.name == "sam" else opt.name
    if name not in KERAS_CLASSES:
        raise OptbenchError(
            f"optimizer={name} has no Keras implementation; available: "
            f"{', '.join(sorted(KERAS_CLASSES))}, sam."
        )
    cls = getattr(keras.optimizers, KERAS_CLASSES[name])
    return cls(learning_rate=learning_rate, **optimizer_kwargs(opt))


def require_keras_schedule(schedule: Any) -> None:
    """A clear error for a schedule Keras optimizers cannot follow (scikit-learn's own)."""
    if schedule.name not in KERAS_SCHEDULES:
        raise OptbenchError(
            f"schedule={schedule.name} is not available for Keras optimizers; use one of: "
            f"{', '.join(KERAS_SCHEDULES)}."
        )


def build_schedule(schedule: Any, lr: float, total_steps: int, steps_per_epoch: int = 1) -> Any:
    """A float or a keras.optimizers.schedules object, stepped once per optimizer update.
    Schedule settings in epochs become steps with ``steps_per_epoch``. reduce_on_plateau
    returns the constant lr: its Keras callback changes it (see ``plateau_callback``)."""
    from keras.optimizers import schedules

    require_keras_schedule(schedule)

    def steps(epochs: float) -> int:
        return max(1, round(epochs * steps_per_epoch))

    name = schedule.name
    if name in ("constant", "reduce_on_plateau"):
        return lr
    if name == "cosine":
        return schedules.CosineDecay(lr, schedule.decay_steps or total_steps, schedule.alpha)
    if name == "warmup_cosine":
        warmup = min(steps(schedule.warmup_epochs), total_steps - 1)
        return schedules.CosineDecay(
            lr * schedule.warmup_start,
            decay_steps=max(1, total_steps - warmup),
            alpha=schedule.alpha,
            warmup_target=lr,
            warmup_steps=warmup,
        )
    if name == "one_cycle":
        warmup = min(max(1, round(schedule.pct_start * total_steps)), total_steps - 1)
        return schedules.CosineDecay(
            lr / schedule.div_factor,
            decay_steps=max(1, total_steps - warmup),
            alpha=1 / (schedule.div_factor * schedule.final_div_factor),  # of the peak lr
            warmup_target=lr,
            warmup_steps=warmup,
        )
    if name == "step":
        # PiecewiseConstantDecay keeps value i while step <= boundary i; the step after
        # epoch b (iterations = b * steps_per_epoch) must already use the lower rate
        boundaries = [steps(b) - 1 for b in schedule.boundaries]
        values = [lr * schedule.factor**i for i in range(len(boundaries) + 1)]
        return schedules.PiecewiseConstantDecay(boundaries, values)
    if name == "exponential":
        return schedules.ExponentialDecay(
            lr, steps(schedule.decay_epochs), schedule.decay_rate, staircase=schedule.staircase
        )
    if name == "cosine_restarts":
        return schedules.CosineDecayRestarts(
            lr,
            steps(schedule.first_decay_epochs),
            t_mul=schedule.t_mul,
            m_mul=schedule.m_mul,
            alpha=schedule.alpha,
        )
    raise AssertionError(f"KERAS_SCHEDULES lists {name}, but nothing builds it")


def plateau_callback(schedule: Any) -> Any:
    """keras.callbacks.ReduceLROnPlateau for schedule=reduce_on_plateau, else None."""
    if schedule.name != "reduce_on_plateau":
        return None
    import keras

    return keras.callbacks.ReduceLROnPlateau(
        monitor="val_loss" if schedule.monitor == "val_loss" else "loss",
        factor=schedule.factor,
        patience=schedule.patience,
        min_delta=schedule.min_delta,
        min_lr=schedule.min_lr,
        verbose=0,
    )
