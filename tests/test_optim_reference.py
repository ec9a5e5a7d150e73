"""The NumPy reference optimizers run the algorithms we say they run, two ways:

* closed form (fast): each rule's first steps against the textbook formulas written out
  here, with hand-checkable numbers; clipping, decoupled weight decay, the cosine schedule
  and ``from_config`` likewise. These are what `make mutate` runs (docs/mutation.md).
* against keras.optimizers, or optbench's subclass where the registry names one (slow:
  seconds of eager Keras per case): the same gradients for 100 steps leave the same weights
  (1e-6 relative), with and without weight decay, gradient clipping and a learning-rate
  schedule. (On this process's Keras backend, TensorFlow unless KERAS_BACKEND says otherwise;
  tests/test_reference_on_backends.py runs JAX and torch.)"""

import functools
from pathlib import Path

import keras  # a hard dependency (TensorFlow): a broken install fails here, never skips
import numpy as np
import pytest

from optbench.errors import OptbenchError
from optbench.optim.keras import keras_class
from optbench.optim.reference import RULES, ReferenceOptimizer, sam_step
from optbench.optim.sam import SAM_EPS
from optbench.optim.schedules import cosine_decay

# Keras computes Adam's bias correction from float32-rounded betas (about 7e-6 relative on
# the step for 0.999), so Adam is compared with betas that float32 holds exactly.
EXACT_BETAS = {"beta_1": float(np.float32(0.9)), "beta_2": float(np.float32(0.999))}
SCHEDULE_FREE = {"beta_1": 0.9, "warmup_steps": 10}
# name -> (keras class: a keras.optimizers name or optbench's "module:Class" as the registry
# has it, keras kwargs, reference kwargs, learning rate)
OPTIMIZERS = {
    "sgd": ("SGD", {}, {}, 0.05),
    "momentum": ("SGD", {"momentum": 0.9}, {"momentum": 0.9}, 0.02),
    "nesterov": ("SGD", {"momentum": 0.9, "nesterov": True}, {"momentum": 0.9}, 0.02),
    "adagrad": ("Adagrad", {}, {}, 0.1),
    "rmsprop": ("RMSprop", {}, {}, 0.01),
    "rmsprop_momentum": ("RMSprop", {"momentum": 0.5}, {"momentum": 0.5}, 0.01),
    "adam": ("Adam", EXACT_BETAS, EXACT_BETAS, 0.01),
    "adamw": ("AdamW", EXACT_BETAS, EXACT_BETAS, 0.01),
    "nadam": ("Nadam", {}, {}, 0.01),
    "lion": ("Lion", {}, {}, 0.001),
    "lamb": ("Lamb", {}, {}, 0.01),
    # optbench's subclass: Keras 3.15.1's own is wrong on TensorFlow and torch
    # (optbench/optim/schedule_free.py, tests/test_reference_on_backends.py)
    "schedule_free_adamw": (
        "optbench.optim.schedule_free:ScheduleFreeAdamW",
        SCHEDULE_FREE,
        SCHEDULE_FREE,
        0.01,
    ),
}
TRICKS = {
    "plain": {},
    "weight_decay": {"weight_decay": 0.05},
    "clipnorm": {"clipnorm": 0.5},
    "global_clipnorm": {"global_clipnorm": 0.5},
    "clipvalue": {"clipvalue": 0.1},
}
STEPS = 100
ADAMW_DEFAULT_DECAY = 0.004


def assert_close(ours, theirs):
    """Per variable, ||ours - theirs|| <= 1e-6 ||theirs||. (Element-wise relative error is
    meaningless for weights near zero, and Keras rounds hyperparameters such as the learning
    rate through float32, a relative 1e-8 per step.)"""
    for a, b in zip(ours, theirs, strict=True):
        assert np.linalg.norm(a - b) <= 1e-6 * np.linalg.norm(b), np.linalg.norm(a - b)


@pytest.fixture(autouse=True)
def float64_keras():
    """Compare algorithms, not float32 rounding."""
    previous = keras.config.floatx()
    keras.config.set_floatx("float64")
    yield
    keras.config.set_floatx(previous)


@functools.cache
def digits_200():
    from sklearn.datasets import load_digits

    x, y = load_digits(return_X_y=True)
    return x[:200] / 16.0, y[:200]


def digits_loss_gradient(weights):
    """Gradient of the mean softmax cross-entropy of a linear model on 200 real digits."""
    x, y = digits_200()
    w, b = weights
    logits = x @ w + b
    p = np.exp(logits - logits.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    p[np.arange(len(y)), y] -= 1
    return [x.T @ p / len(y), p.mean(axis=0)]


def run_both(name, tricks, gradient_source, schedule=False):
    class_name, keras_kwargs, reference_kwargs, lr = OPTIMIZERS[name]
    if name == "adamw":  # AdamW = Adam + decoupled weight decay, 0.004 by default in Keras
        tricks = {"weight_decay": ADAMW_DEFAULT_DECAY, **tricks}
    rule = RULES[name.removesuffix("_momentum")](**reference_kwargs)
    rng = np.random.default_rng(0)
    start = [rng.normal(0, 0.1, (64, 10)), rng.normal(0, 0.1, (10,))]
    keras_lr = keras.optimizers.schedules.CosineDecay(lr, STEPS, alpha=0.1) if schedule else lr
    ref_lr = cosine_decay(lr, STEPS, alpha=0.1) if schedule else lr
    ours = ReferenceOptimizer(rule, ref_lr, **tricks)
    theirs = keras_class(class_name)(learning_rate=keras_lr, **keras_kwargs, **tricks)
    variables = [keras.Variable(w.copy()) for w in start]
    weights = [w.copy() for w in start]
    for _ in range(STEPS):
        if gradient_source == "random":
            grads = [rng.normal(0, 1.0, w.shape) for w in start]
            keras_grads = grads
        else:  # each side's gradient at its own current weights
            grads = digits_loss_gradient(weights)
            keras_grads = digits_loss_gradient([np.asarray(v) for v in variables])
        weights = ours.apply(grads, weights)
        theirs.apply([keras.ops.convert_to_tensor(g) for g in keras_grads], variables)
    return weights, [np.asarray(v) for v in variables], start


@pytest.mark.slow
@pytest.mark.parametrize("trick", list(TRICKS))
@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_reference_matches_keras_on_random_gradients(name, trick):
    ours, theirs, start = run_both(name, TRICKS[trick], "random")
    for a, w0 in zip(ours, start, strict=True):
        assert np.linalg.norm(a - w0) > 1e-3 * np.linalg.norm(w0)  # it moved
    assert_close(ours, theirs)


@pytest.mark.slow
@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_reference_matches_keras_on_a_real_loss_with_a_schedule(name):
    tricks = {"weight_decay": 0.01, "global_clipnorm": 1.0}
    ours, theirs, _ = run_both(name, tricks, "digits", schedule=True)
    assert_close(ours, theirs)


def test_cosine_schedule_matches_keras_and_never_goes_negative():
    keras_schedule = keras.optimizers.schedules.CosineDecay(0.1, 50, alpha=0.0)
    ours = cosine_decay(0.1, 50)
    for t in (0, 10, 25, 40, 50, 80):
        assert ours(t) == pytest.approx(float(keras_schedule(t)), rel=1e-6)
        assert ours(t) >= 0


def test_reference_descends_a_real_loss():
    weights = [np.zeros((64, 10)), np.zeros(10)]
    opt = ReferenceOptimizer(RULES["adam"](), 0.05)
    first = None
    for _ in range(50):
        grads = digits_loss_gradient(weights)
        first = first if first is not None else np.linalg.norm(grads[0])
        weights = opt.apply(grads, weights)
    assert np.linalg.norm(digits_loss_gradient(weights)[0]) < 0.2 * first


# ---------------------------------------------------------------- closed form
W0 = np.array([1.0, -2.0, 0.5])
GRADS = [np.array([0.5, -1.0, 2.0]), np.array([0.25, 0.5, -1.0]), np.array([-0.5, 0.1, 0.3])]


def run_rule(rule, lr=0.1, w=W0, grads=GRADS):
    """The weights after each step of ``rule`` alone (no clipping, decay or schedule)."""
    state, out = rule.init(w), []
    for value in state.values():  # float arrays shaped like w (or a scalar product)
        assert np.shape(value) in (w.shape, ()) and np.asarray(value).dtype == np.float64
    for t, g in enumerate(grads, start=1):
        w = rule.update(g, w, state, lr, t)
        assert w.dtype == np.float64 and w.shape == W0.shape
        out.append(w)
    return out


def assert_steps(ours, expected):
    assert len(ours) == len(expected)
    for a, b in zip(ours, expected, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-15)


def test_sgd_plain_step_by_hand():
    (w1,) = run_rule(RULES["sgd"](), lr=0.1, grads=GRADS[:1])
    np.testing.assert_allclose(w1, [0.95, -1.9, 0.3], rtol=1e-12)


@pytest.mark.parametrize("mu", [0.9, 0.5, 1.0])  # 1.0: no damping, still allowed by Keras
def test_momentum_is_polyaks_heavy_ball_at_a_constant_rate(mu):
    """Polyak: v <- mu v + g ; w <- w - lr v (Keras's lr-in-velocity form, constant lr)."""
    w, v, expected = W0, np.zeros(3), []
    for g in GRADS:
        v = mu * v + g
        w = w - 0.1 * v
        expected.append(w)
    assert_steps(run_rule(RULES["momentum"](momentum=mu), lr=0.1), expected)
    # two steps by hand, mu = 0.9: v2 = 0.9 g1 + g2
    if mu == 0.9:
        w2 = run_rule(RULES["momentum"](), lr=0.1)[1]
        np.testing.assert_allclose(w2, W0 - 0.1 * GRADS[0] - 0.1 * (0.9 * GRADS[0] + GRADS[1]))


@pytest.mark.parametrize("mu", [0.9, 0.5])
def test_nesterov_is_sutskevers_lookahead_at_a_constant_rate(mu):
    """v <- mu v + g ; w <- w - lr (g + mu v)."""
    w, v, expected = W0, np.zeros(3), []
    for g in GRADS:
        v = mu * v + g
        w = w - 0.1 * (g + mu * v)
        expected.append(w)
    assert_steps(run_rule(RULES["nesterov"](momentum=mu), lr=0.1), expected)
    assert RULES["nesterov"]().nesterov and not RULES["momentum"]().nesterov


def test_adagrad_accumulates_squares_from_its_initial_value():
    eps, a0 = 0.01, 0.25
    a, w, expected = np.full(3, a0), W0, []
    for g in GRADS:
        a = a + g * g
        w = w - 0.1 * g / np.sqrt(a + eps)
        expected.append(w)
    assert_steps(run_rule(RULES["adagrad"](epsilon=eps, initial_accumulator_value=a0)), expected)
    # Keras's defaults: the accumulator starts at 0.1, eps 1e-7 inside the sqrt
    (w1,) = run_rule(RULES["adagrad"](), grads=GRADS[:1])
    np.testing.assert_allclose(w1, W0 - 0.1 * GRADS[0] / np.sqrt(0.1 + GRADS[0] ** 2 + 1e-7))


@pytest.mark.parametrize("mu", [0.0, 0.5])
def test_rmsprop_with_and_without_momentum(mu):
    rho, eps = 0.8, 0.01
    v, b, w, expected = np.zeros(3), np.zeros(3), W0, []
    for g in GRADS:
        v = rho * v + (1 - rho) * g * g
        step = 0.1 * g / np.sqrt(v + eps)
        b = mu * b + step
        w = w - b
        expected.append(w)
    assert_steps(run_rule(RULES["rmsprop"](rho=rho, momentum=mu, epsilon=eps)), expected)
    # the velocity b is Keras's momentum buffer: it only moves with momentum > 0
    rule = RULES["rmsprop"](rho=rho, momentum=mu, epsilon=eps)
    state, w = rule.init(W0), W0
    for t, g in enumerate(GRADS, start=1):
        w = rule.update(g, w, state, 0.1, t)
    np.testing.assert_allclose(state["b"], b if mu else np.zeros(3), rtol=1e-12, atol=0)


def adam_by_the_paper(b1, b2, eps, lr=0.1):
    """Kingma & Ba, section 2 (the 'epsilon hat' variant: eps scaled by sqrt(1 - b2^t))."""
    m, v, w, out = np.zeros(3), np.zeros(3), W0, []
    for t, g in enumerate(GRADS, start=1):
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        m_hat, v_hat = m / (1 - b1**t), v / (1 - b2**t)
        w = w - lr * m_hat / (np.sqrt(v_hat) + eps / np.sqrt(1 - b2**t))
        out.append(w)
    return out


def test_adam_is_the_papers_rule():
    rule = RULES["adam"](beta_1=0.8, beta_2=0.9, epsilon=0.05)
    assert_steps(run_rule(rule), adam_by_the_paper(0.8, 0.9, 0.05))
    # step 1 by hand (eps -> 0): the move is lr sign(g) whatever the gradient's size
    (w1,) = run_rule(RULES["adam"](epsilon=0.0), grads=GRADS[:1])
    np.testing.assert_allclose(w1, W0 - 0.1 * np.sign(GRADS[0]), rtol=1e-12)


def test_moments_are_exponential_averages():
    rule = RULES["adam"](beta_1=0.8, beta_2=0.9)
    state = rule.init(W0)
    assert set(state) == {"m", "v"} and not state["m"].any() and not state["v"].any()
    rule.update_moments(GRADS[0], state)
    rule.update_moments(GRADS[1], state)
    np.testing.assert_allclose(state["m"], 0.8 * 0.2 * GRADS[0] + 0.2 * GRADS[1])
    np.testing.assert_allclose(state["v"], 0.9 * 0.1 * GRADS[0] ** 2 + 0.1 * GRADS[1] ** 2)


def test_nadam_follows_dozats_momentum_schedule():
    """mu_t = b1 (1 - 0.5 0.96^t); Nesterov-corrected first moment, bias-corrected second."""
    b1, b2, eps = 0.8, 0.9, 0.05
    rule = RULES["nadam"](beta_1=b1, beta_2=b2, epsilon=eps)
    assert rule.mu(1) == pytest.approx(0.8 * (1 - 0.5 * 0.96))
    assert rule.mu(3) == pytest.approx(0.8 * (1 - 0.5 * 0.96**3))
    mu = [b1 * (1 - 0.5 * 0.96**t) for t in range(0, 6)]
    m, v, w, expected = np.zeros(3), np.zeros(3), W0, []
    for t, g in enumerate(GRADS, start=1):
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        product_t = np.prod(mu[1 : t + 1])
        m_hat = mu[t + 1] * m / (1 - product_t * mu[t + 1]) + (1 - mu[t]) * g / (1 - product_t)
        w = w - 0.1 * m_hat / (np.sqrt(v / (1 - b2**t)) + eps)
        expected.append(w)
    assert_steps(run_rule(rule), expected)
    assert rule.init(W0)["mu_product"] == 1.0


def test_lion_moves_by_the_sign_of_the_interpolation():
    b1, b2 = 0.8, 0.6
    m, w, expected = np.zeros(3), W0, []
    for g in GRADS:
        w = w - 0.1 * np.sign(b1 * m + (1 - b1) * g)
        m = b2 * m + (1 - b2) * g
        expected.append(w)
    assert_steps(run_rule(RULES["lion"](beta_1=b1, beta_2=b2)), expected)
    # step 2 by hand: m1 = 0.4 g1; sign(0.8 * 0.4 g1 + 0.2 g2) = sign(0.32 g1 + 0.2 g2)
    np.testing.assert_allclose(
        expected[1], W0 - 0.1 * np.sign(GRADS[0]) - 0.1 * np.array([1, -1, 1])
    )


def test_lion_momentum_magnitude_and_a_zero_sign():
    rule = RULES["lion"](beta_1=0.8, beta_2=0.6)
    state = rule.init(W0)
    w1 = rule.update(np.array([0.0, 1.0, -1.0]), W0, state, 0.1, 1)
    np.testing.assert_allclose(w1, W0 - 0.1 * np.array([0.0, 1.0, -1.0]))  # sign(0) = 0: stays
    np.testing.assert_allclose(state["m"], [0.0, 0.4, -0.4])  # (1 - b2) g
    # m's size matters: 0.8 * 0.4 - 0.2 * 2 < 0, so the second step goes the other way
    w2 = rule.update(np.array([0.0, -2.0, 2.0]), w1, state, 0.1, 2)
    np.testing.assert_allclose(w2, w1 - 0.1 * np.array([0.0, -1.0, 1.0]))
    np.testing.assert_allclose(state["m"], [0.0, 0.6 * 0.4 - 0.8, -0.6 * 0.4 + 0.8])


@pytest.mark.parametrize("scale", [1.0, 0.1])  # ||w|| above and below 1
def test_lamb_scales_adams_direction_by_the_trust_ratio(scale):
    b1, b2, eps = 0.8, 0.9, 0.05
    m, v, w, expected = np.zeros(3), np.zeros(3), scale * W0, []
    for t, g in enumerate(GRADS, start=1):
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        u = (m / (1 - b1**t)) / (np.sqrt(v / (1 - b2**t)) + eps)
        w = w - 0.1 * np.linalg.norm(w) / np.linalg.norm(u) * u
        expected.append(w)
    assert_steps(run_rule(RULES["lamb"](beta_1=b1, beta_2=b2, epsilon=eps), w=scale * W0), expected)


def test_lamb_trust_ratio_is_one_when_a_norm_is_zero():
    rule = RULES["lamb"](epsilon=0.0)
    (w1,) = run_rule(rule, w=np.zeros(3), grads=GRADS[:1])  # ||w|| = 0: ratio 1, Adam's step
    np.testing.assert_allclose(w1, -0.1 * np.sign(GRADS[0]), rtol=1e-12)
    with np.errstate(all="raise"):  # ||u|| = 0 (zero gradient): no move, and no 0/0 either
        (w1,) = run_rule(RULES["lamb"](), grads=[np.zeros(3)])
    np.testing.assert_array_equal(w1, W0)


def schedule_free_by_the_paper(b1, b2, eps, warmup, lr=0.1):
    """Defazio et al. (2024), Algorithm 1 (AdamW), with x, y and z kept apart: (y_t, x_t) after
    each step. With Keras's two choices: averaging weights 1/t (the paper's: lr_t^2 / sum
    lr_i^2), and eps added to sqrt(v_hat) (the paper's z step is
    lr sqrt(1 - b2^t) g / (sqrt(v) + eps))."""
    x, z, v, out = W0, W0, np.zeros(3), []
    for t, g in enumerate(GRADS, start=1):  # g: the gradient at y = (1 - b1) z + b1 x
        v = b2 * v + (1 - b2) * g * g
        lr_t = lr * min(1.0, t / warmup) if warmup else lr
        z = z - lr_t * g / (np.sqrt(v / (1 - b2**t)) + eps)
        x = (1 - 1 / t) * x + z / t
        out.append(((1 - b1) * z + b1 * x, x))
    return out


@pytest.mark.parametrize("warmup", [0, 2])
def test_schedule_free_adamw_is_the_papers_rule(warmup):
    rule = RULES["schedule_free_adamw"](beta_1=0.8, beta_2=0.9, epsilon=0.05, warmup_steps=warmup)
    expected = schedule_free_by_the_paper(0.8, 0.9, 0.05, warmup)
    assert_steps(run_rule(rule), [y for y, _ in expected])
    # the variable holds y; x, the paper's evaluation point, is recovered from y and z
    state, w = rule.init(W0), W0
    for t, (g, (_, x)) in enumerate(zip(GRADS, expected, strict=True), start=1):
        w = rule.update(g, w, state, 0.1, t)
        np.testing.assert_allclose(rule.average(w, state), x, rtol=1e-12, atol=1e-15)


def test_schedule_free_adamw_steps_by_hand():
    """Step 1 is Adam's (x = z = y); step 2 moves y by (1 - b1 / 2) of z's step; the warmup
    scales the rate by t / warmup_steps."""
    b1, b2 = 0.8, 0.9
    w1, w2 = run_rule(
        RULES["schedule_free_adamw"](beta_1=b1, beta_2=b2, epsilon=0.0), grads=GRADS[:2]
    )
    np.testing.assert_allclose(w1, W0 - 0.1 * np.sign(GRADS[0]), rtol=1e-12)
    v2 = b2 * (1 - b2) * GRADS[0] ** 2 + (1 - b2) * GRADS[1] ** 2
    z_step = 0.1 * GRADS[1] / np.sqrt(v2 / (1 - b2**2))
    np.testing.assert_allclose(w2, w1 - (1 - b1 / 2) * z_step, rtol=1e-12)
    (w1,) = run_rule(RULES["schedule_free_adamw"](epsilon=0.0, warmup_steps=4), grads=GRADS[:1])
    np.testing.assert_allclose(w1, W0 - 0.025 * np.sign(GRADS[0]), rtol=1e-12)
    # b1 = 1: the gradient is taken at x, the plain average of the z's (primal averaging)
    rule = RULES["schedule_free_adamw"](beta_1=1.0, epsilon=0.0)
    w1, w2 = run_rule(rule, grads=GRADS[:2])
    state = rule.init(W0)
    rule.update(GRADS[0], W0, state, 0.1, 1)
    z1 = state["z"].copy()
    rule.update(GRADS[1], w1, state, 0.1, 2)
    np.testing.assert_allclose(w2, (z1 + state["z"]) / 2, rtol=1e-12)


def quadratic_gradient(weights):
    """The gradient of 0.5 (w_1^2 + 2 w_2^2) over two variables."""
    return [weights[0], 2 * weights[1]]


def test_sam_step_by_hand():
    """On 0.5 (w_1^2 + 2 w_2^2) at w = (3, 4): g = (3, 8), ||g|| = sqrt(73) over both
    variables; the base (SGD) steps from w with the gradient at w + e."""
    w, curvature, rho = np.array([3.0, 4.0]), np.array([1.0, 2.0]), 0.5
    sgd = ReferenceOptimizer(RULES["sgd"](), 0.1)
    new = sam_step([w[:1], w[1:]], quadratic_gradient, rho, False, sgd)
    e = rho * np.array([3.0, 8.0]) / np.sqrt(73)
    np.testing.assert_allclose(np.concatenate(new), w - 0.1 * curvature * (w + e), rtol=1e-12)
    assert sgd.iterations == 1  # one base step for two gradients
    # ASAM: e = rho w^2 g / || |w| g ||, with |w| g = (9, 32)
    sgd = ReferenceOptimizer(RULES["sgd"](), 0.1)
    new = sam_step([w[:1], w[1:]], quadratic_gradient, rho, True, sgd)
    e = rho * np.array([27.0, 128.0]) / np.sqrt(9**2 + 32**2)
    np.testing.assert_allclose(np.concatenate(new), w - 0.1 * curvature * (w + e), rtol=1e-12)
    # at a stationary point: no perturbation (eps keeps 0 / 0 away), and the base sees g = 0
    sgd = ReferenceOptimizer(RULES["sgd"](), 0.1)
    with np.errstate(all="raise"):
        (still,) = sam_step([np.zeros(2)], lambda ws: [ws[0]], rho, False, sgd)
    np.testing.assert_array_equal(still, [0.0, 0.0])


def test_sam_step_near_a_stationary_point_divides_by_the_norm_plus_eps():
    """At ||g|| = 3 eps (eps = 1e-12), e = rho g / (||g|| + eps) is 3/4 of rho long, not rho:
    eps is added to the norm (on Keras's side too, optbench/optim/sam.py)."""
    assert SAM_EPS == 1e-12
    rho, lr = 0.5, 0.1
    w = np.array([3e-12, 0.0])  # the gradient of 0.5 ||w||^2 is w: ||g|| = 3e-12
    sgd = ReferenceOptimizer(RULES["sgd"](), lr)
    (new,) = sam_step([w], lambda ws: [ws[0]], rho, False, sgd)
    e = rho * w / (np.linalg.norm(w) + 1e-12)
    np.testing.assert_allclose(e, [0.375, 0.0], rtol=1e-12)
    np.testing.assert_allclose(new, w - lr * (w + e), rtol=1e-12)
    # ASAM: || |w| g || = 3e-12 with w = 1e-6 and g = 3 w
    w = np.array([1e-6])
    sgd = ReferenceOptimizer(RULES["sgd"](), lr)
    (new,) = sam_step([w], lambda ws: [3 * ws[0]], rho, True, sgd)
    e = rho * w**2 * (3 * w) / (np.abs(w) * 3 * w + 1e-12)
    np.testing.assert_allclose(e, 0.375e-6, rtol=1e-9)
    np.testing.assert_allclose(new, w - lr * 3 * (w + e), rtol=1e-12)


@pytest.mark.parametrize("adaptive", [False, True])
def test_sam_step_refuses_a_gradient_list_that_does_not_match_the_weights(adaptive):
    """Before the second gradient is taken or the base optimizer is touched."""
    calls = []

    def one_gradient(ws):
        calls.append(len(ws))
        return [np.ones(2)]

    sgd = ReferenceOptimizer(RULES["sgd"](), 0.1)
    with pytest.raises(ValueError):
        sam_step([np.ones(2), np.ones(3)], one_gradient, 0.5, adaptive, sgd)
    assert calls == [2]  # the gradient at w only
    assert sgd.states == [] and sgd.iterations == 0


def test_evaluation_weights_are_schedule_frees_average_else_the_weights():
    sgd = ReferenceOptimizer(RULES["momentum"](), 0.1)  # no average: the weights themselves
    weights = [W0.copy()]
    assert sgd.evaluation_weights(weights) is weights
    weights = sgd.apply([GRADS[0]], weights)
    assert sgd.evaluation_weights(weights) is weights
    rule = RULES["schedule_free_adamw"](beta_1=0.8, beta_2=0.9, epsilon=0.05)
    opt = ReferenceOptimizer(rule, 0.1)
    start = [W0.copy(), np.array([0.5, 2.0])]
    assert opt.evaluation_weights(start) is start  # before the first step: no z yet
    weights = start
    for g in GRADS[:2]:
        weights = opt.apply([g, 2 * g[:2]], weights)
    x = opt.evaluation_weights(weights)
    for w, s, xi in zip(weights, opt.states, x, strict=True):
        np.testing.assert_array_equal(xi, (w - (1 - 0.8) * s["z"]) / 0.8)
    np.testing.assert_allclose(x[0], schedule_free_by_the_paper(0.8, 0.9, 0.05, 0)[1][1])
    with pytest.raises(ValueError):  # one state per variable: a shorter list is refused
        opt.evaluation_weights(weights[:1])


def test_cosine_decay_by_hand():
    lr = cosine_decay(0.2, 100, alpha=0.1)
    assert lr(0) == pytest.approx(0.2)
    assert lr(25) == pytest.approx(0.2 * (0.9 * 0.5 * (1 + np.cos(np.pi / 4)) + 0.1))
    assert lr(50) == pytest.approx(0.2 * (0.9 * 0.5 + 0.1))
    assert lr(100) == pytest.approx(0.02) and lr(250) == pytest.approx(0.02)  # held at alpha
    assert cosine_decay(1.0, 10)(10) == pytest.approx(0.0, abs=1e-15)  # alpha defaults to 0


def sgd_steps(opt, n, grads=None):
    """The update each of n plain-SGD steps applied (w_t - w_{t+1}), starting from W0."""
    weights, moves = [W0.copy()], []
    for i in range(n):
        g = [np.ones(3)] if grads is None else [grads[i]]
        new = opt.apply(g, weights)
        moves.append(weights[0] - new[0])
        weights = new
    return moves


def test_a_schedule_is_read_at_the_step_count_before_the_update():
    lr = cosine_decay(0.2, 4)
    opt = ReferenceOptimizer(RULES["sgd"](), lr)
    moves = sgd_steps(opt, 5)
    assert [m[0] for m in moves] == pytest.approx([lr(0), lr(1), lr(2), lr(3), lr(4)])
    assert opt.iterations == 5 and opt.lr() == pytest.approx(lr(5))
    constant = ReferenceOptimizer(RULES["sgd"](), 0.3)
    assert constant.lr() == 0.3 and isinstance(constant.lr(), float)


def test_the_rule_sees_t_from_1_and_keeps_its_state_across_apply_calls():
    opt = ReferenceOptimizer(RULES["adam"](beta_1=0.8, beta_2=0.9, epsilon=0.05), 0.1)
    weights = [W0.copy()]
    for g in GRADS:
        weights = opt.apply([g], weights)
    np.testing.assert_allclose(weights[0], adam_by_the_paper(0.8, 0.9, 0.05)[-1], rtol=1e-12)
    assert len(opt.states) == 1


def test_clipnorm_rescales_each_variable_above_the_norm_only():
    opt = ReferenceOptimizer(RULES["sgd"](), 1.0, clipnorm=2.0)
    big, small = np.array([3.0, 4.0]), np.array([0.6, 0.8])  # norms 5 and 1
    clipped = opt.clip([big, small])
    np.testing.assert_allclose(clipped[0], [1.2, 1.6])
    np.testing.assert_allclose(clipped[1], small)
    np.testing.assert_allclose(opt.clip([np.array([0.0, 2.0])])[0], [0.0, 2.0])  # at the norm


def test_global_clipnorm_rescales_all_variables_together():
    opt = ReferenceOptimizer(RULES["sgd"](), 1.0, global_clipnorm=2.5)
    grads = [np.array([3.0, 4.0]), np.array([0.0, 0.0, 0.0])]  # global norm 5
    clipped = opt.clip(grads)
    np.testing.assert_allclose(clipped[0], [1.5, 2.0])
    np.testing.assert_allclose(clipped[1], [0.0, 0.0, 0.0])
    below = [np.array([1.0, 0.0]), np.array([0.0, 1.0, 1.0])]  # global norm sqrt(3) < 2.5
    for a, b in zip(opt.clip(below), below, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12)


def test_clipvalue_clips_each_element():
    opt = ReferenceOptimizer(RULES["sgd"](), 1.0, clipvalue=0.5)
    np.testing.assert_array_equal(opt.clip([np.array([-2.0, 0.2, 0.7])])[0], [-0.5, 0.2, 0.5])
    plain = [np.array([-2.0, 9.0])]
    assert ReferenceOptimizer(RULES["sgd"](), 1.0).clip(plain) is plain


def test_clipping_happens_before_the_step():
    opt = ReferenceOptimizer(RULES["sgd"](), 0.1, clipvalue=0.5)
    (move,) = sgd_steps(opt, 1, grads=[np.array([2.0, -0.2, -3.0])])
    np.testing.assert_allclose(move, [0.05, -0.02, -0.05])


def test_decoupled_weight_decay_shrinks_the_weights_by_lr_times_wd_first():
    """w <- w - lr wd w, then the rule's step from the decayed weights (matters for Lamb)."""
    opt = ReferenceOptimizer(RULES["sgd"](), 0.1, weight_decay=0.5)
    (w1,) = opt.apply([GRADS[0]], [W0.copy()])
    np.testing.assert_allclose(w1, W0 * (1 - 0.05) - 0.1 * GRADS[0], rtol=1e-12)
    lamb = ReferenceOptimizer(RULES["lamb"](epsilon=0.0), 0.1, weight_decay=0.5)
    (w1,) = lamb.apply([GRADS[0]], [W0.copy()])
    decayed = W0 * 0.95
    u = np.sign(GRADS[0])  # Adam's first direction with eps = 0
    ratio = np.linalg.norm(decayed) / np.linalg.norm(u)
    np.testing.assert_allclose(w1, decayed - 0.1 * ratio * u, rtol=1e-12)


def test_apply_refuses_a_gradient_list_that_does_not_match_the_weights():
    opt = ReferenceOptimizer(RULES["sgd"](), 0.1)
    with pytest.raises(ValueError):
        opt.apply([np.ones(2)], [np.zeros(2), np.zeros(3)])


def test_apply_updates_every_variable_with_its_own_state():
    opt = ReferenceOptimizer(RULES["momentum"](momentum=0.5), 0.1)
    weights = [np.array([1.0, 2.0]), np.array([[0.5]])]
    weights = opt.apply([np.array([1.0, -1.0]), np.array([[2.0]])], weights)
    weights = opt.apply([np.array([1.0, -1.0]), np.array([[0.0]])], weights)
    np.testing.assert_allclose(weights[0], [1.0 - 0.1 - 0.15, 2.0 + 0.1 + 0.15])
    np.testing.assert_allclose(weights[1], [[0.5 - 0.2 - 0.1]])


# ---------------------------------------------------------------- from_config
def from_cfg(opt, schedule=None, total_steps=40):
    from optbench.optim.reference import from_config
    from optbench.schema import ScheduleConfig

    return from_config(opt, schedule or ScheduleConfig(name="constant"), total_steps)


def test_from_config_builds_the_rule_with_the_configs_fields():
    from optbench.optim.reference import Adam, Nadam
    from optbench.schema import AdamConfig, CosineConfig, MomentsConfig

    opt = AdamConfig(name="adamw", lr=0.02, beta_1=0.8, beta_2=0.95, epsilon=1e-5)
    opt.weight_decay, opt.global_clipnorm = 0.004, 1.5
    ref = from_cfg(opt, CosineConfig(name="cosine", alpha=0.1, decay_steps=None), total_steps=40)
    assert ref.rule == Adam(beta_1=0.8, beta_2=0.95, epsilon=1e-5)
    assert (ref.weight_decay, ref.global_clipnorm, ref.clipnorm, ref.clipvalue) == (
        0.004,
        1.5,
        None,
        None,
    )
    expected = cosine_decay(0.02, 40, 0.1)
    assert [ref.learning_rate(t) for t in (0, 20, 40, 60)] == pytest.approx(
        [expected(t) for t in (0, 20, 40, 60)]
    )
    fixed = from_cfg(opt, CosineConfig(name="cosine", alpha=0.0, decay_steps=10), total_steps=40)
    assert fixed.learning_rate(5) == pytest.approx(0.01) and fixed.learning_rate(10) == 0.0
    nadam = from_cfg(MomentsConfig(name="nadam", lr=0.3, beta_1=0.7))
    assert nadam.rule == Nadam(beta_1=0.7) and nadam.learning_rate == 0.3
    assert nadam.weight_decay is None


def test_from_config_for_every_reference_rule():
    from optbench.optim import reference
    from optbench.schema import (
        AdagradConfig,
        LionConfig,
        MomentsConfig,
        RmspropConfig,
        ScheduleFreeConfig,
        SgdConfig,
    )

    cases = [
        (SgdConfig(name="nesterov", momentum=0.7, nesterov=True), reference.SGD(0.7, True)),
        (SgdConfig(name="momentum", momentum=0.6, clipvalue=0.5), reference.SGD(0.6)),
        (
            AdagradConfig(name="adagrad", initial_accumulator_value=0.2),
            reference.Adagrad(1e-7, 0.2),
        ),
        (RmspropConfig(name="rmsprop", rho=0.8, momentum=0.1), reference.RMSprop(0.8, 0.1)),
        (LionConfig(name="lion", beta_1=0.85), reference.Lion(0.85, 0.99)),
        (MomentsConfig(name="lamb", beta_2=0.9), reference.Lamb(beta_2=0.9)),
        (
            ScheduleFreeConfig(name="schedule_free_adamw", beta_1=0.8, warmup_steps=5),
            reference.ScheduleFreeAdamW(0.8, 0.999, 1e-8, 5),
        ),
    ]
    for opt, rule in cases:
        ref = from_cfg(opt)
        assert ref.rule == rule and type(ref.rule) is type(rule)
        assert ref.learning_rate == opt.lr and ref.clipvalue == opt.clipvalue
    assert from_cfg(SgdConfig(name="sgd", clipnorm=2.0)).clipnorm == 2.0


def custom_rule(**keys):
    from optbench.schema.optimizer import custom_config

    return custom_config({"name": "custom", "target": "sign_descent:SignRule", **keys})


def test_from_config_builds_a_custom_rule_with_its_keywords_and_the_shared_settings(
    monkeypatch,
):
    """optimizer=custom: the user's rule class (tests/custom_optimizers/), built with their
    keys; the learning rate, schedule, clipping and decay are ReferenceOptimizer's. It is
    resolved for NumPy as the run's record resolves it, so the module is imported once."""
    from optbench.optim import custom
    from optbench.schema import CosineConfig

    monkeypatch.syspath_prepend(str(Path(__file__).parent / "custom_optimizers"))
    custom._resolved.cache_clear()
    imports = []
    real_import = custom._import
    monkeypatch.setattr(custom, "_import", lambda t: imports.append(t) or real_import(t))
    opt = custom_rule(lr=0.2, beta=0.5, clipnorm=2.0, weight_decay=0.01)
    ref = from_cfg(opt, CosineConfig(name="cosine", alpha=0.1, decay_steps=None), total_steps=40)
    assert type(ref.rule).__name__ == "SignRule" and ref.rule.beta == 0.5
    assert (ref.clipnorm, ref.weight_decay, ref.global_clipnorm, ref.clipvalue) == (
        2.0,
        0.01,
        None,
        None,
    )
    assert ref.learning_rate(20) == pytest.approx(cosine_decay(0.2, 40, 0.1)(20))
    (w1,) = ref.apply([np.array([2.0, -1.0, 0.0])], [W0.copy()])
    np.testing.assert_allclose(w1, W0 * (1 - 0.2 * 0.01) - 0.2 * np.array([1.0, -1.0, 0.0]))
    assert custom.resolve(opt, "numpy").cls is type(ref.rule)
    assert imports == ["sign_descent:SignRule"]
    with pytest.raises(OptbenchError, match="sign_descent:SignDescent is not a reference rule"):
        from_cfg(custom_rule(target="sign_descent:SignDescent"))


def test_from_config_names_what_it_cannot_run():
    from optbench.schema import AdamConfig, MomentsConfig, RmspropConfig, ScheduleConfig

    with pytest.raises(OptbenchError) as info:
        from_cfg(MomentsConfig(name="adamax"))
    assert str(info.value) == (
        "optimizer=adamax has no NumPy reference implementation (those are: sgd, momentum, "
        "nesterov, adagrad, rmsprop, adam, adamw, nadam, lion, lamb, schedule_free_adamw, custom); use "
        "model.implementation=keras to run Keras's."
    )
    for opt, key in [
        (RmspropConfig(name="rmsprop", centered=True), "centered"),
        (AdamConfig(name="adam", amsgrad=True), "amsgrad"),
        (AdamConfig(name="adam", use_ema=True), "use_ema"),
    ]:
        with pytest.raises(OptbenchError) as info:
            from_cfg(opt)
        assert str(info.value) == (
            f"optimizer.{key}=True is not in the NumPy reference optimizers; use "
            "model.implementation=keras."
        )
    with pytest.raises(OptbenchError) as info:
        from_cfg(AdamConfig(name="adam"), ScheduleConfig(name="step"))
    assert str(info.value) == (
        "schedule=step is not in the NumPy reference optimizers (constant, cosine); use "
        "model.implementation=keras."
    )
