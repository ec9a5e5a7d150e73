"""Schemas of the schedule group (conf/schedule/): each learning-rate schedule's settings,
with its formula in the docstring (epochs where the YAML speaks in epochs)."""

from __future__ import annotations

from dataclasses import dataclass

from omegaconf import MISSING

from optbench.constraints import (
    FRACTION,
    EachOf,
    Interval,
    OneOf,
    constrained,
    non_negative,
    positive,
    positive_int,
)
from optbench.errors import OptbenchError


@dataclass
class ScheduleConfig:
    name: str = MISSING


@dataclass
class CosineConfig(ScheduleConfig):
    """lr_t = lr (alpha + (1 - alpha)(1 + cos(pi min(t, T) / T)) / 2), as Keras's CosineDecay."""

    alpha: float = constrained(0.0, Interval(0, 1))  # final lr as a fraction of the initial
    decay_steps: int | None = positive_int(None, nullable=True)  # T; null: the whole run


@dataclass
class WarmupCosineConfig(ScheduleConfig):
    """Linear warm-up from warmup_start * lr to lr over warmup_epochs, then cosine to alpha * lr."""

    warmup_epochs: float = non_negative(1.0)
    warmup_start: float = constrained(0.0, Interval(0, 1))
    alpha: float = constrained(0.0, Interval(0, 1))


@dataclass
class StepConfig(ScheduleConfig):
    """Piecewise constant: lr * factor**i after the i-th boundary (in epochs)."""

    boundaries: list[int] = constrained([10, 20], EachOf(Interval(1, None, integer=True)))
    factor: float = constrained(0.1, Interval(0, 1, "neither"))

    def check(self) -> None:
        if list(self.boundaries) != sorted(set(self.boundaries)):
            raise OptbenchError(
                f"schedule.boundaries={list(self.boundaries)} is not allowed: must be "
                "strictly increasing epochs."
            )


@dataclass
class ExponentialConfig(ScheduleConfig):
    """lr * decay_rate ** (epoch / decay_epochs), per step (or per decay_epochs if staircase)."""

    decay_rate: float = constrained(0.9, Interval(0, 1, "right"))
    decay_epochs: float = positive(1.0)
    staircase: bool = False


@dataclass
class CosineRestartsConfig(ScheduleConfig):
    """SGDR: cosine cycles, the first first_decay_epochs long, each t_mul times longer and
    starting m_mul times lower."""

    first_decay_epochs: float = positive(2.0)
    t_mul: float = positive(2.0)
    m_mul: float = constrained(1.0, Interval(0, 1, "right"))
    alpha: float = constrained(0.0, Interval(0, 1))


@dataclass
class OneCycleConfig(ScheduleConfig):
    """One cycle (Smith): from lr / div_factor up to lr over pct_start of the run, then cosine
    down to lr / (div_factor * final_div_factor)."""

    pct_start: float = constrained(0.3, FRACTION)
    div_factor: float = constrained(25.0, Interval(1, None))
    final_div_factor: float = constrained(1e4, Interval(1, None))


@dataclass
class ReduceOnPlateauConfig(ScheduleConfig):
    """Keras's ReduceLROnPlateau: lr *= factor when monitor stalls for patience epochs."""

    monitor: str = constrained("val_loss", OneOf(("val_loss", "train_loss")))
    factor: float = constrained(0.5, Interval(0, 1, "neither"))
    patience: int = positive_int(2)
    min_delta: float = non_negative(1e-4)
    min_lr: float = non_negative(1e-6)


@dataclass
class InvScalingConfig(ScheduleConfig):
    power_t: float = positive(0.5)  # lr_t = lr / t**power_t


SCHEMAS: dict[str, type] = {
    "constant": ScheduleConfig,
    "cosine": CosineConfig,
    "warmup_cosine": WarmupCosineConfig,
    "step": StepConfig,
    "exponential": ExponentialConfig,
    "cosine_restarts": CosineRestartsConfig,
    "one_cycle": OneCycleConfig,
    "reduce_on_plateau": ReduceOnPlateauConfig,
    "invscaling": InvScalingConfig,
}
