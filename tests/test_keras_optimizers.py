"""Every optimizer of the zoo on Keras: the class and settings built per name, one epoch on
real digits, gradient clipping checked by hand (SAM's step: tests/test_optim_sam.py)."""

from __future__ import annotations

import math

import keras  # a hard dependency (TensorFlow): a broken install fails here, never skips
import numpy as np
import pytest

from optbench.optim.keras import KERAS_CLASSES, keras_class
from optbench.schema import validate
from tests.conftest import compose_cfg
from tests.keras_support import fit

# every built-in one (optimizer=custom, the user's class: tests/test_custom_optimizer.py)
OPTIMIZERS = [*(name for name in KERAS_CLASSES if name != "custom"), "sam"]


@pytest.mark.parametrize("optimizer", OPTIMIZERS)
def test_every_optimizer_trains_an_epoch_on_real_digits(optimizer):
    result, _, _ = fit(
        "model=mlp", "dataset=digits", f"optimizer={optimizer}", "trainer.max_iter=2"
    )
    first, last = result.history[0], result.history[-1]
    assert not result.diverged
    assert last["val_loss"] < math.log(10), last  # better than chance (10 classes)
    assert last["train_loss"] < first["train_loss"], (first, last)
    expected_evals = 2 if optimizer == "sam" else 1
    assert result.final["gradient_evaluations"] == expected_evals * result.final["optimizer_steps"]
    for key in ("lr", "epoch_time_s", "samples_per_s", "grad_norm", "elapsed_s", "train_accuracy"):
        assert math.isfinite(last[key]) and last[key] >= 0, key
    # the default diagnostics (basic) probe every optimizer, SAM's two-pass step included (at
    # step 0: the default interval is 400 steps, more than these two epochs)
    for key in ("diag_grad_norm", "diag_weight_norm", "diag_update_ratio", "diag_dead_relu"):
        assert math.isfinite(first[key]) and first[key] >= 0, key
    assert 0 < first["diag_update_ratio"] < 1, first["diag_update_ratio"]


# optimizer name -> (the keras.optimizers class, or optbench's "module:Class", overrides,
# attributes the built optimizer must have). Overrides differ from Keras's own defaults, so a
# keyword that is not passed on shows.
BUILT: dict[str, tuple[str, tuple[str, ...], dict]] = {
    "sgd": (
        "SGD",
        ("optimizer.clipnorm=0.5",),
        {"momentum": 0.0, "nesterov": False, "clipnorm": 0.5},
    ),
    "momentum": ("SGD", (), {"momentum": 0.9, "nesterov": False}),
    "nesterov": ("SGD", ("optimizer.momentum=0.8",), {"momentum": 0.8, "nesterov": True}),
    "adagrad": (
        "Adagrad",
        ("optimizer.initial_accumulator_value=0.2",),
        {"initial_accumulator_value": 0.2, "epsilon": 1e-7},
    ),
    "rmsprop": (
        "RMSprop",
        ("optimizer.rho=0.8", "optimizer.momentum=0.5", "optimizer.centered=true"),
        {"rho": 0.8, "momentum": 0.5, "centered": True},
    ),
    "adam": (
        "Adam",
        ("optimizer.beta_1=0.8", "optimizer.amsgrad=true", "optimizer.weight_decay=0.01"),
        {"beta_1": 0.8, "beta_2": 0.999, "amsgrad": True, "weight_decay": 0.01},
    ),
    "adamw": ("AdamW", ("optimizer.beta_2=0.99",), {"weight_decay": 0.004, "beta_2": 0.99}),
    "nadam": ("Nadam", ("optimizer.beta_1=0.8",), {"beta_1": 0.8, "beta_2": 0.999}),
    "adamax": (
        "Adamax",
        ("optimizer.beta_2=0.99", "optimizer.epsilon=1e-6"),
        {"beta_1": 0.9, "beta_2": 0.99, "epsilon": 1e-6},
    ),
    "lamb": ("Lamb", ("optimizer.beta_1=0.8",), {"beta_1": 0.8, "beta_2": 0.999}),
    "lion": ("Lion", ("optimizer.beta_2=0.98",), {"beta_1": 0.9, "beta_2": 0.98}),
    "adafactor": (
        "Adafactor",
        ("optimizer.clip_threshold=0.5",),
        {"epsilon_1": 1e-15, "clip_threshold": 0.5, "relative_step": True},
    ),
    "muon": (
        "Muon",
        ("optimizer.ns_steps=3",),
        {"momentum": 0.95, "nesterov": True, "ns_steps": 3, "adam_weight_decay": 0.004},
    ),
    "schedule_free_adamw": (  # Keras's, its update step fixed
        "optbench.optim.schedule_free:ScheduleFreeAdamW",
        ("optimizer.warmup_steps=10",),
        {"warmup_steps": 10, "epsilon": 1e-8},
    ),
    # SAM: its base optimizer (the ascent step lives in the model's train_step)
    "sam": ("SGD", ("optimizer.use_ema=true",), {"momentum": 0.0, "use_ema": True}),
    "sam-momentum": ("SGD", ("optimizer.base=momentum",), {"momentum": 0.9, "nesterov": False}),
    "sam-nesterov": ("SGD", ("optimizer.base=nesterov",), {"momentum": 0.9, "nesterov": True}),
    "sam-adam": ("Adam", ("optimizer.base=adam",), {"beta_1": 0.9}),
    "sam-adamw": ("AdamW", ("optimizer.base=adamw",), {"weight_decay": 0.004}),
    "sam-rmsprop": ("RMSprop", ("optimizer.base=rmsprop",), {"rho": 0.9}),
}


def test_the_class_table_covers_every_optimizer_and_sam_base():
    from optbench.schema import SAM_BASES

    assert {name.split("-")[0] for name in BUILT} == set(OPTIMIZERS)
    assert {name.split("-")[1] for name in BUILT if "-" in name} == set(SAM_BASES) - {"sgd"}


@pytest.mark.parametrize("name", BUILT)
def test_each_optimizer_builds_its_keras_class_with_its_settings(name):
    from optbench.optim.keras import build_optimizer

    cls, overrides, attributes = BUILT[name]
    settings = validate(compose_cfg("model=mlp", f"optimizer={name.split('-')[0]}", *overrides))
    built = build_optimizer(settings.optimizer, 0.0123)
    assert type(built) is keras_class(cls)
    assert float(built.learning_rate) == pytest.approx(0.0123)
    for key, value in attributes.items():
        got = getattr(built, key)
        assert got == (pytest.approx(value) if isinstance(value, float) else value), key


@pytest.mark.parametrize(
    ("clip", "check"),
    [
        ("clipnorm", lambda d, c: np.linalg.norm(d[0]) <= c * (1 + 1e-6)),
        (
            "global_clipnorm",
            lambda d, c: math.hypot(*(np.linalg.norm(x) for x in d)) <= c * (1 + 1e-6),
        ),
        ("clipvalue", lambda d, c: max(np.abs(x).max() for x in d) <= c * (1 + 1e-6)),
    ],
)
def test_gradient_clipping_bounds_the_applied_gradient(clip, check):
    """SGD with lr 1: the weight change is the (clipped) gradient itself."""
    from optbench.optim.keras import build_optimizer

    settings = validate(compose_cfg("model=mlp", "optimizer=sgd", f"optimizer.{clip}=0.5"))
    optimizer = build_optimizer(settings.optimizer, 1.0)
    variables = [
        keras.Variable(np.zeros((4, 3)), dtype="float32"),
        keras.Variable(np.zeros(3), dtype="float32"),
    ]
    grads = [np.full((4, 3), 10.0, "float32"), np.full(3, -7.0, "float32")]
    optimizer.apply(grads, variables)
    deltas = [-np.asarray(v.numpy()) for v in variables]
    assert check(deltas, 0.5)
    assert np.linalg.norm(deltas[0]) > 0.1  # clipped, not zeroed
