"""optbench/diagnostics/keras_probe.py, the Keras probe and its callback: on the Keras trainer
(TensorFlow here; the math on every backend: tests/test_diagnostics_math.py) the flags on the
failures the papers named, the settings reaching the probe, steps_per_execution, and
diagnostics switched off; on its own, the layer each variable belongs to, which layers count
as ReLU, and the micro-batches a small sample splits into."""

from __future__ import annotations

import csv
import io
import math

import keras
import numpy as np
import pytest

from optbench import tags as tag
from optbench.diagnostics.keras_probe import KerasProbe, _is_relu, layer_indices, numpy_of
from optbench.schema.trainer import TrainerConfig
from tests.conftest import compose_cfg
from tests.keras_support import fit

DEEP = ("model=mlp", "dataset=digits", "model.hidden_sizes=[32,32,32,32,32,32,32,32]")


def rows_of(result) -> list[dict]:
    (table,) = [a.text for a in result.artifacts if a.path == "diagnostics/diagnostics.csv"]
    return list(csv.DictReader(io.StringIO(table)))


def whole(result) -> list[dict]:
    return [r for r in rows_of(result) if r["layer"] == "all"]


def flags_of(result) -> set[str]:
    return set(filter(None, result.tags[tag.DIAG_FLAGS].split(",")))


@pytest.mark.slow
def test_a_deep_sigmoid_net_is_flagged_vanishing_and_the_same_depth_with_relu_and_he_is_not():
    """Glorot & Bengio (2010): with sigmoid units and a standard small init, the gradients of
    the layers nearest the input are orders of magnitude below the top ones; ReLU with He's
    init (He et al., 2015) keeps them within one."""
    common = (*DEEP, "model.dropout=0", "trainer.max_iter=2", "trainer.diagnostics_every=9")
    sigmoid, _, _ = fit(*common, "model.activation=sigmoid", "model.init=lecun_uniform")
    relu, _, _ = fit(*common, "model.activation=relu", "model.init=he_normal")
    assert "vanishing" in flags_of(sigmoid) and "vanishing" not in flags_of(relu)
    low_over_top = [float(r["grad_ratio"]) for r in whole(sigmoid)]
    assert max(low_over_top) < 1e-3, low_over_top  # three orders of magnitude, every probe
    assert min(float(r["grad_ratio"]) for r in whole(relu)) > 0.1
    assert sigmoid.history[-1]["diag_grad_ratio"] == pytest.approx(low_over_top[-1])
    assert any("vanishing at step" in note for note in sigmoid.notes)
    assert tag.DIAG_FLAG_PREFIX + "vanishing" in sigmoid.tags


@pytest.mark.slow
def test_a_far_too_high_learning_rate_is_flagged_exploding_before_the_run_is_declared_diverged():
    from optbench.callbacks import DivergenceGuard

    guard = DivergenceGuard(val_loss_limit=5 * math.log(10))  # trainer.diverge_above's default
    result, _, _ = fit(
        "model=mlp", "dataset=digits", "optimizer=sgd", "optimizer.lr=20", "trainer.max_iter=3",
        "trainer.diagnostics_every=1", callbacks=[guard],
    )  # fmt: skip
    assert result.diverged  # by the divergence guard, at the end of the first epoch
    steps_at_stop = result.history[-1]["optimizer_steps"]
    step = int(result.tags[tag.DIAG_FLAG_PREFIX + "exploding"].split()[1].rstrip(":"))
    assert step <= 2 < steps_at_stop, (step, steps_at_stop, result.tags)
    first = whole(result)[0]  # the data shows it at the first step: it moves the weights more
    assert float(first["update_ratio"]) >= 1.0  # than their own norm


def test_diagnostics_off_measure_nothing():
    result, _, _ = fit(
        "model=mlp", "dataset=digits", "trainer.max_iter=1", "trainer.diagnostics=off"
    )
    assert not any(k.startswith("diag_") for k in result.history[-1])
    assert not any(a.path.startswith("diagnostics/") for a in result.artifacts)
    assert tag.DIAGNOSTICS not in result.tags


def test_basic_probes_every_n_steps_with_one_row_per_layer_and_the_mean_update_per_step():
    result, _, splits = fit(
        "model=mlp", "dataset=digits", "trainer.max_iter=2", "trainer.diagnostics_every=5",
        "model.hidden_sizes=[16,8]",
    )  # fmt: skip
    rows = rows_of(result)
    steps = sorted({int(r["step"]) for r in rows})
    per_epoch = math.ceil(len(splits.y_train) / 32)
    assert steps == list(range(0, 2 * per_epoch, 5))
    assert {r["layer"] for r in rows} == {"hidden_0", "hidden_1", "softmax", "all"}
    for r in rows:  # the whole model's norms are the layers' norms combined
        if r["layer"] == "all":
            parts = [x for x in rows if x["step"] == r["step"] and x["layer"] != "all"]
            for key in ("grad_norm", "weight_norm", "update_norm"):
                combined = math.sqrt(sum(float(x[key]) ** 2 for x in parts))
                assert float(r[key]) == pytest.approx(combined, rel=1e-9), key
            assert float(r["update_ratio"]) == pytest.approx(
                float(r["update_norm"]) / float(r["weight_norm"]), rel=0.05
            )  # the weights before the step, vs at the probe: the same point
    assert float(whole(result)[0]["dist_init"]) == 0.0
    assert result.tags[tag.DIAGNOSTICS] == "basic" and result.tags[tag.DIAG_FLAGS] == ""


def test_with_steps_per_execution_probes_fall_on_its_multiples():
    """Keras calls back once per compiled call of k steps: a probe falls on the first call at
    or after each due step, and its update is the mean over that call's k steps."""
    result, _, _ = fit(
        "model=mlp", "dataset=digits", "trainer.max_iter=1", "trainer.steps_per_execution=4",
        "trainer.diagnostics_every=6",
    )  # fmt: skip
    steps = [int(r["step"]) for r in whole(result)]
    assert steps[:4] == [0, 8, 16, 24] and all(s % 4 == 0 for s in steps)
    assert all(float(r["update_norm"]) > 0 for r in whole(result))


def test_noise_and_curvature_levels_add_their_quantities():
    result, _, _ = fit(
        "model=mlp", "dataset=digits", "trainer.max_iter=1", "trainer.diagnostics=curvature",
        "trainer.diagnostics_every=10", "trainer.diagnostics_curvature_every=20",
        "trainer.diagnostics_power_iters=5", "trainer.diagnostics_trace_probes=2",
    )  # fmt: skip
    rows = whole(result)
    assert all(r["noise_scale"] != "" and float(r["grad_snr"]) > 0 for r in rows)
    measured = [int(r["step"]) for r in rows if r["sharpness"] != ""]
    assert measured == [s for s in (int(r["step"]) for r in rows) if s % 20 == 0]
    assert all(float(r["sharpness"]) > 0 for r in rows if r["sharpness"] != "")
    assert "diag_noise_scale" in result.history[-1]


def test_the_settings_reach_the_probe():
    """Each trainer.diagnostics_* setting, away from its default, is what the probe uses."""
    import keras

    from optbench.runner import prepare

    cfg = compose_cfg(
        "model=mlp", "dataset=digits", "trainer.diagnostics=curvature",
        "trainer.diagnostics_every=7", "trainer.diagnostics_sample=100",
        "trainer.diagnostics_splits=4", "trainer.diagnostics_power_iters=3",
        "trainer.diagnostics_trace_probes=2", "trainer.diagnostics_curvature_every=21",
    )  # fmt: skip
    plan = prepare(cfg)
    trainer = plan.trainer
    from optbench.data import load_dataset
    from optbench.data.splits import scale

    splits = scale(load_dataset(plan.settings.dataset, 0), "unit")
    model = trainer.build(splits, {})
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    callback = trainer._diagnostics(model, splits, steps_per_epoch=34, bs=32)
    probe = callback.probe
    assert callback.every == 7 and callback.curvature_every == 21
    assert keras.ops.shape(probe.x)[0] == 100 and probe.split_size == 25
    calls = {"hvp": 0, "grad": 0}
    hvp, grads = probe.hvp, probe.gradients

    def counted_hvp(v):
        calls["hvp"] += 1
        return hvp(v)

    def counted_grads(*a):
        calls["grad"] += 1
        return grads(*a)

    probe.hvp, probe.gradients = counted_hvp, counted_grads
    probe.measure(0, 0.01, curvature=True)
    assert calls == {"hvp": 3 + 2, "grad": 1 + 4}


def test_probe_time_is_left_off_the_training_clock():
    """As evaluation is: a curvature probe every step costs more than the step itself, yet
    elapsed_s stays the sum of the epochs' training time and below the wall time of the fit."""
    import time

    start = time.perf_counter()
    result, _, _ = fit(
        "model=mlp", "dataset=digits", "trainer.max_iter=2", "trainer.diagnostics=curvature",
        "trainer.diagnostics_every=1", "trainer.diagnostics_curvature_every=2",
        "trainer.diagnostics_power_iters=5", "trainer.diagnostics_trace_probes=5",
    )  # fmt: skip
    wall = time.perf_counter() - start
    epochs = [h["epoch_time_s"] for h in result.history]
    assert result.history[-1]["elapsed_s"] == pytest.approx(sum(epochs))
    assert sum(epochs) < 0.5 * wall, (epochs, wall)  # most of the fit was probing


# --- the probe's pieces on their own ---------------------------------------------------------


def small_model(hidden_activation: str = "relu") -> keras.Model:
    inputs = keras.Input((3,))
    hidden = keras.layers.Dense(4, activation=hidden_activation, name="hidden")(inputs)
    outputs = keras.layers.Dense(2, activation="softmax", name="out")(hidden)
    model = keras.Model(inputs, outputs)
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    return model


def test_each_variable_belongs_to_the_layer_of_its_path_in_model_order():
    assert layer_indices(small_model().trainable_variables) == {"hidden": [0, 1], "out": [2, 3]}


@pytest.mark.parametrize(
    ("layer", "relu"),
    [
        (keras.layers.Dense(2, activation="relu"), True),
        (keras.layers.ReLU(), True),
        (keras.layers.Activation("relu"), True),
        (keras.layers.Dense(2, activation="tanh"), False),
        (keras.layers.Dense(2), False),
        (keras.layers.Flatten(), False),
    ],
    ids=["dense relu", "ReLU layer", "relu activation", "tanh", "linear", "no activation"],
)
def test_the_layers_whose_dead_units_count_are_the_relu_ones(layer, relu):
    assert _is_relu(layer) is relu


def test_numpy_of_gives_float64_arrays():
    (out,) = numpy_of([keras.ops.convert_to_tensor(np.array([1.5, -2.0], "float32"))])
    assert out.dtype == np.float64 and out.tolist() == [1.5, -2.0]


def test_a_sample_smaller_than_the_splits_splits_into_single_examples():
    x, y = np.ones((3, 3), "float32"), np.array([0, 1, 0])
    probe = KerasProbe(
        small_model(), x, y, TrainerConfig(diagnostics="noise", diagnostics_splits=8)
    )
    assert (probe.splits, probe.split_size) == (3, 1)
    x, y = np.ones((10, 3), "float32"), np.zeros(10, int)
    probe = KerasProbe(
        small_model(), x, y, TrainerConfig(diagnostics="noise", diagnostics_splits=4)
    )
    assert (probe.splits, probe.split_size) == (4, 2)  # 2 examples left out


def test_a_model_without_relu_has_no_dead_units_and_its_rows_say_nothing_of_them():
    x, y = np.ones((4, 3), "float32"), np.array([0, 1, 0, 1])
    probe = KerasProbe(small_model("tanh"), x, y, TrainerConfig(diagnostics="basic"))
    assert probe.relu_names == [] and probe.dead_units() == {}
    rows = probe.measure(0, 0.1, curvature=False)
    assert [r["layer"] for r in rows] == ["hidden", "out", "all"]
    assert not any("dead_relu" in r or "snr" in r for r in rows)  # basic: no noise either
