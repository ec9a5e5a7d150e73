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


def build_schedule(schedule: Any, lr: float, total_steps: int) -> Any:
    """A float (constant) or a keras.optimizers.schedules object, stepped once per update."""
    import keras

    if schedule.name == "constant":
        return lr
    if schedule.name == "cosine":
        return keras.optimizers.schedules.CosineDecay(
            lr, decay_steps=schedule.decay_steps or total_steps, alpha=schedule.alpha
        )
    raise OptbenchError(
        f"schedule={schedule.name} is not available for Keras optimizers; use one of: "
        "constant, cosine."
    )
