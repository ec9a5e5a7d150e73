"""Optimizers a user might write, kept outside the optbench package: the tests put this folder
on PYTHONPATH and name them with optimizer=custom optimizer.target=sign_descent:<Class>."""

from __future__ import annotations

import keras
import numpy as np
from keras import ops


class SignDescent(keras.optimizers.Optimizer):
    """signSGD with momentum (Bernstein et al., 2018): w <- w - lr * sign(m), with
    m <- beta m + (1 - beta) g."""

    def __init__(self, learning_rate=0.001, beta=0.0, name="sign_descent", **kwargs):
        super().__init__(learning_rate=learning_rate, name=name, **kwargs)
        self.beta = beta

    def build(self, var_list):
        if self.built:
            return
        super().build(var_list)
        self.momentums = self.add_optimizer_variables(var_list, "momentum")

    def update_step(self, gradient, variable, learning_rate):
        lr = ops.cast(learning_rate, variable.dtype)
        m = self.momentums[self._get_variable_index(variable)]
        self.assign(m, self.beta * m + (1 - self.beta) * ops.cast(gradient, variable.dtype))
        self.assign_sub(variable, lr * ops.sign(m))

    def get_config(self):
        return {**super().get_config(), "beta": self.beta}


class SignRule:
    """The same rule with the NumPy reference protocol (model=landscape)."""

    def __init__(self, beta: float = 0.0):
        self.beta = beta

    def init(self, w):
        return {"m": np.zeros_like(w)}

    def update(self, g, w, state, lr, t):
        state["m"] = self.beta * state["m"] + (1 - self.beta) * g
        return w - lr * np.sign(state["m"])


class NotAnOptimizer:
    """Neither a Keras optimizer nor a reference rule."""


class BrokenRule(SignRule):
    """A rule with a bug its author has not found yet: it fails at its third step."""

    def update(self, g, w, state, lr, t):
        if t >= 3:
            raise RuntimeError("a bug in the user's update rule")
        return super().update(g, w, state, lr, t)
