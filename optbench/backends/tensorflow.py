"""hardware.backend=tensorflow: tf.config for threads, GPUs and determinism; XLA through
jit_compile; several GPUs through tf.distribute.MirroredStrategy; a tf.data input pipeline;
gradients and Hessian-vector products from tf.GradientTape. ``load`` is the import, with its
start-up lines filtered (optbench.hardware.quiet_startup); runs on the other backends never
load TensorFlow (optbench.backends.set_random_seed)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from optbench import tags as tag
from optbench.backends import Setup, distribution_versions, no_gpu

LIMITS: dict[tuple[str, Any], str] = {}


def load(probe_gpus: bool) -> None:
    """Import TensorFlow, and with ``probe_gpus`` find its GPUs (the CUDA probe, cuInit)."""
    import tensorflow as tf

    if probe_gpus:
        tf.config.list_physical_devices("GPU")


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
    setup.tags.update({tag.DEVICES: ",".join(devices), tag.GPU_NAMES: ",".join(names) or "none"})
    return setup


def input_pipeline(x: Any, y: Any, batch_size: int, seed: int) -> dict[str, Any]:
    """A tf.data pipeline, reshuffled every epoch and prefetched."""
    import tensorflow as tf

    train = tf.data.Dataset.from_tensor_slices((x, y))
    train = train.shuffle(len(y), seed=seed, reshuffle_each_iteration=True)
    return {"x": train.batch(batch_size).prefetch(tf.data.AUTOTUNE), "shuffle": False}


def value_and_grad(
    model: Any, loss_fn: Callable, x: Any, y: Any, *, training: bool = False, has_aux: bool = False
) -> tuple[Any, list]:
    import tensorflow as tf

    with tf.GradientTape() as tape:
        value = loss_fn(y, model(x, training=training))
    loss = value[0] if has_aux else value
    return value, tape.gradient(loss, model.trainable_variables)


def hvp(model: Any, loss_fn: Callable, x: Any, y: Any, vectors: list) -> list:
    """Reverse over reverse: the gradient of <grad, v>, with nested tapes."""
    import tensorflow as tf

    variables = model.trainable_variables
    with tf.GradientTape() as outer:
        with tf.GradientTape() as inner:
            loss = loss_fn(y, model(x, training=False))
        grads = inner.gradient(loss, variables)
        dot = tf.add_n(
            [tf.reduce_sum(g * tf.cast(v, g.dtype)) for g, v in zip(grads, vectors, strict=True)]
        )
    return outer.gradient(dot, variables)


def stateful_step(model: Any, step: Callable, data: Any) -> Any:
    return step(model, data)


def apply(optimizer: Any, grads: list, variables: list) -> None:
    optimizer.apply(grads, variables)


def compile(model: Any, fn: Callable) -> Callable:
    import tensorflow as tf

    return tf.function(fn)


def reset() -> None:
    """Nothing: keras.backend.clear_session (hardware.configure) resets TensorFlow."""


def versions() -> dict[str, str]:
    return distribution_versions("tensorflow")
