"""optbench/backends/torch.py, what is PyTorch's own and runs without switching this process's
Keras backend (the contract on torch itself, in a fresh process: tests/test_backends.py): the
environment it must have before Keras loads (the CPU device, cuBLAS's workspace for
deterministic runs, never overriding one that is set), no XLA, the devices and notes
``configure`` reports on this machine and the determinism it sets, a step run without
autograd, and the version it reports."""

from __future__ import annotations

import os
from importlib import metadata

import pytest

from optbench.backends import torch as backend
from optbench.errors import OptbenchError
from tests.conftest import hardware_cfg
from tests.test_keras_backends import needs_torch

pytestmark = needs_torch  # skipped without PyTorch (make torch), failed under CI=true


def hardware(gpu: bool = False, **settings):
    return hardware_cfg("torch", gpu, **settings)


@pytest.fixture
def environ(monkeypatch):
    monkeypatch.delenv("KERAS_TORCH_DEVICE", raising=False)
    monkeypatch.delenv("CUBLAS_WORKSPACE_CONFIG", raising=False)
    return monkeypatch


def test_the_cpu_is_keras_torch_device_before_keras_loads(environ):
    backend.before_import(hardware(gpu=True))
    assert "KERAS_TORCH_DEVICE" not in os.environ and "CUBLAS_WORKSPACE_CONFIG" not in os.environ
    backend.before_import(hardware())
    assert os.environ["KERAS_TORCH_DEVICE"] == "cpu"


def test_a_deterministic_run_gets_cublas_a_fixed_workspace_unless_one_is_set(environ):
    backend.before_import(hardware(gpu=True, deterministic=True))
    assert os.environ["CUBLAS_WORKSPACE_CONFIG"] == ":4096:8"
    environ.setenv("CUBLAS_WORKSPACE_CONFIG", ":16:8")
    backend.before_import(hardware(gpu=True, deterministic=True))
    assert os.environ["CUBLAS_WORKSPACE_CONFIG"] == ":16:8"


@pytest.fixture
def torch_determinism():
    """configure sets torch's process-wide determinism: put back what it was."""
    import torch

    before = torch.are_deterministic_algorithms_enabled()
    yield torch
    torch.use_deterministic_algorithms(before)


@pytest.mark.slow  # torch loads in this process: about 4 s on 2 loaded cores, once
def test_torch_runs_on_the_cpu_without_xla_deterministic_when_asked(torch_determinism):
    torch = torch_determinism
    setup = backend.configure(hardware(deterministic=True))
    assert setup.jit_compile is False and setup.notes == []
    assert setup.tags == {"optbench.devices": "cpu", "optbench.gpu_names": "none"}
    assert torch.are_deterministic_algorithms_enabled()
    backend.configure(hardware())
    assert not torch.are_deterministic_algorithms_enabled()


@pytest.mark.slow  # torch loads in this process: about 4 s on 2 loaded cores, once
def test_a_gpu_that_is_not_there_is_an_error_or_with_fallback_a_note(torch_determinism):
    if torch_determinism.cuda.is_available():
        pytest.skip("torch sees a GPU here")
    with pytest.raises(OptbenchError, match=r"needs a GPU, but PyTorch sees none \(torch\.cuda"):
        backend.configure(hardware(gpu=True))
    setup = backend.configure(hardware(gpu=True, fallback="cpu"))
    assert (
        setup.tags["optbench.hardware_fallback"] == "cpu"
        and setup.tags["optbench.devices"] == "cpu"
    )


@pytest.mark.slow  # torch loads in this process: about 4 s on 2 loaded cores, once
def test_a_step_runs_without_autograd_and_compile_leaves_a_function_as_it_is(torch_determinism):
    torch = torch_determinism
    seen = []

    def step(model, data):
        seen.append((model, data, torch.is_grad_enabled()))
        return {"loss": 1.0}

    assert torch.is_grad_enabled()
    assert backend.stateful_step("model", step, "data") == {"loss": 1.0}
    assert seen == [("model", "data", False)] and torch.is_grad_enabled()
    assert backend.compile("model", step) is step


def test_the_version_is_torchs():
    assert backend.versions() == {"torch": metadata.version("torch")}
