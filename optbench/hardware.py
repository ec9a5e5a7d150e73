"""The hardware group for Keras runs: which Keras backend (TensorFlow, JAX or PyTorch), the
device, threads, precision policy, XLA, determinism and multi-GPU.

``select_backend`` runs before Keras is first imported (Keras reads KERAS_BACKEND once, at
import); ``configure`` then applies the rest through the backend's own module
(optbench/backends/), the only place that imports the framework.

TensorFlow's start-up lines are filtered here too (``quiet_startup``): a run on the TensorFlow
backend loads it (JAX and PyTorch runs do not: ``backends.set_random_seed``), which prints
absl's notice, INFO lines about oneDNN and CUDA drivers, and on a machine without a GPU
``E... failed call to cuInit``, which reads as a failure. TF_CPP_MIN_LOG_LEVEL (optbench's default 2, or the user's own value)
does not reach those lines: they are written before TensorFlow reads it."""

from __future__ import annotations

import contextlib
import importlib.util
import logging
import os
import re
import sys
import tempfile
from collections.abc import Callable, Iterator
from typing import Any

from optbench import backends
from optbench import tags as tag
from optbench.backends import Setup
from optbench.errors import OptbenchError

log = logging.getLogger(__name__)

# TensorFlow's C++ log lines (absl): severity letter, MMDD, time, thread, file:line]
ABSL_LINE = re.compile(r"^([IWEF])\d{4} \d\d:\d\d:[\d.]+ +\d+ [^ ]+:\d+\] ")
ABSL_NOTICE = (
    "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR"
)
SEVERITIES = "IWEF"  # TF_CPP_MIN_LOG_LEVEL 0..3 hides the letters before its index; F stays
NO_GPU_PROBE = "failed call to cuInit"


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
    backends.get(hw.backend).before_import(hw)
    quiet_startup(hw)


def tf_log_level() -> int:
    """TF_CPP_MIN_LOG_LEVEL as TensorFlow reads it (optbench/__init__.py sets 2 unless the user
    set a value); 0 where it is not a number."""
    try:
        return int(os.environ.get("TF_CPP_MIN_LOG_LEVEL", "0"))
    except ValueError:
        return 0


def startup_lines_kept(text: str, level: int, cpu: bool) -> str:
    """``text`` (TensorFlow's start-up output) less what TF_CPP_MIN_LOG_LEVEL=``level`` hides
    once TensorFlow has read it: absl's notice and the log lines below the level. On a CPU run
    (``cpu``), the CUDA probe's failure goes too: no GPU was asked for, so it is no error of
    this run. Level 0 keeps everything, and any other line stays, in its place."""
    if level <= 0:
        return text
    kept = []
    for line in text.splitlines(keepends=True):
        absl = ABSL_LINE.match(line)
        if absl is not None:
            severity = SEVERITIES.index(absl.group(1))
            if severity < min(level, 3) or (cpu and severity == 2 and NO_GPU_PROBE in line):
                continue
        elif line.rstrip("\r\n") == ABSL_NOTICE:
            continue
        kept.append(line)
    return "".join(kept)


@contextlib.contextmanager
def _filtered_stderr(keep: Callable[[str], str]) -> Iterator[None]:
    """File descriptor 2 (where TensorFlow's C++ code writes) goes to a temporary file for the
    block; afterwards, what ``keep`` returns of it is written out, in order. Python's own
    writes to stderr in the block come through the same way."""
    try:
        saved = os.dup(2)
    except OSError:  # no stderr at all: nothing to filter
        yield
        return
    with tempfile.TemporaryFile() as captured:
        sys.stderr.flush()
        os.dup2(captured.fileno(), 2)
        try:
            yield
        finally:
            with contextlib.suppress(ValueError, OSError):
                sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            captured.seek(0)
            text = keep(captured.read().decode(errors="replace"))
            if text:
                os.write(2, text.encode())


def quiet_startup(hw: Any) -> None:
    """On the TensorFlow backend, load TensorFlow and find its GPUs with its start-up lines
    filtered (``startup_lines_kept``); whatever else it prints there still shows. A run
    on JAX or PyTorch leaves TensorFlow unloaded (``backends.set_random_seed``)."""
    if hw.backend != "tensorflow" or importlib.util.find_spec("tensorflow") is None:
        return
    level, cpu = tf_log_level(), hw.device == "cpu"
    with _filtered_stderr(lambda text: startup_lines_kept(text, level, cpu)):
        from optbench.backends import tensorflow

        tensorflow.load(probe_gpus=True)  # the CUDA probe (cuInit)


def configure(hw: Any, seed: int) -> Setup:
    """Apply ``hw`` (a CpuConfig or GpuConfig) to Keras and its backend, and seed them."""
    import keras

    keras.backend.clear_session()  # joblib workers run several jobs in one process; this
    # also resets the dtype policy, so it comes before set_global_policy below
    setup = backends.get(keras.backend.backend()).configure(hw)
    keras.mixed_precision.set_global_policy(hw.precision)
    backends.set_random_seed(seed)
    setup.tags.update(
        {
            tag.BACKEND: keras.backend.backend(),
            tag.REPLICAS: str(setup.replicas),
            tag.PRECISION: hw.precision,
            tag.XLA: str(setup.jit_compile).lower(),
            tag.DETERMINISTIC: str(hw.deterministic).lower(),
        }
    )
    return setup


def reset() -> None:
    """Back to float32 and no distribution for whatever runs next in this process."""
    import keras

    keras.mixed_precision.set_global_policy("float32")
    backends.get(keras.backend.backend()).reset()
