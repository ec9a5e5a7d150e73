"""The backend contract (optbench/backends/): every module there is a Backend, and each passes
the same checks on its own framework: configure on the default hardware, gradients equal to
the analytic ones, a step through ``stateful_step`` equal to Keras's own, the input pipeline,
reset and versions. Keras picks its backend once per process, so the checks run here for the
backend this process has and in one fresh process for each other."""

from __future__ import annotations

import functools
import importlib.util
import sys
from importlib import metadata
from pathlib import Path

import numpy as np
import pytest

from optbench import backends
from optbench.errors import OptbenchError
from tests.conftest import hardware_cfg, on_backend, requires

REPO = Path(__file__).parent.parent
PROTOCOL = [name for name in vars(backends.Backend) if not name.startswith("_")]
PROTOCOL += list(backends.Backend.__annotations__)  # LIMITS
INSTALLED = [
    pytest.param(
        name,
        marks=requires(
            importlib.util.find_spec(name) is not None,
            f"{name} is not installed: pip install -e '.[{name}]'",
        ),
    )
    for name in backends.BACKENDS
]


hardware = hardware_cfg


def test_the_backends_are_the_modules_in_the_package_the_default_first():
    assert backends.BACKENDS == ("tensorflow", "jax", "torch")


@pytest.mark.parametrize("name", backends.BACKENDS)
def test_every_backend_module_has_the_whole_protocol(name):
    module = backends.get(name)
    assert [member for member in PROTOCOL if not hasattr(module, member)] == []


@pytest.mark.parametrize(
    ("backend", "settings", "refusal"),
    [
        ("torch", {"xla": True}, "hardware.xla=true with hardware.backend=torch: the torch "),
        ("torch", {"gpus": "all"}, "hardware.gpus=all with hardware.backend=torch: optbench "),
    ],
)
def test_limits_refuse_what_the_backend_cannot_do(backend, settings, refusal):
    gpu = "gpus" in settings
    with pytest.raises(OptbenchError, match=f"^{refusal}"):
        backends.check(hardware(backend, gpu, **settings))


@pytest.mark.parametrize("name", ["tensorflow", "jax"])
def test_the_others_take_xla_and_every_gpu(name, monkeypatch):
    monkeypatch.setattr(importlib.util, "find_spec", lambda _: object())  # installed or not
    backends.check(hardware(name, xla=True))
    backends.check(hardware(name, True, gpus="all"))


# --- what runs on the backend itself -------------------------------------------------------


def cross_entropy_gradient(kernel: np.ndarray, bias: np.ndarray, x: np.ndarray, y: np.ndarray):
    """The mean softmax cross-entropy and its gradient: X^T (P - Y) / n, mean(P - Y)."""
    logits = x.astype(np.float64) @ kernel + bias
    p = np.exp(logits - logits.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    loss = -np.mean(np.log(p[np.arange(len(y)), y]))
    p[np.arange(len(y)), y] -= 1
    return loss, [x.T @ p / len(y), p.mean(axis=0)]


def run_contract(name: str) -> dict:
    """Every check on backend ``name`` in this process (which must run it, or no Keras yet)."""
    from optbench.hardware import configure, reset, select_backend

    hw = hardware(name)
    select_backend(hw)
    backend = backends.get(name)
    setup = configure(hw, seed=0)
    import keras

    rng = np.random.default_rng(0)
    x = rng.normal(0, 1, (16, 4)).astype("float32")
    y = rng.integers(0, 3, 16)
    kernel, bias = rng.normal(0, 0.5, (4, 3)), rng.normal(0, 0.5, 3)

    def softmax_regression(cls: type = keras.Model) -> keras.Model:
        inputs = keras.Input((4,))
        model = cls(inputs, keras.layers.Dense(3, activation="softmax")(inputs))
        model.set_weights([kernel.astype("float32"), bias.astype("float32")])
        model.compile(optimizer=keras.optimizers.SGD(0.5), loss="sparse_categorical_crossentropy")
        return model

    model = softmax_regression()
    xs, ys = keras.ops.convert_to_tensor(x), keras.ops.convert_to_tensor(y)
    crossentropy = keras.losses.SparseCategoricalCrossentropy()
    loss, grads = backend.value_and_grad(model, crossentropy, xs, ys)
    want_loss, want = cross_entropy_gradient(kernel, bias, x, y)
    gradient_error = max(
        float(np.max(np.abs(keras.ops.convert_to_numpy(g) - w)))
        for g, w in zip(grads, want, strict=True)
    )
    (_, aux), _ = backend.value_and_grad(
        model, lambda t, p: (crossentropy(t, p), p), xs, ys, training=True, has_aux=True
    )
    untouched = np.array_equal(model.get_weights()[0], kernel.astype("float32"))

    compiled = backend.compile(
        model, lambda a, b: backend.value_and_grad(model, crossentropy, a, b)[0]
    )
    first = float(compiled(xs, ys))
    model.set_weights([np.zeros((4, 3), "float32"), np.zeros(3, "float32")])
    after_change = float(compiled(xs, ys))  # reads the weights at each call

    class OwnStep(keras.Model):  # a plain SGD step written against variables
        def train_step(self, *args):
            def step(model, data):
                inputs, labels = data
                loss, grads = backend.value_and_grad(
                    model, model.compute_loss_fn, inputs, labels, training=True
                )
                backend.apply(model.optimizer, grads, model.trainable_variables)
                return {"loss": loss}

            return backend.stateful_step(self, step, *args)

    keras_own, ours = softmax_regression(), softmax_regression(OwnStep)
    ours.compute_loss_fn = crossentropy
    for trained in (keras_own, ours):
        trained.fit(x, y, batch_size=16, epochs=2, shuffle=False, verbose=0)
    step_error = max(
        float(np.max(np.abs(a - b)))
        for a, b in zip(keras_own.get_weights(), ours.get_weights(), strict=True)
    )
    history = softmax_regression().fit(**backend.input_pipeline(x, y, 4, 0), epochs=1, verbose=0)

    def seeded_fit() -> list:
        """Random init and shuffled batches from seed 3, as a run seeds them."""
        backends.set_random_seed(3)
        inputs = keras.Input((4,))
        net = keras.Model(inputs, keras.layers.Dense(3, activation="softmax")(inputs))
        net.compile(optimizer=keras.optimizers.SGD(0.5), loss="sparse_categorical_crossentropy")
        net.fit(**backend.input_pipeline(x, y, 4, 0), epochs=2, verbose=0)
        return net.get_weights()

    without_tf = "tensorflow" not in sys.modules  # JAX and torch: a run never loads it
    alone = seeded_fit()
    import tensorflow  # noqa: F401  # now Keras seeds TensorFlow too, as it does by itself

    same_seeded = all(np.array_equal(a, b) for a, b in zip(alone, seeded_fit(), strict=True))
    reset()
    return {
        "tensorflow_unloaded": without_tf,
        "same_with_tensorflow_seeded": same_seeded,
        "keras": keras.backend.backend(),
        "devices": setup.tags["optbench.devices"],
        "loss_error": abs(float(loss) - want_loss),
        "gradient_error": gradient_error,
        "aux_shape": list(keras.ops.shape(aux)),
        "untouched": untouched,
        "compiled_error": abs(first - want_loss),
        "compiled_reads_weights": abs(after_change - float(np.log(3))) < 1e-5,
        "step_error": step_error,
        "pipeline_steps": len(history.history["loss"]),
        "versions": backend.versions(),
    }


@functools.cache
def contract_on(name: str) -> dict:
    """``run_contract`` on backend ``name``, here or in a fresh process."""
    return on_backend(name, "tests.test_backends", "run_contract")


@pytest.mark.slow  # a fresh process per backend (TensorFlow and Keras load in each)
@pytest.mark.parametrize("name", INSTALLED)
def test_every_backend_passes_the_contract(name):
    result = contract_on(name)
    assert result["keras"] == name and result["devices"] in ("/CPU:0", "cpu:0", "cpu")
    assert result["loss_error"] < 1e-5 and result["gradient_error"] < 1e-5, result
    assert result["aux_shape"] == [16, 3] and result["untouched"]
    assert result["compiled_error"] < 1e-5 and result["compiled_reads_weights"], result
    assert result["step_error"] < 1e-6, result  # the same step as Keras's own
    assert result["pipeline_steps"] == 1
    assert result["versions"][name] == metadata.version(name)  # the backend's own distribution
    # backends.set_random_seed: seeding TensorFlow (what keras.utils.set_random_seed adds, and
    # ~2 s of start-up) changes nothing on JAX or torch, so their runs leave it unloaded
    assert result["tensorflow_unloaded"] == (name != "tensorflow")
    assert result["same_with_tensorflow_seeded"]
