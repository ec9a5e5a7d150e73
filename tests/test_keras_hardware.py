"""The hardware group on Keras: hardware=gpu and its CPU fallback, mixed precision; each test
reads the GPUs present instead of assuming none."""

from __future__ import annotations

import math

import keras  # a hard dependency (TensorFlow): a broken install fails here, never skips
import pytest

from optbench.errors import OptbenchError
from optbench.runner import prepare
from tests.conftest import client, compose_cfg, train
from tests.keras_support import cli_run_tags, gpus


def test_hardware_gpu_trains_on_the_gpu_or_is_refused_without_one(tmp_path):
    """hardware=gpu (fallback: error): with no GPU, refused before any data is loaded; with
    one, the run trains on it."""
    overrides = ("model=mlp", "dataset=digits", "optimizer=adam", "hardware=gpu")
    if not gpus():
        with pytest.raises(OptbenchError, match=r"needs a GPU, but TensorFlow sees none"):
            prepare(compose_cfg(*overrides))
        return
    tags = cli_run_tags(tmp_path, *overrides, "trainer.max_iter=1")
    assert tags["optbench.devices"] == "/GPU:0" and tags["optbench.gpu_names"] != "none"
    assert "optbench.hardware_fallback" not in tags


def test_gpu_fallback_runs_on_the_cpu_with_a_tag_only_without_a_gpu(store, tmp_path):
    overrides = (
        "model=mlp",
        "dataset=digits",
        "optimizer=adam",
        "hardware=gpu",
        "hardware.fallback=cpu",
    )
    if gpus():  # nothing to fall back from: the run uses the GPU, untagged
        tags = cli_run_tags(tmp_path, *overrides, "trainer.max_iter=1")
        assert tags["optbench.devices"] == "/GPU:0" and tags["optbench.gpu_names"] != "none"
        assert "optbench.hardware_fallback" not in tags
        return
    result, run = train(store, *overrides, "trainer.max_iter=1")
    tags = client(store).get_run(run.run_id).data.tags
    assert tags["optbench.hardware_fallback"] == "cpu" and tags["optbench.devices"] == "/CPU:0"
    assert any("no GPU visible" in note for note in result.notes)


def test_mixed_float16_uses_loss_scaling(store):
    """hardware=mixed, allowed to fall back to the CPU when there is no GPU: float16 compute
    with Keras's dynamic loss scaling on either device, and the run still learns."""
    result, run = train(
        store,
        "model=mlp",
        "dataset=digits",
        "optimizer=adam",
        "hardware=mixed",
        "hardware.fallback=cpu",
        "trainer.max_iter=2",
    )
    tags = client(store).get_run(run.run_id).data.tags
    assert tags["optbench.precision"] == "mixed_float16"
    assert tags["optbench.loss_scaling"] == "true"
    assert result.history[-1]["val_loss"] < math.log(10)
    assert keras.mixed_precision.global_policy().name == "float32"  # reset for the next job
