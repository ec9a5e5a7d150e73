"""The hardware group for Keras runs: which Keras backend (TensorFlow, JAX or PyTorch), the
device, threads, precision policy, XLA, determinism and multi-GPU.

``select_backend`` runs before Keras is first imported (Keras reads KERAS_BACKEND once, at
import); ``configure`` then applies the rest through the backend's own module here, which is
the only place that imports that framework for the hardware."""

from __future__ import annotations

import contextlib
import importlib
import logging
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from optbench.errors import OptbenchError

log = logging.getLogger(__name__)

BACKENDS = ("tensorflow", "jax", "torch")
MODULES = {name: f"optbench.hardware.{name}_backend" for name in BACKENDS}


@dataclass
class Setup:
    """What the trainer needs from the hardware: a scope to build the model in, whether to
    compile the step, and what to record."""

    scope: Callable[[], Any] = contextlib.nullcontext  # the tf.distribute strategy's scope
    jit_compile: bool = False
    tags: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    replicas: int = 1


def loaded_backend() -> str | None:
    """The backend Keras runs on in this process, or None if Keras is not imported yet."""
    keras = sys.modules.get("keras")
    return None if keras is None else keras.backend.backend()


def select_backend(hw: Any) -> None:
    """Make ``hw.backend`` the Keras backend of this process, before Keras loads. A process
    where Keras already runs on another backend cannot switch (the runner gives such a job a
    process of its own: optbench.runner)."""
    loaded = loaded_backend()
    if loaded is not None:
        if loaded != hw.backend:
            raise OptbenchError(
                f"hardware.backend={hw.backend}: Keras already runs on {loaded} in this "
                "process, and a process cannot switch; run it on its own (a sweep over "
                "backends gives each job its own process)."
            )
        return
    env = os.environ.get("KERAS_BACKEND")
    if env and env != hw.backend:
        log.warning(
            "KERAS_BACKEND=%s is not used: optbench runs Keras on hardware.backend=%s; pass "
            "hardware.backend=%s to use it.",
            env,
            hw.backend,
            env,
        )
    os.environ["KERAS_BACKEND"] = hw.backend
    importlib.import_module(MODULES[hw.backend]).before_import(hw)


def configure(hw: Any, seed: int) -> Setup:
    """Apply ``hw`` (a CpuConfig or GpuConfig) to Keras and its backend, and seed them."""
    import keras

    keras.backend.clear_session()  # joblib workers run several jobs in one process; this
    # also resets the dtype policy, so it comes before set_global_policy below
    setup = importlib.import_module(MODULES[keras.backend.backend()]).configure(hw)
    keras.mixed_precision.set_global_policy(hw.precision)
    keras.utils.set_random_seed(seed)
    setup.tags.update(
        {
            "optbench.backend": keras.backend.backend(),
            "optbench.replicas": str(setup.replicas),
            "optbench.precision": hw.precision,
            "optbench.xla": str(setup.jit_compile).lower(),
            "optbench.deterministic": str(hw.deterministic).lower(),
        }
    )
    return setup


def no_gpu(hw: Any, setup: Setup, backend: str, probe: str) -> None:
    """A GPU was asked for and ``backend`` sees none: an error, or with fallback=cpu a note."""
    wanted = f"hardware={hw.name}"
    if hw.fallback != "cpu":
        raise OptbenchError(
            f"{wanted} needs a GPU, but {backend} sees none ({probe} is empty). Use "
            "hardware=cpu, or hardware.fallback=cpu to run on the CPU with a warning."
        )
    setup.notes.append(f"{wanted}: no GPU visible, running on the CPU (hardware.fallback=cpu).")
    setup.tags["optbench.hardware_fallback"] = "cpu"
    log.warning(setup.notes[-1])


def reset() -> None:
    """Back to float32 and no distribution for whatever runs next in this process."""
    import keras

    keras.mixed_precision.set_global_policy("float32")
    if keras.backend.backend() == "jax":
        keras.distribution.set_distribution(None)
