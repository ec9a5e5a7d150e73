"""hardware.backend=tensorflow: tf.config for threads, GPUs and determinism; XLA through
jit_compile; several GPUs through tf.distribute.MirroredStrategy."""

from __future__ import annotations

from typing import Any

from optbench.hardware import Setup, no_gpu


def before_import(hw: Any) -> None:
    """Nothing: TensorFlow takes every setting after import."""


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


def configure(hw: Any) -> Setup:
    import tensorflow as tf

    setup = Setup(jit_compile=bool(hw.xla))
    _set_threads(tf, hw.threads, setup.notes)
    gpus = tf.config.list_physical_devices("GPU")
    if hw.device == "gpu" and not gpus:
        no_gpu(hw, setup, "TensorFlow", "tf.config.list_physical_devices('GPU')")
    selected = _select_gpus(tf, hw, gpus, setup.notes) if gpus else []
    if hw.precision == "mixed_float16" and not selected:
        setup.notes.append("mixed_float16 on the CPU is slow; mixed_bfloat16 suits CPUs better.")
    if hw.deterministic:
        tf.config.experimental.enable_op_determinism()
    if hw.device == "gpu" and hw.gpus == "all" and selected:
        strategy = tf.distribute.MirroredStrategy()
        devices = list(strategy.extended.worker_devices)
        setup.scope, setup.replicas = strategy.scope, strategy.num_replicas_in_sync
    else:
        devices = ["/GPU:0" if selected else "/CPU:0"]
    names = [
        tf.config.experimental.get_device_details(g).get("device_name", g.name) for g in selected
    ]
    setup.tags.update(
        {"optbench.devices": ",".join(devices), "optbench.gpu_names": ",".join(names) or "none"}
    )
    return setup
