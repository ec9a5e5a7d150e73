"""Optimizer configs -> keras.optimizers objects, by the registry's rows.

Config fields carry Keras's own keyword names (``lr`` aside), so building an optimizer is the
row's class plus the config's fields; nothing here re-implements an update rule (a row may name
optbench's subclass of a Keras class instead: optbench/optim/schedule_free.py). A wrapper row
(SAM) builds its base optimizer: the row's own step lives in the model's train step."""

from __future__ import annotations

import dataclasses
import pkgutil
from typing import Any

from optbench.optim.registry import KERAS_CLASSES, TARGET, optimizer_row
from optbench.optim.rules import require_keras_optimizer
from optbench.schema.optimizer import GradientConfig

# what every gradient optimizer takes, so what a wrapper passes on to its base
SHARED_FIELDS = tuple(
    f.name for f in dataclasses.fields(GradientConfig) if f.name not in ("name", "lr")
)


def optimizer_kwargs(opt: Any) -> dict[str, Any]:
    """Keras keyword arguments for ``opt`` (without the learning rate)."""
    row = optimizer_row(opt.name)
    if row.wraps:  # the base's preset (momentum=0.9 for base=momentum), then the shared fields
        base = optimizer_row(getattr(opt, row.wraps))
        kwargs = {**base.preset, **{k: getattr(opt, k) for k in SHARED_FIELDS}}
    else:
        skip = ("name", "lr")
        kwargs = {
            f.name: getattr(opt, f.name) for f in dataclasses.fields(opt) if f.name not in skip
        }
    # weight_decay=None is left out, to keep Keras's own default (AdamW: 0.004)
    return {k: v for k, v in kwargs.items() if v is not None or k != "weight_decay"}


def keras_class(name: str) -> type:
    """A registry row's ``keras`` class: "module:Class" imported, else keras.optimizers.<name>."""
    import keras

    if ":" in name:
        return pkgutil.resolve_name(name)
    return getattr(keras.optimizers, name)


def build_optimizer(opt: Any, learning_rate: Any) -> Any:
    """The keras.optimizers instance for ``opt``; for a wrapper (SAM), its base optimizer."""
    require_keras_optimizer(opt)
    row = optimizer_row(opt.name)
    if row.keras == TARGET:  # optimizer=custom: the user's class
        from optbench.optim.custom import constructor_kwargs, resolve

        return resolve(opt, "keras").cls(learning_rate=learning_rate, **constructor_kwargs(opt))
    name = getattr(opt, row.wraps) if row.wraps else opt.name
    cls = keras_class(KERAS_CLASSES[name])
    return cls(learning_rate=learning_rate, **optimizer_kwargs(opt))
