"""Reference optimizers in plain NumPy, written to be read. They exist to check that the
framework optimizers run the algorithms we think they run (tests/test_optim_reference.py
feeds the same gradients to these and to keras.optimizers and compares the weights).

Each rule is a small class: ``init(w) -> state`` and ``update(g, w, state, lr, t) -> w``
(t = 1, 2, ...). ``ReferenceOptimizer`` wraps a rule with what Keras 3 does around every
rule, in Keras's order: clip the gradients (clipnorm per variable, or global_clipnorm, or
clipvalue), decoupled weight decay ``w <- w - lr_t * wd * w``, then the rule's update with
the same ``lr_t``. Where Keras's form differs from the textbook one, the docstring says so.
``sam_step`` wraps a ReferenceOptimizer in SAM's two gradients per step.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from optbench.optim.registry import OPTIMIZERS, TARGET
from optbench.optim.rules import check_reference
from optbench.optim.sam import SAM_EPS
from optbench.optim.schedules import SCHEDULES, LrSchedule


@dataclass
class SGD:
    """Plain:     w <- w - lr g
    Momentum:  m <- mu m - lr g ;  w <- w + m
    Nesterov:  m <- mu m - lr g ;  w <- w + mu m - lr g
    (Keras folds lr into the velocity; with a constant lr this equals Polyak's
    v <- mu v + g ; w <- w - lr v, and Sutskever's form of Nesterov momentum.)"""

    momentum: float = 0.0
    nesterov: bool = False

    def init(self, w: np.ndarray) -> dict:
        return {"m": np.zeros_like(w)}

    def update(self, g, w, state, lr, t):
        if self.momentum == 0:
            return w - lr * g
        state["m"] = self.momentum * state["m"] - lr * g
        if self.nesterov:
            return w + self.momentum * state["m"] - lr * g
        return w + state["m"]


@dataclass
class Adagrad:
    """a <- a + g^2 ;  w <- w - lr g / sqrt(a + eps)
    (Keras: a starts at initial_accumulator_value = 0.1, and eps sits inside the sqrt.)"""

    epsilon: float = 1e-7
    initial_accumulator_value: float = 0.1

    def init(self, w):
        return {"a": np.full_like(w, self.initial_accumulator_value)}

    def update(self, g, w, state, lr, t):
        state["a"] = state["a"] + g**2
        return w - lr * g / np.sqrt(state["a"] + self.epsilon)


@dataclass
class RMSprop:
    """v <- rho v + (1 - rho) g^2 ;  w <- w - lr g / sqrt(v + eps)
    with momentum mu > 0:  b <- mu b + lr g / sqrt(v + eps) ;  w <- w - b
    (Keras: eps inside the sqrt.)"""

    rho: float = 0.9
    momentum: float = 0.0
    epsilon: float = 1e-7

    def init(self, w):
        return {"v": np.zeros_like(w), "b": np.zeros_like(w)}

    def update(self, g, w, state, lr, t):
        state["v"] = self.rho * state["v"] + (1 - self.rho) * g**2
        increment = lr * g / np.sqrt(state["v"] + self.epsilon)
        if self.momentum > 0:
            state["b"] = self.momentum * state["b"] + increment
            return w - state["b"]
        return w - increment


@dataclass
class Moments:
    """The first and second moment estimates that Adam, Nadam and Lamb share:
    m <- b1 m + (1 - b1) g ;  v <- b2 v + (1 - b2) g^2"""

    beta_1: float = 0.9
    beta_2: float = 0.999
    epsilon: float = 1e-7

    def init(self, w):
        return {"m": np.zeros_like(w), "v": np.zeros_like(w)}

    def update_moments(self, g, state) -> None:
        state["m"] = state["m"] + (g - state["m"]) * (1 - self.beta_1)
        state["v"] = state["v"] + (g**2 - state["v"]) * (1 - self.beta_2)


@dataclass
class Adam(Moments):
    """m <- b1 m + (1 - b1) g ;  v <- b2 v + (1 - b2) g^2
    w <- w - lr_hat m / (sqrt(v) + eps),  lr_hat = lr sqrt(1 - b2^t) / (1 - b1^t)
    (Kingma & Ba's 'epsilon hat' form, as Keras computes it. The textbook
    m_hat / (sqrt(v_hat) + eps) differs only through where eps sits. Keras computes
    b1^t and b2^t from float32-rounded betas, which moves its step by ~7e-6 relative for
    b2 = 0.999.)
    AdamW is Adam with decoupled weight decay, applied by ReferenceOptimizer."""

    def update(self, g, w, state, lr, t):
        self.update_moments(g, state)
        lr_hat = lr * math.sqrt(1 - self.beta_2**t) / (1 - self.beta_1**t)
        return w - lr_hat * state["m"] / (np.sqrt(state["v"]) + self.epsilon)


@dataclass
class Nadam(Moments):
    """Adam with Nesterov momentum and Dozat's momentum schedule, as Keras implements it:
    mu_t = b1 (1 - 0.5 * 0.96^t),  P_t = mu_1 ... mu_t
    m_hat = mu_{t+1} m / (1 - P_{t+1}) + (1 - mu_t) g / (1 - P_t)
    v_hat = v / (1 - b2^t) ;  w <- w - lr m_hat / (sqrt(v_hat) + eps)"""

    def init(self, w):
        return {**super().init(w), "mu_product": 1.0}

    def mu(self, t: int) -> float:
        return self.beta_1 * (1.0 - 0.5 * 0.96**t)

    def update(self, g, w, state, lr, t):
        state["mu_product"] *= self.mu(t)
        product_t, product_next = state["mu_product"], state["mu_product"] * self.mu(t + 1)
        self.update_moments(g, state)
        m_hat = self.mu(t + 1) * state["m"] / (1 - product_next) + (1 - self.mu(t)) * g / (
            1 - product_t
        )
        v_hat = state["v"] / (1 - self.beta_2**t)
        return w - lr * m_hat / (np.sqrt(v_hat) + self.epsilon)


@dataclass
class Lion:
    """w <- w - lr sign(b1 m + (1 - b1) g) ;  m <- b2 m + (1 - b2) g   (Chen et al., 2023)"""

    beta_1: float = 0.9
    beta_2: float = 0.99

    def init(self, w):
        return {"m": np.zeros_like(w)}

    def update(self, g, w, state, lr, t):
        w = w - lr * np.sign(self.beta_1 * state["m"] + (1 - self.beta_1) * g)
        state["m"] = self.beta_2 * state["m"] + (1 - self.beta_2) * g
        return w


@dataclass
class Lamb(Moments):
    """Adam's direction u = m_hat / (sqrt(v_hat) + eps), scaled per variable by the trust
    ratio ||w|| / ||u|| (1 when either norm is 0):  w <- w - lr (||w|| / ||u||) u
    (You et al., 2020; weight decay is decoupled, applied before, as Keras does.)"""

    def update(self, g, w, state, lr, t):
        self.update_moments(g, state)
        m_hat = state["m"] / (1 - self.beta_1**t)
        u = m_hat / (np.sqrt(state["v"] / (1 - self.beta_2**t)) + self.epsilon)
        w_norm, u_norm = np.linalg.norm(w), np.linalg.norm(u)
        ratio = w_norm / u_norm if w_norm > 0 and u_norm > 0 else 1.0
        return w - ratio * lr * u


@dataclass
class ScheduleFreeAdamW:
    """Schedule-free AdamW (Defazio et al., 2024), as Keras writes it: RMSprop-like steps move
    z, x is the running average of the z's, and the gradient is taken at their interpolation y:
    v <- b2 v + (1 - b2) g^2 ;  z <- z - lr_t g / (sqrt(v / (1 - b2^t)) + eps)
    x <- (1 - 1/t) x + z / t ;  y <- (1 - b1) z + b1 x ;  lr_t = lr min(t / warmup_steps, 1)
    with z = w at the start, and no first moment (b1 is the interpolation weight).
    Keras keeps only y (the variable) and z, and recovers x = (y - (1 - b1) z) / b1 (``average``)
    each step; the variable holds y, so optbench evaluates at x by swapping it in
    (ReferenceOptimizer.evaluation_weights here, optbench/optim/schedule_free.py in Keras).
    The paper's Algorithm 1 differs: it averages with weights lr_t^2 / sum lr_i^2, not 1/t,
    where its lr_t = lr sqrt(1 - b2^t) min(t / warmup_steps, 1); eps sits outside sqrt(v), not
    sqrt(v_hat); and its decay is z <- z - lr_t wd y, where Keras decays y itself
    (ReferenceOptimizer's w <- w - lr wd w, at the un-warmed lr) and so x, through the recovery.
    Keras 3.15.1 runs this rule on JAX. On TensorFlow and torch it runs beta_1 = 1 whatever
    beta_1 is (it recovers x with the z it has just updated), and in TensorFlow's fit z starts
    at 0 (tests/test_reference_on_backends.py)."""

    beta_1: float = 0.9
    beta_2: float = 0.999
    epsilon: float = 1e-8
    warmup_steps: int = 0

    def init(self, w):
        return {"z": w.copy(), "v": np.zeros_like(w)}

    def average(self, w: np.ndarray, state: dict) -> np.ndarray:
        """x, the averaged sequence (the paper's evaluation point), from y = w and z."""
        return (w - (1 - self.beta_1) * state["z"]) / self.beta_1

    def update(self, g, w, state, lr, t):
        lr = lr * min(t / max(self.warmup_steps, 1), 1.0)  # no warmup: lr * 1.0
        x = self.average(w, state)
        state["v"] = state["v"] + (g**2 - state["v"]) * (1 - self.beta_2)
        denom = np.sqrt(state["v"] / (1 - self.beta_2**t)) + self.epsilon
        state["z"] = state["z"] - lr * g / denom
        x = (1 - 1 / t) * x + state["z"] / t
        return (1 - self.beta_1) * state["z"] + self.beta_1 * x


@dataclass
class ReferenceOptimizer:
    """A rule plus Keras's clipping, decoupled weight decay and learning-rate schedule."""

    rule: Any
    learning_rate: float | LrSchedule = 0.01
    weight_decay: float | None = None
    clipnorm: float | None = None
    global_clipnorm: float | None = None
    clipvalue: float | None = None
    iterations: int = 0
    states: list[dict] = field(default_factory=list)

    def lr(self) -> float:
        lr = self.learning_rate
        return float(lr(self.iterations)) if callable(lr) else float(lr)

    def clip(self, grads: list[np.ndarray]) -> list[np.ndarray]:
        if self.clipnorm:
            return [g * self.clipnorm / max(np.linalg.norm(g), self.clipnorm) for g in grads]
        if self.global_clipnorm:
            norm = global_norm(grads)
            return [
                g * self.global_clipnorm * min(1 / norm, 1 / self.global_clipnorm) for g in grads
            ]
        if self.clipvalue:
            return [np.clip(g, -self.clipvalue, self.clipvalue) for g in grads]
        return grads

    def evaluation_weights(self, weights: list[np.ndarray]) -> list[np.ndarray]:
        """Where the model is evaluated: the rule's ``average`` (schedule-free's x) where it
        has one and has stepped, else the weights themselves."""
        average = getattr(self.rule, "average", None)
        if average is None or not self.states:
            return weights
        return [average(w, s) for w, s in zip(weights, self.states, strict=True)]

    def apply(self, grads: list[np.ndarray], weights: list[np.ndarray]) -> list[np.ndarray]:
        """One step for all variables; returns the new weights."""
        if not self.states:
            self.states = [self.rule.init(w) for w in weights]
        lr, t = self.lr(), self.iterations + 1
        grads = self.clip(grads)
        if self.weight_decay:
            weights = [w - w * self.weight_decay * lr for w in weights]
        new = [
            self.rule.update(g, w, s, lr, t)
            for g, w, s in zip(grads, weights, self.states, strict=True)
        ]
        self.iterations += 1
        return new


def global_norm(arrays: list[np.ndarray]) -> float:
    """sqrt of the sum of squares of every entry of every array."""
    return math.sqrt(sum(float(np.sum(a**2)) for a in arrays))


def sam_step(
    weights: list[np.ndarray],
    grad_fn: Callable[[list[np.ndarray]], list[np.ndarray]],
    rho: float,
    adaptive: bool,
    base: ReferenceOptimizer,
) -> list[np.ndarray]:
    """One SAM step (Foret et al., 2021): g = grad(w), e = rho g / ||g|| (global norm over
    all weights), then the base optimizer applies grad(w + e) at w. ASAM (Kwon et al., 2021;
    ``adaptive``): e = rho w^2 g / || |w| g ||. eps = SAM_EPS in the norm's denominator, as
    optbench's Keras step has it (optbench/optim/sam.py)."""
    grads = grad_fn(weights)
    pairs = list(zip(weights, grads, strict=True))  # one gradient per weight, checked once
    if adaptive:
        norm = global_norm([np.abs(w) * g for w, g in pairs])
        perturbed = [w + rho * w**2 * g / (norm + SAM_EPS) for w, g in pairs]
    else:
        norm = global_norm(grads)
        perturbed = [w + rho * g / (norm + SAM_EPS) for w, g in pairs]
    return base.apply(grad_fn(perturbed), weights)


# optimizer name -> its rule class with the row's preset (momentum: SGD with momentum=0.9);
# the registry names each row's class, as it names Keras's
RULES: dict[str, functools.partial] = {
    name: functools.partial(globals()[row.reference], **row.preset)
    for name, row in OPTIMIZERS.items()
    if row.reference and row.reference != TARGET
}


def from_config(opt: Any, schedule: Any, total_steps: int) -> ReferenceOptimizer:
    """The reference optimizer for an optimizer/schedule config, or a clear error."""
    check_reference(opt, schedule)
    if opt.name == "custom":  # the user's rule class, with their keywords
        from optbench.optim.custom import resolve

        rule = resolve(opt, "numpy").cls(**opt.kwargs)
    else:
        make_rule = RULES[opt.name]
        fields = dataclasses.fields(make_rule.func)
        rule = make_rule(**{f.name: getattr(opt, f.name) for f in fields})
    return ReferenceOptimizer(
        rule,
        SCHEDULES[schedule.name].numpy(schedule, opt.lr, total_steps),
        weight_decay=opt.weight_decay,
        clipnorm=opt.clipnorm,
        global_clipnorm=opt.global_clipnorm,
        clipvalue=opt.clipvalue,
    )
