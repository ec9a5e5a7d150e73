"""keras.optimizers.ScheduleFreeAdamW with its update step fixed on every backend.

Keras 3.15.1's ScheduleFreeAdamW has two bugs. On TensorFlow and torch it runs beta_1 = 1
whatever beta_1 it is given: ``momentum.value`` is the variable itself there, not a snapshot, so
it recovers x from the z it has just updated. And on TensorFlow in a train step (fit,
train_on_batch; no distribution strategy) build's ``z <- w`` never takes effect, so z starts at
0 and the first step replaces the weights with about -lr sign(g). On JAX it runs the rule.

This subclass reads y and z before assigning either, and takes z = the starting weights on the
first step. It runs optbench.optim.reference.ScheduleFreeAdamW (warmup, epsilon placement, bias
correction and weight decay exactly as Keras has them) on TensorFlow, JAX and torch.

The variables hold y, the point gradients are taken at; the paper evaluates at the average x.
``averaged_weights`` swaps x in for an evaluation and back, ``use_average`` keeps it once
training is over (the test metrics and a saved model are x's). Once
tests/test_reference_on_backends.py::test_keras_schedule_free_adamw_still_has_its_bugs fails,
Keras has fixed them: delete this module and point the registry row back at Keras's class."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from typing import Any

import keras
import numpy as np
from keras import ops


@keras.saving.register_keras_serializable(package="optbench")
class ScheduleFreeAdamW(keras.optimizers.ScheduleFreeAdamW):
    """Keras's ScheduleFreeAdamW (same arguments, variables and config), stepping correctly."""

    def update_step(self, gradient, variable, learning_rate):
        dtype = variable.dtype
        lr = ops.cast(learning_rate, dtype)
        gradient = ops.cast(gradient, dtype)
        local_step = ops.cast(self.iterations + 1, dtype)
        beta_1 = ops.cast(self.beta_1, dtype)
        beta_2 = ops.cast(self.beta_2, dtype)
        epsilon = ops.cast(self.epsilon, dtype)
        if self.warmup_steps > 0:
            lr = lr * ops.minimum(local_step / ops.cast(self.warmup_steps, dtype), 1.0)

        index = self._get_variable_index(variable)
        z, velocity = self._momentums[index], self._velocities[index]
        # y and z before any assignment (new tensors: on torch a variable's tensor is updated in
        # place). On the first step z is the starting weights, as build's z <- w meant it to be
        # (whether or not that took effect): y before this step's decay w <- w - lr wd w, which
        # the base class applies before update_step, at the un-warmed rate.
        y_old = ops.convert_to_tensor(variable)
        start = y_old
        if self.weight_decay is not None and self._use_weight_decay(variable):
            start = y_old / (
                1 - ops.cast(self.weight_decay, dtype) * ops.cast(learning_rate, dtype)
            )
        z_old = ops.where(ops.equal(self.iterations, 0), start, ops.convert_to_tensor(z))
        x_old = ops.divide(ops.subtract(y_old, ops.multiply(1 - beta_1, z_old)), beta_1)

        # velocity = beta_2 velocity + (1 - beta_2) g^2; denom = sqrt(v / (1 - beta_2^t)) + eps
        self.assign_add(
            velocity, ops.multiply(ops.subtract(ops.square(gradient), velocity), 1 - beta_2)
        )
        bias_correction_2 = 1 - ops.power(beta_2, local_step)
        denom = ops.add(ops.sqrt(velocity / bias_correction_2), epsilon)

        z_new = ops.subtract(z_old, ops.divide(ops.multiply(lr, gradient), denom))
        self.assign(z, z_new)
        weight = 1.0 / local_step  # x = (1 - 1/t) x + z / t; y = (1 - beta_1) z + beta_1 x
        x_new = ops.add(ops.multiply(1 - weight, x_old), ops.multiply(weight, z_new))
        self.assign(variable, ops.add(ops.multiply(1 - beta_1, z_new), ops.multiply(beta_1, x_new)))


def _schedule_free(optimizer: Any) -> Any:
    """The schedule-free optimizer behind ``optimizer`` (a LossScaleOptimizer wraps it), if it
    has taken a step (before that, y = x = z = the starting weights)."""
    inner = getattr(optimizer, "inner_optimizer", optimizer)
    if isinstance(inner, keras.optimizers.ScheduleFreeAdamW) and int(inner.iterations) > 0:
        return inner
    return None


def _swap_in_average(optimizer: Any, variables: Sequence[Any]) -> list[tuple[Any, np.ndarray]]:
    """Assign x = (y - (1 - beta_1) z) / beta_1 to every variable the optimizer trains; returns
    (variable, y) to restore. Variables it does not train (a frozen backbone) are left alone."""
    beta_1 = float(optimizer.beta_1)
    saved = []
    for variable in variables:
        try:
            z = optimizer._momentums[optimizer._get_variable_index(variable)]
        except (KeyError, IndexError):
            continue
        y = ops.convert_to_numpy(variable).copy()
        x = (y - (1 - beta_1) * ops.convert_to_numpy(z)) / beta_1
        variable.assign(x.astype(y.dtype))
        saved.append((variable, y))
    return saved


@contextlib.contextmanager
def averaged_weights(optimizer: Any, variables: Sequence[Any]) -> Iterator[None]:
    """Within the block the variables hold schedule-free's x, where the paper evaluates; after
    it, y again, so training goes on unchanged. Any other optimizer: the weights as they are."""
    inner = _schedule_free(optimizer)
    if inner is None or getattr(inner, "_optbench_at_average", False):
        yield
        return
    saved = _swap_in_average(inner, variables)
    try:
        yield
    finally:
        for variable, y in saved:
            variable.assign(y)


def use_average(optimizer: Any, variables: Sequence[Any]) -> None:
    """Training is over: keep x in the variables (once; a second call changes nothing)."""
    inner = _schedule_free(optimizer)
    if inner is not None and not getattr(inner, "_optbench_at_average", False):
        _swap_in_average(inner, variables)
        inner._optbench_at_average = True
