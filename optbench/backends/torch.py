"""hardware.backend=torch: Keras's device through KERAS_TORCH_DEVICE (read when Keras loads),
threads and determinism through torch itself; gradients from backward(), Hessian-vector products by double backward. It has no XLA and
optbench runs it on one device (``LIMITS``, refused before any work)."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from optbench import tags as tag
from optbench.backends import Setup, array_pipeline, distribution_versions, no_gpu

LIMITS: dict[tuple[str, Any], str] = {
    ("xla", True): "the torch backend has no XLA; use hardware.backend=jax or tensorflow, or "
    "leave hardware.xla=null",
    ("gpus", "all"): "optbench runs the torch backend on one device; use hardware.backend=jax "
    "or tensorflow for several GPUs",
}


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
            tag.DEVICES: "cuda:0" if gpu else "cpu",
            tag.GPU_NAMES: torch.cuda.get_device_name(0) if gpu else "none",
        }
    )
    return setup


input_pipeline = array_pipeline  # the arrays as they are; Keras batches them


def value_and_grad(
    model: Any, loss_fn: Callable, x: Any, y: Any, *, training: bool = False, has_aux: bool = False
) -> tuple[Any, list]:
    """backward() from a fresh graph; the values and gradients come back detached, and the
    model's .grad fields cleared."""
    import keras
    import torch

    with torch.enable_grad():
        model.zero_grad()
        value = loss_fn(y, model(x, training=training))
        (value[0] if has_aux else value).backward()
    grads = [v.value.grad.detach().clone() for v in model.trainable_variables]
    model.zero_grad()
    return keras.tree.map_structure(lambda t: t.detach(), value), grads


def hvp(model: Any, loss_fn: Callable, x: Any, y: Any, vectors: list) -> list:
    """Double backward: torch.autograd.grad of <grad, v> through a graph of the gradient."""
    import torch

    params = [v.value for v in model.trainable_variables]
    with torch.enable_grad():
        loss = loss_fn(y, model(x, training=False))
        grads = torch.autograd.grad(loss, params, create_graph=True)
        dot = sum(
            (g * torch.as_tensor(v, dtype=g.dtype, device=g.device)).sum()
            for g, v in zip(grads, vectors, strict=True)
        )
        products = torch.autograd.grad(dot, params)
    return [p.detach() for p in products]


def stateful_step(model: Any, step: Callable, data: Any) -> Any:
    """``step`` without autograd: only value_and_grad records a graph."""
    import torch

    with torch.no_grad():
        return step(model, data)


def apply(optimizer: Any, grads: list, variables: list) -> None:
    optimizer.apply(grads, variables)


def compile(model: Any, fn: Callable) -> Callable:
    return fn


def reset() -> None:
    """Nothing to undo: torch keeps no distribution."""


def versions() -> dict[str, str]:
    return distribution_versions("torch")
