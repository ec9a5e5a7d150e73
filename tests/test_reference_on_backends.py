"""optbench's SAM step and ScheduleFreeAdamW against the NumPy references
(optbench/optim/reference.py), on each Keras backend.

A process runs one backend, fixed when keras is first imported (TensorFlow unless
KERAS_BACKEND says otherwise). So each check is a function that returns its error; this process
runs the checks on its own backend and a fresh Python runs them on the others (``results_on``).

* SAM and ASAM around SGD with momentum and around Adam. optbench/optim/sam.py has one step
  function per backend. The check runs one ``train_on_batch`` of a softmax regression on
  TrainStepModel, against ``reference.sam_step`` with the cross-entropy gradient written out
  in NumPy.
* ScheduleFreeAdamW: a few ``train_on_batch`` steps of the same model, against
  ``reference.ScheduleFreeAdamW``: optbench's subclass (optbench/optim/schedule_free.py) on
  every backend, and Keras 3.15.1's own, which is wrong on TensorFlow (and torch), as a canary;
  and the point it is evaluated at, the average x (``averaged_weights``, ``use_average``).

Keras runs in float32 and the references in float64, so the tolerance is 1e-5 absolute."""

from __future__ import annotations

import functools
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest

from optbench.models.train_step import TrainStepModel
from optbench.optim.reference import RULES, ReferenceOptimizer, ScheduleFreeAdamW, sam_step
from optbench.optim.schedule_free import ScheduleFreeAdamW as OptbenchScheduleFreeAdamW
from tests.conftest import requires

REPO = Path(__file__).resolve().parents[1]
N, D, K = 16, 5, 3  # batch size, features, classes
RHO = 0.05
ATOL = 1e-5
# base -> (its Keras optimizer, its reference). One step barely depends on which gradient it
# takes unless the rate is large, and Adam's first step is lr sign(g) unless eps is large
# (test_one_step_tells_sam_from_its_base).
BASES = {
    "momentum": (
        lambda: keras.optimizers.SGD(0.5, momentum=0.9),
        lambda: ReferenceOptimizer(RULES["momentum"](), 0.5),
    ),
    "adam": (
        lambda: keras.optimizers.Adam(0.1, epsilon=1e-2),
        lambda: ReferenceOptimizer(RULES["adam"](epsilon=1e-2), 0.1),
    ),
}
SAM_CASES = [(adaptive, base) for base in BASES for adaptive in (False, True)]
SCHEDULE_FREE_STEPS = 5
SCHEDULE_FREE = {"beta_1": 0.9, "learning_rate": 0.05, "warmup_steps": 2, "weight_decay": 0.01}
# the ScheduleFreeAdamW classes checked: optbench's (what optimizer=schedule_free_adamw builds)
# and Keras's (the canary)
SCHEDULE_FREE_CLASSES = {
    "optbench": OptbenchScheduleFreeAdamW,
    "keras": keras.optimizers.ScheduleFreeAdamW,
}
BACKENDS = [  # this process's TensorFlow in the fast tier; a fresh JAX or torch one: acceptance
    pytest.param(
        name,
        marks=[
            requires(
                importlib.util.find_spec(name) is not None,
                f"{name} is not installed: pip install -e '.[{name}]'",
            ),
            *([] if name == "tensorflow" else [pytest.mark.acceptance]),
        ],
    )
    for name in ("tensorflow", "jax", "torch")
]


def batch() -> tuple[np.ndarray, np.ndarray, list[np.ndarray]]:
    """A fixed batch (float32 features, integer labels) and the starting kernel and bias,
    nonzero so that ASAM's |w| scaling moves every weight."""
    rng = np.random.default_rng(0)
    x = rng.normal(0, 1, (N, D)).astype("float32")
    y = rng.integers(0, K, N)
    start = [rng.normal(0, 0.5, (D, K)).astype("float32"), rng.normal(0, 0.5, K).astype("float32")]
    return x, y, start


def cross_entropy_gradient(weights: list[np.ndarray], x: np.ndarray, y: np.ndarray) -> list:
    """The gradient of the mean softmax cross-entropy: X^T (P - Y) / n for the kernel and
    mean(P - Y) for the bias (P: the softmax, Y: the one-hot labels)."""
    kernel, bias = weights
    x = x.astype(np.float64)
    logits = x @ kernel + bias
    p = np.exp(logits - logits.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    p[np.arange(len(y)), y] -= 1
    return [x.T @ p / len(y), p.mean(axis=0)]


def softmax_regression(optimizer: keras.optimizers.Optimizer, **step: float) -> TrainStepModel:
    """optbench's logreg as models/keras.build_model builds it, without the penalty, compiled
    as optbench compiles by default (hardware.xla=null: XLA on JAX only). It starts from
    ``batch``'s weights."""
    inputs = keras.Input(shape=(D,), name="features")
    outputs = keras.layers.Dense(K, activation="softmax", dtype="float32", name="softmax")(inputs)
    model = TrainStepModel(inputs, outputs, name="logreg", **step)
    model.compile(
        optimizer=optimizer,
        loss="sparse_categorical_crossentropy",
        jit_compile=keras.backend.backend() == "jax",
    )
    model.set_weights(batch()[2])
    return model


def max_error(ours: list[np.ndarray], model: TrainStepModel) -> float:
    return max(float(np.max(np.abs(a - b))) for a, b in zip(ours, model.get_weights(), strict=True))


def check_sam_step(adaptive: bool, base: str) -> float:
    """Max |Keras - reference| over the kernel and bias after one SAM step on this process's
    backend."""
    x, y, start = batch()
    keras_optimizer, reference = BASES[base]
    model = softmax_regression(keras_optimizer(), sam_rho=RHO, sam_adaptive=adaptive)
    model.train_on_batch(x, y)
    ours = sam_step(
        [w.astype(np.float64) for w in start],
        lambda w: cross_entropy_gradient(w, x, y),
        RHO,
        adaptive,
        reference(),
    )
    return max_error(ours, model)


def schedule_free_reference(rule: ScheduleFreeAdamW | None = None) -> ReferenceOptimizer:
    """The NumPy rule with SCHEDULE_FREE's settings (``rule``: another rule in its place)."""
    settings = {
        k: v for k, v in SCHEDULE_FREE.items() if k not in ("learning_rate", "weight_decay")
    }
    return ReferenceOptimizer(
        rule or ScheduleFreeAdamW(**settings),
        SCHEDULE_FREE["learning_rate"],
        weight_decay=SCHEDULE_FREE["weight_decay"],
    )


def schedule_free_steps(reference: ReferenceOptimizer) -> list[np.ndarray]:
    """The weights after SCHEDULE_FREE_STEPS steps of ``reference`` on ``batch``."""
    x, y, start = batch()
    weights = [w.astype(np.float64) for w in start]
    for _ in range(SCHEDULE_FREE_STEPS):
        weights = reference.apply(cross_entropy_gradient(weights, x, y), weights)
    return weights


def check_schedule_free(which: str) -> float:
    """Max |Keras - reference| after a few ``train_on_batch`` steps of
    SCHEDULE_FREE_CLASSES[which] (beta_1 = 0.9, warmup, weight decay) on this process's
    backend."""
    x, y, _ = batch()
    model = softmax_regression(SCHEDULE_FREE_CLASSES[which](**SCHEDULE_FREE))
    for _ in range(SCHEDULE_FREE_STEPS):
        model.train_on_batch(x, y)
    return max_error(schedule_free_steps(schedule_free_reference()), model)


def check_schedule_free_evaluation() -> dict[str, float]:
    """Max |Keras - reference| of the weights a schedule-free model is evaluated at (the
    average x, inside ``averaged_weights``), of the weights after the block (y again), and of
    the weights ``use_average`` leaves (x), on this process's backend."""
    from optbench.optim.schedule_free import averaged_weights, use_average

    x, y, start = batch()
    model = softmax_regression(OptbenchScheduleFreeAdamW(**SCHEDULE_FREE))
    for _ in range(SCHEDULE_FREE_STEPS):
        model.train_on_batch(x, y)
    reference = schedule_free_reference()
    weights = [w.astype(np.float64) for w in start]
    for _ in range(SCHEDULE_FREE_STEPS):
        weights = reference.apply(cross_entropy_gradient(weights, x, y), weights)
    average = reference.evaluation_weights(weights)
    with averaged_weights(model.optimizer, model.trainable_variables):
        inside = max_error(average, model)
    after = max_error(weights, model)
    use_average(model.optimizer, model.trainable_variables)
    use_average(model.optimizer, model.trainable_variables)  # a second call changes nothing
    return {"inside": inside, "after": after, "kept": max_error(average, model)}


def run_checks() -> dict[str, dict[str, float]]:
    """Every check on this process's backend: what a fresh process prints as JSON."""
    return {
        "sam": {f"{base}, adaptive={a}": check_sam_step(a, base) for a, base in SAM_CASES},
        "schedule_free": {which: check_schedule_free(which) for which in SCHEDULE_FREE_CLASSES},
        "schedule_free_evaluation": check_schedule_free_evaluation(),
    }


@functools.cache
def results_on(backend: str) -> dict[str, dict[str, float]]:
    """``run_checks`` on ``backend``: here if this process runs it, else in a fresh one."""
    if keras.backend.backend() == backend:
        return run_checks()
    code = (
        "import json; from tests.test_reference_on_backends import run_checks; "
        "print(json.dumps(run_checks()))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO,
        env={**os.environ, "KERAS_BACKEND": backend},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.splitlines()[-1])


@pytest.mark.slow
@pytest.mark.parametrize("backend", BACKENDS)
def test_sam_step_is_the_reference_rule(backend):
    errors = results_on(backend)["sam"]
    assert max(errors.values()) < ATOL, errors


@pytest.mark.slow
@pytest.mark.parametrize("backend", BACKENDS)
def test_schedule_free_adamw_is_the_reference_rule(backend):
    """optbench's ScheduleFreeAdamW runs the rule with the beta_1 it is given and z starting at
    the weights, in a train step on every backend."""
    errors = results_on(backend)["schedule_free"]
    assert errors["optbench"] < ATOL, errors


@pytest.mark.slow
@pytest.mark.parametrize("backend", BACKENDS)
def test_schedule_free_is_evaluated_at_its_average(backend):
    """The paper evaluates schedule-free at x, the average, not at y (the variables): inside
    ``averaged_weights`` the model holds the reference's x, after it y again, and
    ``use_average`` keeps x once training is over, on every backend."""
    errors = results_on(backend)["schedule_free_evaluation"]
    assert max(errors.values()) < ATOL, errors


def test_the_average_is_not_the_iterate():
    """The evaluation check could not pass by evaluating at y: after the steps, x and y differ
    by far more than the tolerance."""
    reference = schedule_free_reference()
    x, y, start = batch()
    weights = [w.astype(np.float64) for w in start]
    for _ in range(SCHEDULE_FREE_STEPS):
        weights = reference.apply(cross_entropy_gradient(weights, x, y), weights)
    average = reference.evaluation_weights(weights)
    assert max(float(np.max(np.abs(a - b))) for a, b in zip(average, weights, strict=True)) > (
        100 * ATOL
    )


@pytest.mark.slow
def test_keras_schedule_free_adamw_still_has_its_bugs():
    """Canary: Keras's own ScheduleFreeAdamW (3.15.1) does not run the rule on TensorFlow: it
    runs beta_1 = 1 (it recovers x from the z it has just updated; torch too), and in a train
    step z starts at 0, not at the weights (optbench/optim/schedule_free.py). If this fails
    after a Keras upgrade, Keras has fixed them: check JAX and torch too (``results_on``), then
    delete optbench/optim/schedule_free.py, point the registry row schedule_free_adamw back at
    keras="ScheduleFreeAdamW", and delete this test."""
    errors = results_on("tensorflow")["schedule_free"]
    assert errors["keras"] > 100 * ATOL, errors


class ZeroStartScheduleFree(ScheduleFreeAdamW):
    """The rule with z starting at 0, as Keras's train step on TensorFlow has it."""

    def init(self, w):
        return {"z": np.zeros_like(w), "v": np.zeros_like(w)}


def test_the_schedule_free_check_tells_either_bug_from_the_rule():
    """The ScheduleFreeAdamW check could not pass with either of Keras's bugs: beta_1 = 1, or z
    starting at 0, moves the weights far more than the tolerance away from the rule's."""
    warmup = SCHEDULE_FREE["warmup_steps"]
    rule = schedule_free_steps(schedule_free_reference())
    for buggy in (
        ScheduleFreeAdamW(beta_1=1.0, warmup_steps=warmup),
        ZeroStartScheduleFree(beta_1=SCHEDULE_FREE["beta_1"], warmup_steps=warmup),
    ):
        weights = schedule_free_steps(schedule_free_reference(buggy))
        assert max(float(np.max(np.abs(a - b))) for a, b in zip(rule, weights, strict=True)) > (
            100 * ATOL
        ), buggy


@pytest.mark.parametrize(("adaptive", "base"), SAM_CASES)
def test_one_step_tells_sam_from_its_base(adaptive, base):
    """The SAM check could not pass with the base's plain step: they differ by far more than
    the tolerance."""
    x, y, start = batch()
    weights = [w.astype(np.float64) for w in start]
    gradient = functools.partial(cross_entropy_gradient, x=x, y=y)
    sam = sam_step(weights, gradient, RHO, adaptive, BASES[base][1]())
    plain = BASES[base][1]().apply(gradient(weights), weights)
    assert max(float(np.max(np.abs(a - b))) for a, b in zip(sam, plain, strict=True)) > 20 * ATOL
