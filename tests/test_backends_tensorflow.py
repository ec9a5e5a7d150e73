"""optbench/backends/tensorflow.py, what is TensorFlow's own (the shared contract:
tests/test_backends.py): the tf.data pipeline (every example once per epoch, in batches,
reshuffled each epoch, the same for the same seed), what ``configure`` reports and notes on
this machine (XLA only when asked, mixed_float16 on the CPU, a GPU asked for and not there),
and the thread settings TensorFlow can no longer take once it runs."""

from __future__ import annotations

from itertools import chain

import numpy as np
import pytest
import tensorflow as tf

from optbench.backends import tensorflow as backend
from optbench.errors import OptbenchError
from tests.conftest import hardware_cfg

X = np.arange(10, dtype="float32").reshape(10, 1)
Y = np.arange(10)


def epochs(pipeline: dict, n: int = 2) -> list[list[list[int]]]:
    """The labels of each batch of ``n`` passes over the pipeline, each checked against its
    features (here the label itself)."""
    passes = []
    for _ in range(n):
        batches = []
        for x, y in pipeline["x"]:
            assert x.numpy()[:, 0].tolist() == y.numpy().tolist()  # together, in one order
            batches.append(y.numpy().tolist())
        passes.append(batches)
    return passes


def hardware(gpu: bool = False, **settings):
    return hardware_cfg("tensorflow", gpu, **settings)


def test_the_pipeline_is_every_example_once_per_epoch_in_batches_reshuffled_each_epoch():
    pipeline = backend.input_pipeline(X, Y, 4, seed=0)
    assert pipeline["shuffle"] is False  # the pipeline shuffles: model.fit must not
    first, second = epochs(pipeline)
    for epoch in (first, second):
        assert [len(b) for b in epoch] == [4, 4, 2]
        assert sorted(chain.from_iterable(epoch)) == list(range(10))
    assert first != second and list(chain.from_iterable(first)) != list(range(10))


def test_the_same_seed_gives_the_same_order_and_another_seed_another():
    assert epochs(backend.input_pipeline(X, Y, 4, 0)) == epochs(backend.input_pipeline(X, Y, 4, 0))
    assert epochs(backend.input_pipeline(X, Y, 4, 0)) != epochs(backend.input_pipeline(X, Y, 4, 1))


def test_the_cpu_setup_compiles_with_xla_only_when_asked_and_tags_the_device():
    setup = backend.configure(hardware())
    assert setup.jit_compile is False and setup.replicas == 1
    if tf.config.get_visible_devices("GPU"):  # TensorFlow ran with its GPUs before: it says so
        assert setup.tags["optbench.devices"] == "/GPU:0"
    else:
        assert setup.tags == {"optbench.devices": "/CPU:0", "optbench.gpu_names": "none"}
        assert setup.notes == []
    assert backend.configure(hardware(xla=True)).jit_compile is True


def test_mixed_float16_on_the_cpu_is_noted_as_slow():
    if tf.config.list_physical_devices("GPU"):
        pytest.skip("this machine has a GPU: mixed_float16 runs there")
    (note,) = backend.configure(hardware(precision="mixed_float16")).notes
    assert note == "mixed_float16 on the CPU is slow; mixed_bfloat16 suits CPUs better."


def test_a_gpu_that_is_not_there_is_an_error_or_with_fallback_a_note():
    if tf.config.list_physical_devices("GPU"):
        pytest.skip("this machine has a GPU")
    with pytest.raises(OptbenchError, match=r"needs a GPU, but TensorFlow sees none \(tf\.config"):
        backend.configure(hardware(gpu=True))
    setup = backend.configure(hardware(gpu=True, fallback="cpu"))
    assert setup.tags["optbench.hardware_fallback"] == "cpu"
    assert setup.tags["optbench.devices"] == "/CPU:0"
    assert setup.notes == [
        "hardware=gpu: no GPU visible, running on the CPU (hardware.fallback=cpu)."
    ]


def test_threads_tensorflow_cannot_take_once_running_are_noted_and_the_same_ones_are_not():
    tf.constant(1.0) + 1.0  # TensorFlow is running: its thread pools are fixed
    running = tf.config.threading.get_intra_op_parallelism_threads()
    notes: list[str] = []
    backend._set_threads(tf, running, notes)
    assert notes == []
    backend._set_threads(tf, running + 3, notes)
    assert notes == [
        f"hardware.threads={running + 3} not applied: TensorFlow was already running in this "
        "process with other settings."
    ]
    assert tf.config.threading.get_intra_op_parallelism_threads() == running
