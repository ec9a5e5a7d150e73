"""The hardware group for Keras runs: device, threads, precision policy, XLA, determinism and
the distribution strategy. Imports TensorFlow; call before building any model."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from optbench.errors import OptbenchError

log = logging.getLogger(__name__)


@dataclass
class Setup:
    strategy: Any  # tf.distribute strategy (the default one unless gpus=all)
    jit_compile: bool
    tags: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def _set_threads(tf: Any, threads: int | None, notes: list[str]) -> None:
    if threads is None:
        return
    try:
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(min(threads, 2))
    except RuntimeError:  # TensorFlow already started in this process (an earlier sweep job)
        if tf.config.threading.get_intra_op_parallelism_threads() != threads:
            notes.append(
                f"hardware.threads={threads} not applied: TensorFlow was already running in "
                "this process with other settings."
            )


def _select_gpus(tf: Any, hw: Any, gpus: list, notes: list[str]) -> list:
    """Make the wanted GPUs visible (with memory growth); [] means the CPU."""
    wanted = [] if hw.device == "cpu" else (gpus if hw.gpus == "all" else gpus[:1])
    try:
        tf.config.set_visible_devices(wanted, "GPU")
        for gpu in wanted:
            tf.config.experimental.set_memory_growth(gpu, True)
    except RuntimeError:
        visible = tf.config.get_visible_devices("GPU")
        if [g.name for g in visible] != [g.name for g in wanted]:
            notes.append(
                "the GPU selection could not change: TensorFlow was already running in this "
                f"process with {len(visible)} visible GPU(s)."
            )
        return visible
    return wanted


def configure(hw: Any, seed: int) -> Setup:
    """Apply ``hw`` (a CpuConfig or GpuConfig) to TensorFlow/Keras and seed them."""
    import keras
    import tensorflow as tf

    keras.backend.clear_session()  # joblib workers run several jobs in one process; this
    # also resets the dtype policy, so it comes before set_global_policy below
    notes: list[str] = []
    tags: dict[str, str] = {}
    _set_threads(tf, hw.threads, notes)
    gpus = tf.config.list_physical_devices("GPU")
    if hw.device == "gpu" and not gpus:
        wanted = f"hardware={hw.name}"
        if hw.fallback != "cpu":
            raise OptbenchError(
                f"{wanted} needs a GPU, but TensorFlow sees none "
                "(tf.config.list_physical_devices('GPU') is empty). Use hardware=cpu, or "
                "hardware.fallback=cpu to run on the CPU with a warning."
            )
        notes.append(f"{wanted}: no GPU visible, running on the CPU (hardware.fallback=cpu).")
        tags["optbench.hardware_fallback"] = "cpu"
        log.warning(notes[-1])
    selected = _select_gpus(tf, hw, gpus, notes) if gpus else []
    if hw.precision == "mixed_float16" and not selected:
        notes.append("mixed_float16 on the CPU is slow; mixed_bfloat16 suits CPUs better.")
    keras.mixed_precision.set_global_policy(hw.precision)
    keras.utils.set_random_seed(seed)
    if hw.deterministic:
        tf.config.experimental.enable_op_determinism()
    if hw.device == "gpu" and hw.gpus == "all" and selected:
        strategy = tf.distribute.MirroredStrategy()
        devices = list(strategy.extended.worker_devices)
    else:
        strategy = tf.distribute.get_strategy()
        devices = ["/GPU:0" if selected else "/CPU:0"]
    tags.update(
        {
            "optbench.devices": ",".join(devices),
            "optbench.gpu_names": ",".join(
                tf.config.experimental.get_device_details(g).get("device_name", g.name)
                for g in selected
            )
            or "none",
            "optbench.replicas": str(strategy.num_replicas_in_sync),
            "optbench.precision": hw.precision,
            "optbench.xla": str(hw.xla).lower(),
            "optbench.deterministic": str(hw.deterministic).lower(),
        }
    )
    return Setup(strategy, hw.xla, tags, notes)


def reset() -> None:
    """Back to float32 for whatever runs next in this process (sweep jobs share it)."""
    import keras

    keras.mixed_precision.set_global_policy("float32")
