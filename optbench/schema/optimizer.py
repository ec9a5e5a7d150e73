"""Schemas of the optimizer group (conf/optimizer/): scikit-learn's own solvers, and the
gradient optimizers with Keras's argument names (lr, clipping, EMA shared by all)."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

from omegaconf import MISSING

from optbench.constraints import (
    Interval,
    OneOf,
    constrained,
    non_negative,
    positive,
    positive_int,
)
from optbench.errors import OptbenchError


@dataclass
class OptimizerConfig:
    name: str = MISSING


@dataclass
class SolverConfig(OptimizerConfig):
    """scikit-learn's own solvers (saga, sag, lbfgs): they choose their step size themselves."""


BETA = Interval(0, 1, "left")
CLIPS = ("clipnorm", "clipvalue", "global_clipnorm")


@dataclass
class GradientConfig(OptimizerConfig):
    """What every gradient optimizer shares (Keras's names). ``lr`` in the YAML files defaults
    to the dataset's recommended rate for that optimizer when it declares one."""

    lr: float = positive(0.01)
    weight_decay: float | None = non_negative(None, nullable=True)  # decoupled, Keras-style
    clipnorm: float | None = positive(None, nullable=True)  # per variable
    clipvalue: float | None = positive(None, nullable=True)  # per element
    global_clipnorm: float | None = positive(None, nullable=True)  # over all variables
    use_ema: bool = False  # evaluate with an exponential moving average of the weights
    ema_momentum: float = constrained(0.99, BETA)

    def check(self) -> None:
        clips = [k for k in CLIPS if getattr(self, k) is not None]
        if len(clips) > 1:
            raise OptbenchError(
                f"optimizer.{clips[0]} and optimizer.{clips[1]} are both set; Keras accepts "
                f"only one of {', '.join(CLIPS)}."
            )


@dataclass
class SgdConfig(GradientConfig):
    momentum: float = constrained(0.0, BETA)
    nesterov: bool = False

    def check(self) -> None:
        super().check()
        if self.nesterov and self.momentum == 0:
            raise OptbenchError("optimizer.nesterov=true needs optimizer.momentum > 0 (got 0.0).")


@dataclass
class AdagradConfig(GradientConfig):
    initial_accumulator_value: float = non_negative(0.1)
    epsilon: float = positive(1e-7)


@dataclass
class RmspropConfig(GradientConfig):
    rho: float = constrained(0.9, BETA)
    momentum: float = constrained(0.0, BETA)
    epsilon: float = positive(1e-7)
    centered: bool = False


@dataclass
class MomentsConfig(GradientConfig):
    """Adam's family (nadam, adamax, lamb, schedule_free_adamw)."""

    beta_1: float = constrained(0.9, BETA)
    beta_2: float = constrained(0.999, BETA)
    epsilon: float = positive(1e-7)


@dataclass
class AdamConfig(MomentsConfig):
    amsgrad: bool = False


@dataclass
class ScheduleFreeConfig(MomentsConfig):
    epsilon: float = positive(1e-8)  # Keras's ScheduleFreeAdamW default
    warmup_steps: int = non_negative(0)


@dataclass
class LionConfig(GradientConfig):
    beta_1: float = constrained(0.9, BETA)
    beta_2: float = constrained(0.99, BETA)


@dataclass
class AdafactorConfig(GradientConfig):
    beta_2_decay: float = -0.8
    # Keras uses 1e-30, which underflows in float32 (NaN) when a weight row never gets a
    # gradient (constant-zero pixels)
    epsilon_1: float = positive(1e-15)
    epsilon_2: float = positive(1e-3)
    clip_threshold: float = positive(1.0)
    relative_step: bool = True


@dataclass
class MuonConfig(GradientConfig):
    """Muon: orthogonalised momentum for 2-D weights, AdamW for the rest (Keras's Muon)."""

    weight_decay: float | None = non_negative(0.004, nullable=True)  # Keras's Muon default
    momentum: float = constrained(0.95, BETA)
    nesterov: bool = True
    ns_steps: int = positive_int(5)  # Newton-Schulz iterations
    adam_beta_1: float = constrained(0.9, BETA)
    adam_beta_2: float = constrained(0.999, BETA)
    adam_weight_decay: float = non_negative(0.004)
    adam_lr_ratio: float = positive(1.0)
    epsilon: float = positive(1e-7)


SAM_BASES = ("sgd", "momentum", "nesterov", "adam", "adamw", "rmsprop")


@dataclass
class SamConfig(GradientConfig):
    """Sharpness-Aware Minimization around a base optimizer (two gradients per step)."""

    base: str = constrained("sgd", OneOf(SAM_BASES))
    rho: float = positive(0.05)  # radius of the ascent step
    adaptive: bool = False  # ASAM: scale the ascent by |w|


@dataclass
class CustomConfig(GradientConfig):
    """Your own optimizer class (optbench/optim/custom.py). Its YAML has no schema, so that any
    key can go under ``optimizer.``: those that are not a shared setting end up in ``kwargs``,
    the class's constructor keywords."""

    target: str = MISSING  # package.module:ClassName
    kwargs: dict[str, Any] = field(default_factory=dict)


def custom_config(node: dict[str, Any]) -> CustomConfig:
    """The CustomConfig for a schema-less optimizer config (conf/optimizer/custom.yaml or a
    user's own YAML with ``name: custom``)."""
    if node.get("name") != "custom" or not node.get("target"):
        raise OptbenchError(
            f"optimizer.name={node.get('name')!r}: an optimizer config without a schema must "
            "be name: custom with a target (package.module:ClassName); see conf/optimizer/custom.yaml."
        )
    known = {f.name for f in fields(CustomConfig)} - {"kwargs"}
    settings = {k: v for k, v in node.items() if k in known}
    return CustomConfig(**settings, kwargs={k: v for k, v in node.items() if k not in known})


SCHEMAS: dict[str, type] = {
    "solver": SolverConfig,
    "sgd": SgdConfig,
    "adagrad": AdagradConfig,
    "rmsprop": RmspropConfig,
    "moments": MomentsConfig,
    "adam": AdamConfig,
    "schedule_free": ScheduleFreeConfig,
    "lion": LionConfig,
    "adafactor": AdafactorConfig,
    "muon": MuonConfig,
    "sam": SamConfig,
}
