"""hardware.backend=jax: the platform and GPU determinism are set through JAX's environment
before it loads; jax.jit (XLA) compiles the step unless hardware.xla=false; several GPUs
through keras.distribution.DataParallel."""

from __future__ import annotations

import os
from typing import Any

from optbench.hardware import Setup, no_gpu


def before_import(hw: Any) -> None:
    """JAX reads its platform list and XLA flags once, when it loads."""
    if hw.device == "cpu":
        os.environ["JAX_PLATFORMS"] = "cpu"
    flags = os.environ.get("XLA_FLAGS", "")
    if hw.deterministic and "xla_gpu_deterministic_ops" not in flags:
        os.environ["XLA_FLAGS"] = f"{flags} --xla_gpu_deterministic_ops=true".strip()


def configure(hw: Any) -> Setup:
    import jax
    import keras

    setup = Setup(jit_compile=hw.xla is not False)
    if hw.threads is not None:
        setup.notes.append(
            f"hardware.threads={hw.threads}: JAX sizes its CPU thread pool itself when it "
            "loads; the setting applies to NumPy and scikit-learn only."
        )
    gpus = [d for d in jax.devices() if d.platform == "gpu"]
    if hw.device == "gpu" and not gpus:
        no_gpu(hw, setup, "JAX", "jax.devices('gpu')")
    selected = [] if hw.device == "cpu" else (gpus if hw.gpus == "all" else gpus[:1])
    if hw.device == "gpu" and hw.gpus == "all" and len(selected) > 1:
        keras.distribution.set_distribution(keras.distribution.DataParallel(devices=selected))
        setup.replicas = len(selected)
    devices = [f"{d.platform}:{d.id}" for d in selected] or ["cpu:0"]
    setup.tags.update(
        {
            "optbench.devices": ",".join(devices),
            "optbench.gpu_names": ",".join(d.device_kind for d in selected) or "none",
        }
    )
    return setup
