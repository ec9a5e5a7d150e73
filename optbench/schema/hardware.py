"""Schemas of the hardware group (conf/hardware/): what every device choice sets, then what
only a GPU run has (which GPUs, and what to do when there is none)."""

from __future__ import annotations

from dataclasses import dataclass

from omegaconf import MISSING

from optbench.backends import BACKENDS, DEFAULT
from optbench.constraints import OneOf, constrained, positive_int


@dataclass
class HardwareConfig:
    name: str = MISSING
    # the Keras backend, one of optbench/backends/ (the files there, read without importing a
    # framework); jax and torch need their extra: pip install -e '.[jax]' or '.[torch]'
    backend: str = constrained(DEFAULT, OneOf(BACKENDS))
    threads: int | None = positive_int(None, nullable=True)  # null: all cores
    device: str = MISSING  # cpu | gpu, fixed by the schemas below
    precision: str = constrained("float32", OneOf(("float32", "mixed_float16", "mixed_bfloat16")))
    # compile the train step with XLA (Keras's jit_compile); null: the backend's own way
    # (tensorflow: no, jax: yes, jax.jit; torch has no XLA)
    xla: bool | None = None
    deterministic: bool = False  # deterministic kernels (slower, bit-reproducible)


@dataclass
class CpuConfig(HardwareConfig):
    device: str = constrained("cpu", OneOf(("cpu",)))


@dataclass
class GpuConfig(HardwareConfig):
    device: str = constrained("gpu", OneOf(("gpu",)))
    gpus: str = constrained("first", OneOf(("first", "all")))  # all: MirroredStrategy
    fallback: str = constrained("error", OneOf(("error", "cpu")))  # when no GPU is visible


SCHEMAS: dict[str, type] = {"cpu": CpuConfig, "gpu": GpuConfig}
