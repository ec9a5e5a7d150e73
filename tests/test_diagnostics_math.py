"""The training diagnostics' instruments (optbench/diagnostics/) against exact results: the
Keras probe's gradients against finite differences, its Hessian-vector products, sharpness and
Hessian trace against dense Hessians (a closed form for softmax regression, central
differences of an analytic NumPy gradient for a tanh network), its dead-ReLU shares against
weights that fix them, and its noise rows against those of exact micro-batch gradients (the
noise-scale algebra of ``stats.noise_rows`` itself: tests/test_diagnostics_stats.py). Every
oracle is NumPy float64 and independent of Keras. The probe runs on TensorFlow, JAX and
PyTorch: Keras picks its backend once per process, so the checks run here for the backend this
process has (or TensorFlow when no Keras is loaded yet) and in one fresh process for each
other, as tests/test_backends.py does."""

from __future__ import annotations

import functools
import importlib.util
import itertools
import math
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from optbench import backends
from optbench.diagnostics.stats import ALL
from tests.conftest import keras_runs, on_backend, requires

REPO = Path(__file__).parent.parent

# --- NumPy float64 oracles -----------------------------------------------------------------
# A network is a list of (kernel (in, out), bias (out,)) pairs, Keras's layout and order: tanh
# on every layer but the last, softmax on the last; the loss is the mean cross-entropy.


def forward(params: list[np.ndarray], x: np.ndarray) -> tuple[list[np.ndarray], np.ndarray]:
    """The inputs of every layer and the last layer's softmax probabilities."""
    pairs = list(zip(params[::2], params[1::2], strict=True))
    inputs, a = [], np.asarray(x, np.float64)
    for i, (kernel, bias) in enumerate(pairs):
        inputs.append(a)
        z = a @ kernel + bias
        a = np.tanh(z) if i < len(pairs) - 1 else z
    p = np.exp(a - a.max(axis=1, keepdims=True))
    return inputs, p / p.sum(axis=1, keepdims=True)


def loss_of(params: list[np.ndarray], x: np.ndarray, y: np.ndarray) -> float:
    p = forward(params, x)[1]
    return float(-np.mean(np.log(p[np.arange(len(y)), y])))


def gradient_of(params: list[np.ndarray], x: np.ndarray, y: np.ndarray) -> list[np.ndarray]:
    """The loss's gradient by backpropagation, per array of ``params``."""
    inputs, p = forward(params, x)
    delta = p.copy()
    delta[np.arange(len(y)), y] -= 1
    delta /= len(y)  # d loss / d logits
    grads: list[np.ndarray] = []
    for layer in reversed(range(len(inputs))):
        a, kernel = inputs[layer], params[2 * layer]
        grads[:0] = [a.T @ delta, delta.sum(axis=0)]
        if layer:  # a = tanh(previous pre-activation)
            delta = (delta @ kernel.T) * (1 - a * a)
    return grads


def flat(arrays: list[np.ndarray]) -> np.ndarray:
    return np.concatenate([np.ravel(a) for a in arrays])


def unflat(vector: np.ndarray, like: list[np.ndarray]) -> list[np.ndarray]:
    out, at = [], 0
    for a in like:
        out.append(np.reshape(vector[at : at + a.size], a.shape))
        at += a.size
    return out


def fd_gradient(params: list[np.ndarray], x, y, h: float = 1e-6) -> list[np.ndarray]:
    """Central differences of the loss, per parameter."""
    theta = flat(params)
    grad = np.empty_like(theta)
    for i in range(theta.size):
        e = np.zeros_like(theta)
        e[i] = h
        up, down = (
            loss_of(unflat(theta + e, params), x, y),
            loss_of(unflat(theta - e, params), x, y),
        )
        grad[i] = (up - down) / (2 * h)
    return unflat(grad, params)


def fd_hessian(params: list[np.ndarray], x, y, h: float = 1e-5) -> np.ndarray:
    """The dense Hessian: central differences of the analytic gradient, symmetrised."""
    theta = flat(params)
    columns = []
    for i in range(theta.size):
        e = np.zeros_like(theta)
        e[i] = h
        up = flat(gradient_of(unflat(theta + e, params), x, y))
        down = flat(gradient_of(unflat(theta - e, params), x, y))
        columns.append((up - down) / (2 * h))
    hessian = np.stack(columns, axis=1)
    return (hessian + hessian.T) / 2


def softmax_regression_hessian(kernel: np.ndarray, bias: np.ndarray, x: np.ndarray) -> np.ndarray:
    """The exact Hessian of the mean cross-entropy of softmax(x W + b) in (kernel, bias) order,
    row-major: with x~ = [x, 1], theta = [W; b] is (d + 1, C) and flattens as (j, c) -> j C + c,
    so H = (1/n) sum_i (x~_i x~_i') kron (diag(p_i) - p_i p_i')."""
    p = forward([kernel, bias], x)[1]
    xt = np.hstack([x, np.ones((len(x), 1))]).astype(np.float64)
    blocks = [np.kron(np.outer(a, a), np.diag(q) - np.outer(q, q)) for a, q in zip(xt, p, strict=True)]  # fmt: skip
    return np.mean(blocks, axis=0)


def data(seed: int, n: int, d: int, classes: int, scale: Any = 1.0):
    rng = np.random.default_rng(seed)
    x = (rng.normal(0, 1, (n, d)) * scale).astype("float32")
    return x, rng.integers(0, classes, n)


def network(seed: int, sizes: list[int], spread: float = 0.8) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    params = []
    for fan_in, fan_out in itertools.pairwise(sizes):
        params += [rng.normal(0, spread, (fan_in, fan_out)), rng.normal(0, 0.3, fan_out)]
    return [p.astype("float32") for p in params]


def top_eigen(hessian: np.ndarray) -> tuple[float, float, np.ndarray]:
    """The eigenvalue of largest magnitude, the next magnitude over its, its unit vector."""
    eigen, vectors = np.linalg.eigh(hessian)
    order = np.argsort(np.abs(eigen))
    gap = abs(eigen[order[-2]]) / abs(eigen[order[-1]])
    return float(eigen[order[-1]]), float(gap), vectors[:, order[-1]]


def relative(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.linalg.norm(np.ravel(a) - np.ravel(b)) / np.linalg.norm(np.ravel(b)))


# The tanh network (4 -> 3 tanh -> 3 softmax, 27 parameters) on 8 examples (its Hessian
# indefinite, the largest eigenvalue 1.06 twice the next in magnitude; on NEGATIVE_DATA the
# eigenvalue of largest magnitude is negative, -1.60), the softmax regression (5 -> 3,
# anisotropic inputs: a clear top eigenvalue) on 32.
MLP_SIZES, MLP_DATA, NEGATIVE_DATA = [4, 3, 3], (2, 8, 4, 3), (13, 8, 4, 3)
MOVED_WEIGHTS = 4  # the network's seed after a move: top eigenvalue 5.56, next 0.50 of it
SOFTMAX_DATA = (2, 32, 5, 3, np.array([3.0, 1.5, 1.0, 0.7, 0.5]))
NOISE_SPLITS = 4  # of the 8 examples: micro-batches of 2


# --- the pure-NumPy checks: the oracles themselves ------------------------------------------


def test_the_numpy_gradient_equals_finite_differences():
    x, y = data(*MLP_DATA)
    params = [p.astype(np.float64) for p in network(0, MLP_SIZES)]
    error = relative(flat(gradient_of(params, x, y)), flat(fd_gradient(params, x, y)))
    assert error < 1e-8


def test_the_closed_form_softmax_hessian_equals_differences_of_the_gradient():
    """The kron layout (kernel (in, out) row-major, then bias) against an independent route."""
    x, y = data(*SOFTMAX_DATA)
    kernel, bias = (p.astype(np.float64) for p in network(0, [5, 3]))
    exact = softmax_regression_hessian(kernel, bias, x)
    assert exact.shape == (18, 18)
    assert np.max(np.abs(exact - fd_hessian([kernel, bias], x, y))) < 1e-8 * np.max(np.abs(exact))


# --- the checks on a Keras backend ---------------------------------------------------------


def _trainer(level: str, splits: int = NOISE_SPLITS) -> Any:
    from optbench.schema.trainer import TrainerConfig

    return TrainerConfig(diagnostics=level, diagnostics_splits=splits)


def _model(params: list[np.ndarray], sizes: list[int], dtype: str, names: list[str]) -> Any:
    import keras

    inputs = keras.Input((sizes[0],), dtype=dtype)
    out = inputs
    for i, (size, name) in enumerate(zip(sizes[1:], names, strict=True)):
        last = i == len(sizes) - 2
        activation = "softmax" if last else "tanh"
        out = keras.layers.Dense(size, activation=activation, name=name, dtype=dtype)(out)
    model = keras.Model(inputs, out)
    model.set_weights([p.astype(dtype) for p in params])
    loss = keras.losses.SparseCategoricalCrossentropy(dtype=dtype)
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss=loss)
    return model


def _gradient_checks(out: dict) -> None:
    """Float32 (the trainers' precision) tanh network: the probe's loss and gradients against
    the NumPy loss and its central differences, and measure()'s rows (grad_norm per layer, the
    noise scale and snr of NOISE_SPLITS micro-batches) against the same numbers here."""
    from optbench.diagnostics.keras_probe import KerasProbe

    x, y = data(*MLP_DATA)
    params = network(0, MLP_SIZES)
    model = _model(params, MLP_SIZES, "float32", ["hidden", "out"])
    probe = KerasProbe(model, x, y, _trainer("noise"))
    exact = [p.astype(np.float64) for p in params]
    fd = fd_gradient(exact, x, y)
    loss, grads = probe.gradients()
    out["loss_error"] = abs(loss - loss_of(exact, x, y))
    scale = max(float(np.max(np.abs(g))) for g in fd)
    out["gradient_error"] = {
        v.path: float(np.max(np.abs(g - f))) / scale
        for v, g, f in zip(model.trainable_variables, grads, fd, strict=True)
    }
    rows = {r["layer"]: r for r in probe.measure(5, 0.1, curvature=False)}
    want = {"hidden": fd[:2], "out": fd[2:], ALL: fd}
    out["grad_norm_error"] = {
        name: abs(rows[name]["grad_norm"] / math.sqrt(sum(np.sum(g * g) for g in arrays)) - 1)
        for name, arrays in want.items()
    }
    out["layers"] = sorted(rows)
    b = len(y) // NOISE_SPLITS  # the noise rows from exact micro-batch gradients
    split = [gradient_of(exact, x[i * b : (i + 1) * b], y[i * b : (i + 1) * b]) for i in range(NOISE_SPLITS)]  # fmt: skip
    g = np.stack([flat(s) for s in split])
    trace = b * float(np.trace(np.cov(g, rowvar=False)))
    g2 = float(np.sum(g.mean(axis=0) ** 2)) - trace / len(y)
    out["noise_g2"] = g2
    out["noise_scale_error"] = abs(rows[ALL]["noise_scale"] / (trace / g2) - 1)
    hidden = g[:, : exact[0].size + exact[1].size]
    snr = np.sum(hidden.mean(axis=0) ** 2) / np.trace(np.cov(hidden, rowvar=False))
    out["snr_error"] = abs(rows["hidden"]["snr"] / snr - 1)


def _softmax_checks(out: dict) -> None:
    """optbench's own logreg model (models/keras.py, float32): softmax regression with the L2
    penalty l2 ||W||^2, l2 = 1 / (2 C n_train) = 0.05, which compute_loss adds: hvp against the
    closed-form Hessian plus 2 l2 on the kernel's diagonal, sharpness against its top
    eigenvalue."""
    import keras

    from optbench.diagnostics.keras_probe import KerasProbe
    from optbench.models.keras import build_model

    x, y = data(*SOFTMAX_DATA)
    kernel, bias = network(3, [5, 3], spread=0.5)
    logreg = SimpleNamespace(name="logreg", C=1.0, l1_ratio=0.0, fit_intercept=True)
    model = build_model(logreg, input_dim=5, n_classes=3, n_train=10)
    model.set_weights([kernel, bias])
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="sparse_categorical_crossentropy")
    probe = KerasProbe(model, x, y, _trainer("curvature"))
    hessian = softmax_regression_hessian(kernel.astype(np.float64), bias.astype(np.float64), x)
    hessian += np.diag(np.r_[np.full(kernel.size, 2 * 0.05), np.zeros(bias.size)])
    eigen = np.linalg.eigvalsh(hessian)
    v = np.random.default_rng(4).normal(0, 1, hessian.shape[0])
    hv = probe.hvp(unflat(v, [kernel, bias]))
    out["softmax_hvp_error"] = relative(flat(hv), hessian @ v)
    out["softmax_gap"] = float(eigen[-2] / eigen[-1])
    out["softmax_top"] = float(eigen[-1])
    out["softmax_sharpness"] = probe.sharpness(iterations=300)


def _mlp_curvature_checks(out: dict) -> None:
    """Float64 tanh network (its Hessian indefinite): the backend's own hvp and the probe's
    against H v, sharpness against the eigenvalue of largest magnitude, the Hutchinson trace
    against sum z' H z of the probe's own Rademacher vectors and against tr(H)."""
    import keras

    from optbench.diagnostics.keras_probe import KerasProbe, numpy_of

    x, y = data(*MLP_DATA)
    params = network(0, MLP_SIZES)
    model = _model(params, MLP_SIZES, "float64", ["hidden", "out"])
    out["float64"] = all(v.dtype == "float64" for v in model.trainable_variables)
    probe = KerasProbe(model, x, y, _trainer("curvature"))
    hessian = fd_hessian([p.astype(np.float64) for p in params], x, y)
    rng = np.random.default_rng(5)
    vectors = [rng.normal(0, 1, hessian.shape[0]) for _ in range(3)]
    out["mlp_probe_hvp_error"] = max(
        relative(flat(probe.hvp(unflat(v, params))), hessian @ v) for v in vectors
    )
    backend = backends.get(keras.backend.backend())
    exact = backend.compile(model, probe._hessian_vector)  # the backend's hvp in float64

    def backend_hvp(v: np.ndarray) -> np.ndarray:
        tensors = [keras.ops.convert_to_tensor(a) for a in unflat(v, params)]
        return flat(numpy_of(exact(probe.x, probe.y, tensors)))

    out["mlp_backend_hvp_error"] = max(relative(backend_hvp(v), hessian @ v) for v in vectors)
    out["mlp_top"], out["mlp_gap"], top = top_eigen(hessian)
    out["mlp_sharpness"] = probe.sharpness(iterations=300)
    x_neg, y_neg = data(*NEGATIVE_DATA)  # the same network, other data
    negative = fd_hessian([p.astype(np.float64) for p in params], x_neg, y_neg)
    out["negative_top"], out["negative_gap"], _ = top_eigen(negative)
    out["negative_sharpness"] = KerasProbe(model, x_neg, y_neg, _trainer("curvature")).sharpness(
        iterations=300
    )

    seen: list[np.ndarray] = []
    hvp = probe.hvp

    def recording(vectors: list[np.ndarray]) -> list[np.ndarray]:
        seen.append(flat(vectors))
        return hvp(vectors)

    probe.hvp = recording  # the vectors hessian_trace draws
    probes = 200
    out["trace_estimate"] = probe.hessian_trace(probes)
    z = np.stack(seen)
    out["trace_vectors"] = [int(z.shape[0]), int(z.shape[1])]
    out["trace_rademacher"] = bool(np.all(np.abs(z) == 1))
    out["trace_of_its_vectors"] = float(np.mean(np.einsum("pi,ij,pj->p", z, hessian, z)))
    out["trace_scale"] = float(np.sum(np.abs(hessian)))  # the size of one z' H z's terms
    out["trace"] = float(np.trace(hessian))
    variance = 2 * (np.sum(hessian**2) - np.sum(np.diag(hessian) ** 2))  # of one z' H z
    out["trace_std"] = float(math.sqrt(variance / probes))

    # the weights move (to MOVED_WEIGHTS): a later probe's power iteration, whatever it starts
    # from, finds the new top eigenvalue, whose eigenvector is nearly orthogonal to the old one
    moved = network(MOVED_WEIGHTS, MLP_SIZES)
    model.set_weights([w.astype("float64") for w in moved])
    moved_hessian = fd_hessian([w.astype(np.float64) for w in moved], x, y)
    out["moved_top"], out["moved_gap"], moved_top = top_eigen(moved_hessian)
    out["moved_overlap"] = float(abs(moved_top @ top))
    out["moved_sharpness"] = probe.sharpness(iterations=300)


def _dead_unit_checks(out: dict) -> None:
    """Two ReLU layers whose biases kill units outright (2 of 5, 1 of 4), and one unit alive on
    one example only (alive: it fires somewhere in the sample)."""
    import keras

    from optbench.diagnostics.keras_probe import KerasProbe

    rng = np.random.default_rng(6)
    x = rng.uniform(-1, 1, (8, 3)).astype("float32")
    y = rng.integers(0, 2, 8)
    kernel_a = rng.normal(0, 0.1, (3, 5))
    kernel_a[:, 4] = [1, 0, 0]  # unit 4 is x_0 + bias: above 0 for the largest x_0 only
    top = np.sort(x[:, 0])
    bias_a = np.array([2, 2, -100, -100, -(top[-1] + top[-2]) / 2])
    kernel_b, bias_b = rng.normal(0, 0.1, (5, 4)), np.array([2, -100, 2, 2])
    inputs = keras.Input((3,))
    hidden = keras.layers.Dense(5, activation="relu", name="relu_a")(inputs)
    hidden = keras.layers.Dense(4, activation="relu", name="relu_b")(hidden)
    model = keras.Model(inputs, keras.layers.Dense(2, activation="softmax", name="out")(hidden))
    weights = [kernel_a, bias_a, kernel_b, bias_b, rng.normal(0, 1, (4, 2)), np.zeros(2)]
    model.set_weights([w.astype("float32") for w in weights])
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    probe = KerasProbe(model, x, y, _trainer("basic"))
    out["dead"] = probe.dead_units()
    pre_a = x.astype(np.float64) @ kernel_a + bias_a  # NumPy: a unit is dead if never > 0
    pre_b = np.maximum(pre_a, 0) @ kernel_b + bias_b
    out["dead_numpy"] = [float(np.mean(np.all(p <= 0, axis=0))) for p in (pre_a, pre_b)]
    out["alive_on_one"] = int(np.sum(pre_a[:, 4] > 0))
    rows = {r["layer"]: r for r in probe.measure(0, 0.1, curvature=False)}
    out["dead_in_rows"] = {name: rows[name].get("dead_relu") for name in ("relu_a", "relu_b")}


def run_checks(name: str) -> dict:
    """Every backend check on ``name`` in this process (which must run it, or no Keras yet)."""
    from omegaconf import OmegaConf

    from optbench.hardware import configure, select_backend
    from optbench.schema.hardware import CpuConfig

    hw = OmegaConf.structured(CpuConfig(name="cpu", backend=name))
    select_backend(hw)
    configure(hw, seed=0)
    import keras

    out: dict[str, Any] = {"keras": keras.backend.backend()}
    _gradient_checks(out)
    _softmax_checks(out)
    _dead_unit_checks(out)
    x64 = None
    if name == "jax":  # float64 arrays need JAX's x64 mode, else they are float32
        import jax

        x64 = jax.config.jax_enable_x64
        jax.config.update("jax_enable_x64", True)
    try:
        _mlp_curvature_checks(out)
    finally:
        if x64 is not None:
            jax.config.update("jax_enable_x64", x64)
    return out


@functools.cache
def checks_on(name: str) -> dict:
    """``run_checks`` on backend ``name``, here or in a fresh process."""
    return on_backend(name, "tests.test_diagnostics_math", "run_checks")


BACKENDS = [
    pytest.param(
        name,
        marks=[
            requires(
                importlib.util.find_spec(name) is not None,
                f"{name} is not installed: pip install -e '.[{name}]'",
            ),
            *([] if keras_runs(name) else [pytest.mark.slow]),  # a fresh process: seconds
        ],
    )
    for name in backends.BACKENDS
]


@pytest.mark.parametrize("name", BACKENDS)
def test_gradients_and_grad_norms_equal_finite_differences(name, exact_float32):
    result = checks_on(name)
    assert result["keras"] == name
    assert result["loss_error"] < 1e-6, result["loss_error"]
    assert sorted(result["gradient_error"]) == [
        "hidden/bias", "hidden/kernel", "out/bias", "out/kernel"
    ]  # fmt: skip
    # float32 gradients against exact float64 ones: ~1e-7 of the largest entry
    assert max(result["gradient_error"].values()) < 1e-5, result["gradient_error"]
    assert result["layers"] == sorted(["hidden", "out", ALL])
    assert max(result["grad_norm_error"].values()) < 1e-5, result["grad_norm_error"]


@pytest.mark.parametrize("name", BACKENDS)
def test_probe_noise_rows_equal_those_of_exact_micro_batch_gradients(name, exact_float32):
    result = checks_on(name)
    assert result["noise_g2"] > 0.01  # a positive |G|^2 estimate, so B_simple is defined
    assert result["noise_scale_error"] < 1e-4, result["noise_scale_error"]
    assert result["snr_error"] < 1e-4, result["snr_error"]


@pytest.mark.parametrize("name", BACKENDS)
def test_softmax_regression_sharpness_is_the_top_eigenvalue_of_the_exact_hessian(
    name, exact_float32
):
    result = checks_on(name)
    assert result["softmax_gap"] < 0.8  # power iteration converges fast enough to tell
    assert result["softmax_hvp_error"] < 1e-5, result["softmax_hvp_error"]
    error = abs(result["softmax_sharpness"] / result["softmax_top"] - 1)
    assert error < 1e-3, (result["softmax_sharpness"], result["softmax_top"])


@pytest.mark.parametrize("name", BACKENDS)
def test_mlp_hvp_sharpness_and_trace_equal_the_dense_hessian(name, exact_float32):
    result = checks_on(name)
    assert result["float64"]
    # The backend's hvp on float64 weights and vectors: on TensorFlow exact up to the oracle's
    # differences (~1e-10). On JAX and torch Keras computes some float64 ops in float32 (its
    # type promotion maps float64 to float32 on every backend but TensorFlow, keras.src.
    # backend.common.dtypes.BIT64_TO_BIT32_DTYPE: JAX's tanh, torch's matmul), ~1e-7.
    exact = 1e-8 if name == "tensorflow" else 1e-6
    assert result["mlp_backend_hvp_error"] < exact, result["mlp_backend_hvp_error"]
    # the probe's: its vectors pass through float32 (KerasProbe.hvp), ~1e-7 relative
    assert result["mlp_probe_hvp_error"] < 1e-6, result["mlp_probe_hvp_error"]
    assert result["mlp_gap"] < 0.8
    error = abs(result["mlp_sharpness"] / result["mlp_top"] - 1)
    assert error < 1e-3, (result["mlp_sharpness"], result["mlp_top"])
    # the eigenvalue of largest magnitude, with its sign, where that is a negative one
    assert result["negative_top"] < 0 and result["negative_gap"] < 0.8
    error = abs(result["negative_sharpness"] / result["negative_top"] - 1)
    assert error < 1e-3, (result["negative_sharpness"], result["negative_top"])
    assert result["trace_vectors"] == [200, 27] and result["trace_rademacher"]
    # the estimate is the mean of z' H z over its own vectors (float32 vectors are exact +-1)
    difference = abs(result["trace_estimate"] - result["trace_of_its_vectors"])
    assert difference < exact * result["trace_scale"], difference
    # ... and an unbiased estimate of tr(H): within 4 standard deviations
    assert abs(result["trace_estimate"] - result["trace"]) < 4 * result["trace_std"], result


@pytest.mark.parametrize("name", BACKENDS)
def test_sharpness_follows_the_weights(name, exact_float32):
    """A second sharpness on the same probe, after the weights moved so that the top
    eigenvector turned (|cos| 0.04 with the old one), is the new top eigenvalue."""
    result = checks_on(name)
    assert result["moved_overlap"] < 0.1 and result["moved_gap"] < 0.8
    error = abs(result["moved_sharpness"] / result["moved_top"] - 1)
    assert error < 1e-3, (result["moved_sharpness"], result["moved_top"])


@pytest.mark.parametrize("name", BACKENDS)
def test_dead_units_are_the_share_of_units_never_active(name):
    result = checks_on(name)
    assert result["dead_numpy"] == [0.4, 0.25] and result["alive_on_one"] == 1
    assert result["dead"] == {"relu_a": 0.4, "relu_b": 0.25, ALL: 3 / 9}
    assert result["dead_in_rows"] == {"relu_a": 0.4, "relu_b": 0.25}
