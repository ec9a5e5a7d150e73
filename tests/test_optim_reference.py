"""The NumPy reference optimizers run the same algorithms as keras.optimizers: the same
gradients for 100 steps leave the same weights (1e-6 relative), with and without weight
decay, gradient clipping and a learning-rate schedule."""

import numpy as np
import pytest

from optbench.optim.reference import RULES, ReferenceOptimizer, cosine_decay

keras = pytest.importorskip("keras")

# Keras computes Adam's bias correction from float32-rounded betas (about 7e-6 relative on
# the step for 0.999), so Adam is compared with betas that float32 holds exactly.
EXACT_BETAS = {"beta_1": float(np.float32(0.9)), "beta_2": float(np.float32(0.999))}
# name -> (keras class name, keras kwargs, reference kwargs, learning rate)
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


def digits_loss_gradient(weights):
    """Gradient of the mean softmax cross-entropy of a linear model on 200 real digits."""
    from sklearn.datasets import load_digits

    x, y = load_digits(return_X_y=True)
    x, y = x[:200] / 16.0, y[:200]
    w, b = weights
    logits = x @ w + b
    p = np.exp(logits - logits.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    p[np.arange(len(y)), y] -= 1
    return [x.T @ p / len(y), p.mean(axis=0)]


def run_both(name, tricks, gradient_source, schedule=False):
    keras_class, keras_kwargs, reference_kwargs, lr = OPTIMIZERS[name]
    if name == "adamw":  # AdamW = Adam + decoupled weight decay, 0.004 by default in Keras
        tricks = {"weight_decay": ADAMW_DEFAULT_DECAY, **tricks}
    rule = RULES[name.removesuffix("_momentum")](**reference_kwargs)
    rng = np.random.default_rng(0)
    start = [rng.normal(0, 0.1, (64, 10)), rng.normal(0, 0.1, (10,))]
    keras_lr = keras.optimizers.schedules.CosineDecay(lr, STEPS, alpha=0.1) if schedule else lr
    ref_lr = cosine_decay(lr, STEPS, alpha=0.1) if schedule else lr
    ours = ReferenceOptimizer(rule, ref_lr, **tricks)
    theirs = getattr(keras.optimizers, keras_class)(
        learning_rate=keras_lr, **keras_kwargs, **tricks
    )
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


@pytest.mark.parametrize("trick", list(TRICKS))
@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_reference_matches_keras_on_random_gradients(name, trick):
    ours, theirs, start = run_both(name, TRICKS[trick], "random")
    for a, w0 in zip(ours, start, strict=True):
        assert np.linalg.norm(a - w0) > 1e-3 * np.linalg.norm(w0)  # it moved
    assert_close(ours, theirs)


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
