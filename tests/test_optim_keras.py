"""The Keras builders: which keras.optimizers class each optimizer config becomes and with
exactly which arguments, SAM's base included (optbench.optim.keras and the registry rows it
reads), the refusals, and the settings and clamps the Keras schedule builders
(optbench.optim.schedules) use for very short runs. (The schedules' values step by step are
checked against their formulas in tests/test_optim_schedules.py.)"""

from __future__ import annotations

import keras  # a hard dependency (TensorFlow): a broken install fails here, never skips
import pytest

from optbench.errors import OptbenchError
from optbench.optim.keras import KERAS_CLASSES, build_optimizer, keras_class, optimizer_kwargs
from optbench.optim.schedules import build_schedule, plateau_callback, require_keras_schedule
from optbench.schema import ScheduleConfig, validate
from tests.conftest import compose_cfg

SHARED = {
    "clipnorm": None,
    "clipvalue": None,
    "global_clipnorm": None,
    "use_ema": False,
    "ema_momentum": 0.99,
}


def optimizer(name: str, *overrides: str):
    return validate(compose_cfg("model=mlp", f"optimizer={name}", *overrides)).optimizer


def schedule(name: str, *overrides: str):
    return validate(compose_cfg("model=mlp", f"schedule={name}", *overrides)).schedule


def test_kwargs_are_the_configs_fields_without_name_and_lr():
    assert optimizer_kwargs(optimizer("momentum")) == {
        **SHARED,
        "momentum": 0.9,
        "nesterov": False,
    }
    adam = optimizer("adam", "optimizer.weight_decay=0.01", "optimizer.clipnorm=1.5")
    assert optimizer_kwargs(adam) == {
        **SHARED,
        "weight_decay": 0.01,
        "clipnorm": 1.5,
        "beta_1": 0.9,
        "beta_2": 0.999,
        "epsilon": 1e-7,
        "amsgrad": False,
    }


def test_an_unset_weight_decay_leaves_keras_its_own_default():
    kwargs = optimizer_kwargs(optimizer("adamw", "optimizer.weight_decay=null"))
    assert "weight_decay" not in kwargs
    built = build_optimizer(optimizer("adamw", "optimizer.weight_decay=null"), 0.01)
    assert built.weight_decay == pytest.approx(0.004)  # Keras's AdamW default


@pytest.mark.parametrize(
    ("base", "extra"),
    [
        ("sgd", {}),
        ("momentum", {"momentum": 0.9}),
        ("nesterov", {"momentum": 0.9, "nesterov": True}),
        ("adam", {}),
    ],
)
def test_sam_passes_the_shared_fields_and_its_bases_defaults(base, extra):
    sam = optimizer("sam", f"optimizer.base={base}", "optimizer.clipvalue=0.5")
    assert optimizer_kwargs(sam) == {**SHARED, "clipvalue": 0.5, **extra}
    decayed = optimizer("sam", f"optimizer.base={base}", "optimizer.weight_decay=0.02")
    assert optimizer_kwargs(decayed)["weight_decay"] == 0.02


@pytest.mark.parametrize("name", sorted(n for n in KERAS_CLASSES if n != "custom"))
def test_every_optimizer_builds_its_keras_class_with_its_arguments(name):
    opt = optimizer(name)
    built = build_optimizer(opt, 0.0625)  # exact in float32
    assert type(built) is keras_class(KERAS_CLASSES[name])
    assert isinstance(built, keras.optimizers.Optimizer)
    config = built.get_config()
    assert config["learning_rate"] == 0.0625
    for key, value in optimizer_kwargs(opt).items():
        assert config[key] == pytest.approx(value), key


def test_the_table_maps_the_sgd_family_to_sgd():
    assert {k: v for k, v in KERAS_CLASSES.items() if v == "SGD"} == {
        "sgd": "SGD",
        "momentum": "SGD",
        "nesterov": "SGD",
    }
    nesterov = build_optimizer(optimizer("nesterov"), 0.01)
    assert nesterov.nesterov and nesterov.momentum == 0.9


def test_sam_builds_its_base_optimizer():
    built = build_optimizer(optimizer("sam", "optimizer.base=nesterov"), 0.5)
    assert type(built) is keras.optimizers.SGD
    assert built.get_config()["momentum"] == 0.9 and built.get_config()["nesterov"]
    adamw = build_optimizer(optimizer("sam", "optimizer.base=adamw"), 0.5)
    assert type(adamw) is keras.optimizers.AdamW


def test_an_optimizer_without_a_keras_class_is_refused_with_the_list():
    with pytest.raises(OptbenchError) as info:
        build_optimizer(optimizer("saga"), 0.1)
    assert str(info.value) == (
        "optimizer=saga has no Keras implementation; available: adafactor, adagrad, adam, "
        "adamax, adamw, custom, lamb, lion, momentum, muon, nadam, nesterov, rmsprop, "
        "schedule_free_adamw, sgd, sam."
    )


def test_learning_rate_can_be_a_schedule_object():
    lr = keras.optimizers.schedules.ExponentialDecay(0.1, 10, 0.5)
    assert build_optimizer(optimizer("adam"), lr).get_config()["learning_rate"]["class_name"] == (
        "ExponentialDecay"
    )


@pytest.mark.parametrize("name", ["invscaling", "adaptive"])
def test_scikit_learn_schedules_are_refused_for_keras(name):
    message = (
        f"schedule={name} is not available for Keras optimizers; use one of: constant, cosine, "
        "warmup_cosine, step, exponential, cosine_restarts, one_cycle, reduce_on_plateau."
    )
    with pytest.raises(OptbenchError) as info:
        require_keras_schedule(ScheduleConfig(name=name))
    assert str(info.value) == message
    with pytest.raises(OptbenchError):
        build_schedule(ScheduleConfig(name=name), 0.1, 100, 10)
    require_keras_schedule(ScheduleConfig(name="cosine"))  # no error


def config_of(s) -> dict:
    return s.get_config()


def test_constant_and_plateau_schedules_are_the_plain_rate():
    assert build_schedule(schedule("constant"), 0.25, 100, 10) == 0.25
    assert build_schedule(schedule("reduce_on_plateau"), 0.25, 100, 10) == 0.25
    assert plateau_callback(schedule("cosine")) is None


def test_plateau_callback_settings():
    cb = plateau_callback(
        schedule(
            "reduce_on_plateau",
            "schedule.factor=0.25",
            "schedule.patience=3",
            "schedule.min_delta=0.01",
            "schedule.min_lr=0.001",
        )
    )
    assert (cb.monitor, cb.factor, cb.patience, cb.min_delta, cb.min_lr) == (
        "val_loss",
        0.25,
        3,
        0.01,
        0.001,
    )
    assert cb.verbose == 0
    assert plateau_callback(
        schedule("reduce_on_plateau", "schedule.monitor=train_loss")
    ).monitor == ("loss")


def test_cosine_decays_over_the_run_unless_told_otherwise():
    whole = config_of(build_schedule(schedule("cosine", "schedule.alpha=0.3"), 0.5, 120, 12))
    assert (whole["initial_learning_rate"], whole["decay_steps"], whole["alpha"]) == (0.5, 120, 0.3)
    assert whole["warmup_steps"] == 0
    fixed = config_of(build_schedule(schedule("cosine", "schedule.decay_steps=7"), 0.5, 120, 12))
    assert fixed["decay_steps"] == 7


def test_warmup_cosine_in_steps_from_epochs():
    s = config_of(
        build_schedule(
            schedule("warmup_cosine", "schedule.warmup_epochs=1.5", "schedule.warmup_start=0.2"),
            0.5,
            100,
            10,
        )
    )
    assert s["initial_learning_rate"] == pytest.approx(0.1)  # 0.2 * lr
    assert (s["warmup_steps"], s["decay_steps"], s["warmup_target"]) == (15, 85, 0.5)


def test_a_warm_up_longer_than_the_run_leaves_one_decay_step():
    s = config_of(
        build_schedule(schedule("warmup_cosine", "schedule.warmup_epochs=50"), 1.0, 30, 1)
    )
    assert (s["warmup_steps"], s["decay_steps"]) == (29, 1)
    tiny = config_of(
        build_schedule(schedule("warmup_cosine", "schedule.warmup_epochs=0.01"), 1.0, 30, 10)
    )
    assert tiny["warmup_steps"] == 1  # 0.1 step rounds to 0: at least one step


def test_one_cycle_warm_up_is_at_least_one_step_and_leaves_one():
    short = config_of(build_schedule(schedule("one_cycle", "schedule.pct_start=0.01"), 1.0, 10, 1))
    assert (short["warmup_steps"], short["decay_steps"]) == (1, 9)
    long = config_of(build_schedule(schedule("one_cycle", "schedule.pct_start=0.99"), 1.0, 10, 1))
    assert (long["warmup_steps"], long["decay_steps"]) == (9, 1)
    s = config_of(
        build_schedule(
            schedule("one_cycle", "schedule.div_factor=4", "schedule.final_div_factor=5"),
            1.0,
            10,
            1,
        )
    )
    assert s["initial_learning_rate"] == 0.25 and s["alpha"] == pytest.approx(1 / 20)
    assert (s["warmup_steps"], s["warmup_target"]) == (3, 1.0)


def test_step_boundaries_and_values():
    s = config_of(
        build_schedule(
            schedule("step", "schedule.boundaries=[1,3,4]", "schedule.factor=0.5"), 1.0, 100, 10
        )
    )
    assert s["boundaries"] == [9, 29, 39]  # the last step of epochs 1, 3, 4
    assert s["values"] == [1.0, 0.5, 0.25, 0.125]


def test_one_step_per_epoch_by_default():
    """model=landscape builds its schedule without steps_per_epoch: an epoch is one step."""
    s = config_of(build_schedule(schedule("step", "schedule.boundaries=[3,5]"), 1.0, 10))
    assert s["boundaries"] == [2, 4]
    e = config_of(build_schedule(schedule("exponential", "schedule.decay_epochs=4"), 1.0, 10))
    assert e["decay_steps"] == 4


def test_exponential_and_restarts_in_steps_from_epochs():
    e = config_of(
        build_schedule(
            schedule("exponential", "schedule.decay_epochs=0.04", "schedule.staircase=true"),
            0.5,
            100,
            10,
        )
    )
    assert (e["decay_steps"], e["decay_rate"], e["staircase"]) == (1, 0.9, True)  # >= 1 step
    r = config_of(
        build_schedule(
            schedule(
                "cosine_restarts",
                "schedule.first_decay_epochs=1.5",
                "schedule.t_mul=3",
                "schedule.m_mul=0.5",
                "schedule.alpha=0.1",
            ),
            0.5,
            100,
            10,
        )
    )
    assert (r["first_decay_steps"], r["t_mul"], r["m_mul"], r["alpha"]) == (15, 3.0, 0.5, 0.1)


def test_a_custom_optimizer_is_built_with_the_rate_and_its_own_settings(monkeypatch):
    """optimizer=custom: the user's class, given the run's learning rate (a schedule object
    too) and every setting of its config, as its own keyword arguments."""
    from pathlib import Path

    monkeypatch.syspath_prepend(str(Path(__file__).parent / "custom_optimizers"))
    cfg = compose_cfg(
        "model=mlp",
        "optimizer=custom",
        "optimizer.target=sign_descent:SignDescent",
        "+optimizer.beta=0.5",
    )
    settings = validate(cfg)
    built = build_optimizer(settings.optimizer, 0.0375)
    assert type(built).__name__ == "SignDescent" and type(built).__module__ == "sign_descent"
    assert float(built.learning_rate) == pytest.approx(0.0375)
    assert built.beta == 0.5
    decay = keras.optimizers.schedules.ExponentialDecay(0.1, 10, 0.5)
    assert build_optimizer(settings.optimizer, decay)._learning_rate is decay
