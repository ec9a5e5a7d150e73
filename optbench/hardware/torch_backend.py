"""hardware.backend=torch: Keras's device through KERAS_TORCH_DEVICE (read when Keras loads),
threads and determinism through torch itself. It has no XLA and optbench runs it on one device
(optbench/optim/rules.py refuses hardware.xla=true and hardware.gpus=all before any work)."""

from __future__ import annotations

import os
from typing import Any

from optbench.hardware import Setup, no_gpu


def before_import(hw: Any) -> None:
    if hw.device == "cpu":
        os.environ["KERAS_TORCH_DEVICE"] = "cpu"
    if hw.deterministic:  # deterministic cuBLAS needs a fixed workspace (PyTorch's docs)
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")


def configure(hw: Any) -> Setup:
    import torch

    setup = Setup(jit_compile=False)
    if hw.threads is not None:
        torch.set_num_threads(hw.threads)
    gpu = hw.device == "gpu" and torch.cuda.is_available()
    if hw.device == "gpu" and not gpu:
        no_gpu(hw, setup, "PyTorch", "torch.cuda.is_available()")
    torch.use_deterministic_algorithms(bool(hw.deterministic))
    setup.tags.update(
        {
            "optbench.devices": "cuda:0" if gpu else "cpu",
            "optbench.gpu_names": torch.cuda.get_device_name(0) if gpu else "none",
        }
    )
    return setup
