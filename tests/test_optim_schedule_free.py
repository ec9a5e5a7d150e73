"""optbench/optim/schedule_free.py, optbench's ScheduleFreeAdamW: its update step is the NumPy
rule (optbench.optim.reference.ScheduleFreeAdamW, with warmup and weight decay) step for step
through ``optimizer.apply``; ``averaged_weights`` puts the rule's average x in the variables
for a block and y back after it, only for a schedule-free optimizer that has stepped (also
inside a LossScaleOptimizer, and never for a variable it does not train); ``use_average``
keeps x, once; and the class round-trips through Keras's serialization. The same in a train
step on every backend: tests/test_reference_on_backends.py."""

from __future__ import annotations

import keras
import numpy as np

from optbench.optim import reference
from optbench.optim.schedule_free import ScheduleFreeAdamW, averaged_weights, use_average
from optbench.schema import validate
from tests.conftest import compose_cfg

SETTINGS = {"learning_rate": 0.05, "beta_1": 0.9, "warmup_steps": 2, "weight_decay": 0.01}
CURVATURE = [np.array([[1.0, 4.0], [0.5, 2.0]]), np.array([3.0, 0.25])]  # f = sum a w^2 / 2
START = [np.array([[1.0, -2.0], [0.5, 1.5]]), np.array([-1.0, 2.0])]
STEPS = 5


def gradient(weights: list[np.ndarray]) -> list[np.ndarray]:
    return [a * w for a, w in zip(CURVATURE, weights, strict=True)]


def rule() -> reference.ReferenceOptimizer:
    return reference.ReferenceOptimizer(
        reference.ScheduleFreeAdamW(beta_1=0.9, warmup_steps=2), 0.05, weight_decay=0.01
    )


def values(variables: list) -> list[np.ndarray]:
    return [np.asarray(v.numpy(), dtype=np.float64) for v in variables]


def step(optimizer, variables: list) -> None:
    """One step of ``optimizer`` with the gradient at the variables' values."""
    grads = [keras.ops.convert_to_tensor(g, "float32") for g in gradient(values(variables))]
    optimizer.apply(grads, variables)


def stepped(optimizer, variables: list) -> tuple[reference.ReferenceOptimizer, list[np.ndarray]]:
    """STEPS steps of ``optimizer`` and of the NumPy rule from START: the rule and its y."""
    ours = rule()
    weights = [w.copy() for w in START]
    for _ in range(STEPS):
        step(optimizer, variables)
        weights = ours.apply(gradient(weights), weights)
    return ours, weights


def variables() -> list:
    return [keras.Variable(w.astype("float32")) for w in START]


def assert_close(got: list[np.ndarray], want: list[np.ndarray]) -> None:
    for a, b in zip(got, want, strict=True):
        np.testing.assert_allclose(a, b, atol=2e-6)


def test_each_step_is_the_reference_rule():
    trained = variables()
    optimizer = ScheduleFreeAdamW(**SETTINGS)
    ours = rule()
    weights = [w.copy() for w in START]
    for _ in range(STEPS):
        step(optimizer, trained)
        weights = ours.apply(gradient(weights), weights)
        assert_close(values(trained), weights)


def test_the_average_is_swapped_in_for_the_block_and_y_comes_back_after_it():
    trained = variables()
    optimizer = ScheduleFreeAdamW(**SETTINGS)
    ours, y = stepped(optimizer, trained)
    x = ours.evaluation_weights(y)
    assert max(np.max(np.abs(a - w)) for a, w in zip(x, y, strict=True)) > 5e-3
    with averaged_weights(optimizer, trained):
        assert_close(values(trained), x)
    assert_close(values(trained), y)


def test_before_the_first_step_and_for_other_optimizers_the_weights_stay_as_they_are():
    fresh = variables()
    with averaged_weights(ScheduleFreeAdamW(**SETTINGS), fresh):  # y = x = z = the start
        assert_close(values(fresh), START)
    trained = variables()
    sgd = keras.optimizers.SGD(0.1)
    sgd.apply(gradient(START), trained)
    before = values(trained)
    with averaged_weights(sgd, trained):
        assert_close(values(trained), before)
    use_average(sgd, trained)
    assert_close(values(trained), before)


def test_a_loss_scale_optimizer_is_seen_through():
    trained = variables()
    inner = ScheduleFreeAdamW(**SETTINGS)
    ours, y = stepped(inner, trained)
    wrapped = keras.optimizers.LossScaleOptimizer(inner)
    with averaged_weights(wrapped, trained):
        assert_close(values(trained), ours.evaluation_weights(y))


def test_a_variable_the_optimizer_does_not_train_is_left_alone():
    trained, frozen = variables(), keras.Variable(np.array([7.0, -7.0], "float32"))
    optimizer = ScheduleFreeAdamW(**SETTINGS)
    stepped(optimizer, trained)
    with averaged_weights(optimizer, [*trained, frozen]):
        np.testing.assert_array_equal(frozen.numpy(), [7.0, -7.0])


def test_use_average_keeps_x_once():
    trained = variables()
    optimizer = ScheduleFreeAdamW(**SETTINGS)
    ours, y = stepped(optimizer, trained)
    x = ours.evaluation_weights(y)
    use_average(optimizer, trained)
    assert_close(values(trained), x)
    use_average(optimizer, trained)  # a second call would take the average of x
    assert_close(values(trained), x)
    with averaged_weights(optimizer, trained):  # and x is where evaluation already is
        assert_close(values(trained), x)


def test_schedule_free_adamw_round_trips_through_keras_serialization():
    """optbench's ScheduleFreeAdamW is registered with Keras, so a saved model loads with it."""
    from optbench.optim.keras import build_optimizer
    from optbench.optim.schedule_free import ScheduleFreeAdamW

    settings = validate(compose_cfg("model=mlp", "optimizer=schedule_free_adamw"))
    built = build_optimizer(settings.optimizer, 0.01)
    config = keras.optimizers.serialize(built)
    assert config["registered_name"] == "optbench>ScheduleFreeAdamW"
    loaded = keras.optimizers.deserialize(config)
    assert type(loaded) is ScheduleFreeAdamW
    assert loaded.get_config() == built.get_config()
