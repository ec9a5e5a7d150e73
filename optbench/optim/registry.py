"""The optimizer registry: one row per optimizer (conf/optimizer/<name>.yaml) with its config
schema and what each framework makes of it. Whatever asks "what is optimizer X" reads the row:
the Keras builder (keras.py), scikit-learn's mapping (sklearn.py), the NumPy reference
(reference.py) and the compatibility rules (rules.py). Adding an optimizer is its YAML plus a
row here; tests/test_optim_registry.py checks that the two agree."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from optbench.errors import OptbenchError
from optbench.optim import sam
from optbench.schema.optimizer import (
    AdafactorConfig,
    AdagradConfig,
    AdamConfig,
    CustomConfig,
    LionConfig,
    MomentsConfig,
    MuonConfig,
    RmspropConfig,
    SamConfig,
    ScheduleFreeConfig,
    SgdConfig,
    SolverConfig,
)


@dataclass(frozen=True)
class SklearnMapping:
    """A scikit-learn solver, and which config fields become which estimator arguments."""

    solver: str
    arguments: Mapping[str, str] = field(default_factory=dict)  # config field -> estimator arg

    def kwargs(self, opt: Any) -> dict[str, Any]:
        return {"solver": self.solver, **{a: getattr(opt, f) for f, a in self.arguments.items()}}


SKLEARN_LR = {"lr": "learning_rate_init"}
SKLEARN_SGD = SklearnMapping(
    "sgd", {**SKLEARN_LR, "momentum": "momentum", "nesterov": "nesterovs_momentum"}
)
SKLEARN_ADAM = SklearnMapping(
    "adam", {**SKLEARN_LR, "beta_1": "beta_1", "beta_2": "beta_2", "epsilon": "epsilon"}
)


TARGET = "optimizer.target"  # a row whose class the config names (optimizer=custom)


@dataclass(frozen=True)
class Optimizer:
    """One optimizer name: its schema, its builders per framework (None: not available there)
    and what it needs."""

    name: str
    schema: type  # its dataclass in optbench/schema/optimizer.py (what its YAML extends)
    # the Keras class: a keras.optimizers name ("Adam"), or "module:Class" for one of optbench's
    # (a subclass fixing Keras's); optbench/optim/keras.py keras_class imports it
    keras: str | None = None
    sklearn: SklearnMapping | None = None  # which models take it: models/registry.py rows
    reference: str | None = None  # the NumPy rule class in optbench/optim/reference.py
    # the settings that make this name a variant of its class (its YAML sets them too); they
    # come along when it is another optimizer's base (SAM's) or a bare reference rule
    preset: Mapping[str, Any] = field(default_factory=dict)
    momentum_key: str | None = None  # its momentum knob (hparams_search=lr_momentum tunes it)
    gradient_evaluations: int = 1  # per optimizer step
    wraps: str | None = None  # config key naming the base optimizer that applies its steps
    # the Keras model's train-step settings (TrainStepModel keywords) for an optimizer whose
    # step is more than "gradient, then apply" (SAM's two passes)
    train_step: Callable[[Any], dict[str, Any]] | None = None

    @property
    def needs_lr(self) -> bool:
        """False for scikit-learn's own solvers: they choose their step size themselves."""
        return "lr" in {f.name for f in dataclasses.fields(self.schema)}


def _sgd_family(name: str, **preset: Any) -> Optimizer:
    return Optimizer(
        name,
        SgdConfig,
        keras="SGD",
        sklearn=SKLEARN_SGD,
        reference="SGD",
        preset=preset,
        momentum_key="momentum",
    )


def _solver(name: str) -> Optimizer:
    return Optimizer(name, SolverConfig, sklearn=SklearnMapping(name))


# in this order in messages that list optimizers
OPTIMIZERS: dict[str, Optimizer] = {
    row.name: row
    for row in (
        _sgd_family("sgd"),
        _sgd_family("momentum", momentum=0.9),
        _sgd_family("nesterov", momentum=0.9, nesterov=True),
        Optimizer("adagrad", AdagradConfig, keras="Adagrad", reference="Adagrad"),
        Optimizer(
            "rmsprop", RmspropConfig, keras="RMSprop", reference="RMSprop", momentum_key="momentum"
        ),
        Optimizer(
            "adam",
            AdamConfig,
            keras="Adam",
            sklearn=SKLEARN_ADAM,
            reference="Adam",
            momentum_key="beta_1",
        ),
        # AdamW: Adam's rule + the decoupled weight decay every reference optimizer applies
        Optimizer("adamw", AdamConfig, keras="AdamW", reference="Adam", momentum_key="beta_1"),
        Optimizer("nadam", MomentsConfig, keras="Nadam", reference="Nadam", momentum_key="beta_1"),
        Optimizer("lion", LionConfig, keras="Lion", reference="Lion", momentum_key="beta_1"),
        Optimizer("lamb", MomentsConfig, keras="Lamb", reference="Lamb", momentum_key="beta_1"),
        Optimizer("adamax", MomentsConfig, keras="Adamax", momentum_key="beta_1"),
        Optimizer("adafactor", AdafactorConfig, keras="Adafactor"),
        Optimizer("muon", MuonConfig, keras="Muon", momentum_key="momentum"),
        Optimizer(
            "schedule_free_adamw",
            ScheduleFreeConfig,
            keras="optbench.optim.schedule_free:ScheduleFreeAdamW",  # Keras's, fixed
            reference="ScheduleFreeAdamW",
            momentum_key="beta_1",
        ),
        Optimizer(
            "sam",
            SamConfig,
            wraps="base",
            gradient_evaluations=2,
            train_step=sam.step_settings,
        ),
        # your own class, named by optimizer.target (optbench/optim/custom.py)
        Optimizer("custom", CustomConfig, keras=TARGET, reference=TARGET),
        _solver("saga"),
        _solver("sag"),
        _solver("lbfgs"),
    )
}
KERAS_CLASSES = {name: row.keras for name, row in OPTIMIZERS.items() if row.keras}
WRAPPERS = tuple(name for name, row in OPTIMIZERS.items() if row.wraps)


def optimizer_row(name: str) -> Optimizer:
    """The registry row of ``name``, or an error naming the rows there are."""
    try:
        return OPTIMIZERS[name]
    except KeyError:
        raise OptbenchError(
            f"optimizer={name} has no row in the optimizer registry "
            f"(optbench/optim/registry.py); known: {', '.join(OPTIMIZERS)}."
        ) from None
