"""The schedule table: one row per learning-rate schedule (conf/schedule/<name>.yaml) with how
each framework builds it. A framework without a builder does not offer the schedule, so the
table also answers "is schedule X available for Keras / scikit-learn / the NumPy reference".

Keras builders return a float or a keras.optimizers.schedules object stepped once per optimizer
update (settings in epochs become steps); scikit-learn's are MLPClassifier arguments; NumPy's are
a float or a function of the step for ``optbench.optim.reference``."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from optbench.errors import OptbenchError

LrSchedule = Callable[[int], float]  # step index (0-based, as Keras's iterations) -> lr
Steps = Callable[[float], int]  # epochs -> optimizer steps (at least 1)


def cosine_decay(initial_lr: float, decay_steps: int, alpha: float = 0.0) -> LrSchedule:
    """lr_t = lr_0 ((1 - alpha) (1 + cos(pi min(t, T) / T)) / 2 + alpha): never negative."""

    def lr(t: int) -> float:
        progress = min(t, decay_steps) / decay_steps
        return initial_lr * ((1 - alpha) * 0.5 * (1 + math.cos(math.pi * progress)) + alpha)

    return lr


# -- Keras builders: (schedule config, lr, total steps, epochs -> steps) -> lr or schedule
def _keras_constant(schedule: Any, lr: float, total_steps: int, steps: Steps) -> Any:
    return lr  # reduce_on_plateau too: its callback changes the rate (plateau_callback)


def _keras_cosine(schedule: Any, lr: float, total_steps: int, steps: Steps) -> Any:
    from keras.optimizers import schedules

    return schedules.CosineDecay(lr, schedule.decay_steps or total_steps, schedule.alpha)


def _keras_warmup_cosine(schedule: Any, lr: float, total_steps: int, steps: Steps) -> Any:
    from keras.optimizers import schedules

    warmup = min(steps(schedule.warmup_epochs), total_steps - 1)
    return schedules.CosineDecay(
        lr * schedule.warmup_start,
        decay_steps=max(1, total_steps - warmup),
        alpha=schedule.alpha,
        warmup_target=lr,
        warmup_steps=warmup,
    )


def _keras_one_cycle(schedule: Any, lr: float, total_steps: int, steps: Steps) -> Any:
    from keras.optimizers import schedules

    warmup = min(max(1, round(schedule.pct_start * total_steps)), total_steps - 1)
    return schedules.CosineDecay(
        lr / schedule.div_factor,
        decay_steps=max(1, total_steps - warmup),
        alpha=1 / (schedule.div_factor * schedule.final_div_factor),  # of the peak lr
        warmup_target=lr,
        warmup_steps=warmup,
    )


def _keras_step(schedule: Any, lr: float, total_steps: int, steps: Steps) -> Any:
    from keras.optimizers import schedules

    # PiecewiseConstantDecay keeps value i while step <= boundary i; the step after epoch b
    # (iterations = b * steps_per_epoch) must already use the lower rate
    boundaries = [steps(b) - 1 for b in schedule.boundaries]
    values = [lr * schedule.factor**i for i in range(len(boundaries) + 1)]
    return schedules.PiecewiseConstantDecay(boundaries, values)


def _keras_exponential(schedule: Any, lr: float, total_steps: int, steps: Steps) -> Any:
    from keras.optimizers import schedules

    return schedules.ExponentialDecay(
        lr, steps(schedule.decay_epochs), schedule.decay_rate, staircase=schedule.staircase
    )


def _keras_cosine_restarts(schedule: Any, lr: float, total_steps: int, steps: Steps) -> Any:
    from keras.optimizers import schedules

    return schedules.CosineDecayRestarts(
        lr,
        steps(schedule.first_decay_epochs),
        t_mul=schedule.t_mul,
        m_mul=schedule.m_mul,
        alpha=schedule.alpha,
    )


# -- scikit-learn (MLPClassifier's own schedules, for its 'sgd' solver) and NumPy builders
def _sklearn_constant(schedule: Any) -> dict[str, Any]:
    return {}  # the estimator's default, learning_rate='constant'


def _sklearn_invscaling(schedule: Any) -> dict[str, Any]:
    return {"learning_rate": "invscaling", "power_t": schedule.power_t}


def _sklearn_adaptive(schedule: Any) -> dict[str, Any]:
    return {"learning_rate": "adaptive"}


def _numpy_constant(schedule: Any, lr: float, total_steps: int) -> float | LrSchedule:
    return lr


def _numpy_cosine(schedule: Any, lr: float, total_steps: int) -> float | LrSchedule:
    return cosine_decay(lr, schedule.decay_steps or total_steps, schedule.alpha)


@dataclass(frozen=True)
class Schedule:
    """How each framework builds one schedule; None: that framework does not offer it."""

    keras: Callable[[Any, float, int, Steps], Any] | None = None
    sklearn: Callable[[Any], dict[str, Any]] | None = None
    numpy: Callable[[Any, float, int], float | LrSchedule] | None = None


SCHEDULES: dict[str, Schedule] = {
    "constant": Schedule(_keras_constant, _sklearn_constant, _numpy_constant),
    "cosine": Schedule(_keras_cosine, numpy=_numpy_cosine),
    "warmup_cosine": Schedule(_keras_warmup_cosine),
    "step": Schedule(_keras_step),
    "exponential": Schedule(_keras_exponential),
    "cosine_restarts": Schedule(_keras_cosine_restarts),
    "one_cycle": Schedule(_keras_one_cycle),
    "reduce_on_plateau": Schedule(_keras_constant),  # + plateau_callback
    "invscaling": Schedule(sklearn=_sklearn_invscaling),
    "adaptive": Schedule(sklearn=_sklearn_adaptive),
}
KERAS_SCHEDULES = tuple(name for name, row in SCHEDULES.items() if row.keras)
SKLEARN_SCHEDULES = tuple(name for name, row in SCHEDULES.items() if row.sklearn)
NUMPY_SCHEDULES = tuple(name for name, row in SCHEDULES.items() if row.numpy)


def require_keras_schedule(schedule: Any) -> None:
    """A clear error for a schedule Keras optimizers cannot follow (scikit-learn's own)."""
    if schedule.name not in KERAS_SCHEDULES:
        raise OptbenchError(
            f"schedule={schedule.name} is not available for Keras optimizers; use one of: "
            f"{', '.join(KERAS_SCHEDULES)}."
        )


def build_schedule(schedule: Any, lr: float, total_steps: int, steps_per_epoch: int = 1) -> Any:
    """A float or a keras.optimizers.schedules object, stepped once per optimizer update.
    Schedule settings in epochs become steps with ``steps_per_epoch``."""
    require_keras_schedule(schedule)

    def steps(epochs: float) -> int:
        return max(1, round(epochs * steps_per_epoch))

    return SCHEDULES[schedule.name].keras(schedule, lr, total_steps, steps)


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
    )  # verbose: Keras's default, 0
