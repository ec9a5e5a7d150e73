"""The hardware group's process-level part (optbench/hardware.py): which Keras backend this
process runs, and TensorFlow's start-up lines filtered at TF_CPP_MIN_LOG_LEVEL, from the text
and from file descriptor 2, where TensorFlow's C++ code writes. (Applying the hardware settings
to a backend: tests/test_backends.py, tests/test_keras_hardware.py.)"""

from __future__ import annotations

import os
import sys

import pytest

from optbench.hardware import _filtered_stderr, loaded_backend, startup_lines_kept, tf_log_level

# What `optbench model=mlp` printed on a machine without a GPU (TensorFlow 2.21), and one line
# of TensorFlow's C++ output at import time where TF_CPP_MIN_LOG_LEVEL was already read.
NOTICE = "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\n"
ONEDNN = (
    "I0000 00:00:1796576721.438363    3047 port.cc:153] oneDNN custom operations are on. You "
    "may see slightly different numerical results due to floating-point round-off errors from "
    "different computation orders. To turn them off, set the environment variable "
    "`TF_ENABLE_ONEDNN_OPTS=0`.\n"
)
CUDART = (
    "I0000 00:00:1796576721.441464    3047 cudart_stub.cc:31] Could not find cuda drivers on "
    "your machine, GPU will not be used.\n"
)
CUINIT = (
    "E0000 00:00:1796576728.116834    3047 cuda_platform.cc:52] failed call to cuInit: INTERNAL: "
    "CUDA error: Failed call to cuInit: UNKNOWN ERROR (303)\n"
)
CPU_FEATURES = (  # TensorFlow hides it itself at level 1 and up: it has read the level by then
    "I0000 00:00:1796576886.682371    5544 cpu_feature_guard.cc:227] This TensorFlow binary is "
    "optimized to use available CPU instructions in performance-critical operations.\n"
)
STARTUP = NOTICE + ONEDNN + CUDART + NOTICE + ONEDNN + CUDART + CUINIT  # the 7 lines
# lines that are not start-up noise and must come through
REAL_ERROR = (
    "E0000 00:00:1796576730.000000    3047 cuda_dnn.cc:8310] could not create cudnn handle: "
    "CUDNN_STATUS_INTERNAL_ERROR\n"
)
FATAL = "F0000 00:00:1796576730.000000    3047 cpu_feature_guard.cc:1] The TensorFlow library was compiled to use AVX\n"
PYTHON_LINE = "/x/y.py:3: UserWarning: something of the user's own\n"


def test_tensorflow_startup_lines_go_at_optbenchs_level():
    assert startup_lines_kept(STARTUP + CPU_FEATURES, level=2, cpu=True) == ""
    assert startup_lines_kept(STARTUP, level=1, cpu=True) == ""


def test_other_lines_printed_during_startup_stay_in_order():
    text = NOTICE + ONEDNN + PYTHON_LINE + CUINIT + REAL_ERROR + CPU_FEATURES + FATAL
    assert startup_lines_kept(text, level=2, cpu=True) == PYTHON_LINE + REAL_ERROR + FATAL
    assert startup_lines_kept(FATAL, level=9, cpu=True) == FATAL  # no level hides a fatal line


def test_the_cuda_probe_stays_where_a_gpu_was_asked_for():
    """hardware=gpu on a machine without one: the probe's failure explains optbench's error."""
    assert startup_lines_kept(STARTUP, level=2, cpu=False) == CUINIT


def test_a_user_who_asks_for_every_line_gets_them(monkeypatch, capfd):
    """TF_CPP_MIN_LOG_LEVEL=0 set by the user: importing optbench keeps it, and nothing
    TensorFlow writes to file descriptor 2 is taken away."""
    import importlib

    import optbench
    from optbench.hardware import tf_log_level

    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", "0")
    importlib.reload(optbench)  # what a fresh process does first
    assert tf_log_level() == 0
    with _filtered_stderr(lambda text: startup_lines_kept(text, tf_log_level(), cpu=True)):
        os.write(2, STARTUP.encode())
    assert capfd.readouterr().err == STARTUP


def test_the_filter_applies_to_what_is_written_to_the_file_descriptor(capfd):
    """TensorFlow's C++ code writes to file descriptor 2, past sys.stderr."""
    with _filtered_stderr(lambda text: startup_lines_kept(text, 2, cpu=True)):
        os.write(2, (STARTUP + REAL_ERROR).encode())
        os.write(2, PYTHON_LINE.encode())
    assert capfd.readouterr().err == REAL_ERROR + PYTHON_LINE


@pytest.mark.parametrize(("value", "level"), [(None, 0), ("2", 2), ("3", 3), ("high", 0)])
def test_the_log_level_is_read_as_tensorflow_reads_it(monkeypatch, value, level):
    if value is None:
        monkeypatch.delenv("TF_CPP_MIN_LOG_LEVEL", raising=False)
    else:
        monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", value)
    assert tf_log_level() == level


def test_level_3_hides_errors_too_but_never_a_fatal_line():
    text = ONEDNN + REAL_ERROR + PYTHON_LINE + FATAL
    assert startup_lines_kept(text, level=3, cpu=False) == PYTHON_LINE + FATAL
    assert startup_lines_kept(text, level=0, cpu=True) == text  # 0: exactly as written


def test_the_cuda_probe_is_hidden_on_a_cpu_run_only_at_levels_that_keep_errors():
    assert startup_lines_kept(CUINIT + REAL_ERROR, level=1, cpu=True) == REAL_ERROR
    assert startup_lines_kept(CUINIT + REAL_ERROR, level=1, cpu=False) == CUINIT + REAL_ERROR


def test_no_backend_is_loaded_before_keras_is_imported(monkeypatch):
    monkeypatch.delitem(sys.modules, "keras", raising=False)
    assert loaded_backend() is None
