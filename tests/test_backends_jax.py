"""optbench/backends/jax.py, what is JAX's own and runs without switching this process's Keras
backend (the contract on JAX itself, in a fresh process: tests/test_backends.py): the
environment it must have before it loads (the CPU platform, deterministic GPU ops, appended
once to the XLA flags there are), XLA by default, the devices and notes ``configure``
reports on this machine, the arrays as the input pipeline, and the versions it reports."""

from __future__ import annotations

from importlib import metadata

import numpy as np
import pytest

from optbench.backends import jax as backend
from optbench.errors import OptbenchError
from tests.conftest import hardware_cfg
from tests.test_keras_backends import needs_jax

pytestmark = needs_jax  # skipped without JAX, failed under CI=true


def hardware(gpu: bool = False, **settings):
    return hardware_cfg("jax", gpu, **settings)


@pytest.fixture
def environ(monkeypatch):
    monkeypatch.delenv("JAX_PLATFORMS", raising=False)
    monkeypatch.delenv("XLA_FLAGS", raising=False)
    return monkeypatch


def test_the_cpu_is_set_as_the_platform_before_jax_loads(environ):
    import os

    backend.before_import(hardware(gpu=True))
    assert "JAX_PLATFORMS" not in os.environ and "XLA_FLAGS" not in os.environ
    backend.before_import(hardware())
    assert os.environ["JAX_PLATFORMS"] == "cpu"


def test_deterministic_gpu_ops_are_added_once_to_the_xla_flags_there_are(environ):
    import os

    environ.setenv("XLA_FLAGS", "--xla_dump_to=/tmp/x")
    backend.before_import(hardware(deterministic=True))
    backend.before_import(hardware(deterministic=True))
    assert os.environ["XLA_FLAGS"] == "--xla_dump_to=/tmp/x --xla_gpu_deterministic_ops=true"
    environ.delenv("XLA_FLAGS")
    backend.before_import(hardware(deterministic=True))
    assert os.environ["XLA_FLAGS"] == "--xla_gpu_deterministic_ops=true"


@pytest.mark.slow  # JAX loads in this process: about 7 s on 2 loaded cores, once
def test_jax_compiles_with_xla_unless_told_not_to_and_notes_that_threads_are_its_own():
    setup = backend.configure(hardware())
    assert setup.jit_compile is True and setup.notes == [] and setup.replicas == 1
    assert setup.tags == {"optbench.devices": "cpu:0", "optbench.gpu_names": "none"}
    assert backend.configure(hardware(xla=False)).jit_compile is False
    (note,) = backend.configure(hardware(threads=3)).notes
    assert note.startswith("hardware.threads=3: JAX sizes its CPU thread pool itself")


@pytest.mark.slow  # JAX loads in this process
def test_a_gpu_that_is_not_there_is_an_error_or_with_fallback_a_note():
    import jax

    if any(d.platform == "gpu" for d in jax.devices()):
        pytest.skip("JAX sees a GPU here")
    with pytest.raises(OptbenchError, match=r"needs a GPU, but JAX sees none \(jax\.devices"):
        backend.configure(hardware(gpu=True))
    setup = backend.configure(hardware(gpu=True, fallback="cpu"))
    assert setup.tags["optbench.hardware_fallback"] == "cpu"
    assert setup.tags["optbench.devices"] == "cpu:0"


def test_keras_batches_and_shuffles_the_arrays_as_they_are():
    x, y = np.zeros((6, 2)), np.arange(6)
    pipeline = backend.input_pipeline(x, y, 3, seed=0)
    assert pipeline == {"x": x, "y": y, "batch_size": 3, "shuffle": True}


def test_the_versions_are_jax_and_jaxlib():
    assert backend.versions() == {
        "jax": metadata.version("jax"),
        "jaxlib": metadata.version("jaxlib"),
    }
