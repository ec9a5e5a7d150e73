"""model=cnn_2c2d, DeepOBS's 2c2d network: a small one learns real MNIST end to end through
the Keras trainer and has the parameters counted by hand; the suite's mnist_2c2d workload
composes with DeepOBS's sizes; a dataset without images is refused before any work."""

from __future__ import annotations

import pytest

from optbench.errors import OptbenchError
from optbench.runner import prepare
from optbench.suite import workloads
from tests.conftest import compose_cfg, needs_mnist
from tests.keras_support import fit

SMALL = ("model.conv1_filters=8", "model.conv2_filters=16", "model.dense_units=64")


def two_c_two_d_params(channels: int, f1: int, f2: int, units: int, side: int = 28) -> int:
    """5x5 kernels with biases, two 2x2 'same' poolings (28 -> 14 -> 7), two dense layers."""
    pooled = -(-side // 4)
    conv = (5 * 5 * channels + 1) * f1 + (5 * 5 * f1 + 1) * f2
    return conv + (pooled * pooled * f2 + 1) * units + (units + 1) * 10


@needs_mnist
def test_a_small_2c2d_learns_real_mnist_and_counts_its_parameters():
    """Conv 8/16, dense 64, 2 epochs of Adam (batch 32) on 6,000 MNIST images (5,400 to
    train). Measured on 2 shared CPU cores, seeds 0, 1, 2: val_accuracy 0.930, 0.948, 0.925
    (about 3 s of training each); the margin is 0.035 below the lowest."""
    result, _, splits = fit(
        "model=cnn_2c2d", *SMALL, "dataset.subset=6000", "optimizer=adam",
        "trainer.max_iter=2", "trainer.batch_size=32", "trainer.early_stop.enabled=false",
    )  # fmt: skip
    x = splits.x_train  # flat unit-scaled pixels; the model reshapes them to 28 x 28 x 1
    assert x.shape[1:] == (784,) and x.min() == 0 and x.max() == 1
    assert [h["step"] for h in result.history] == [1, 2] and not result.diverged
    assert result.history[-1]["train_loss"] < result.history[0]["train_loss"]
    assert result.history[-1]["val_accuracy"] >= 0.89
    # 208 + 3,216 (convolutions) + 50,240 (7 x 7 x 16 -> 64) + 650 (64 -> 10)
    assert result.final["params_total"] == result.final["params_trainable"] == 54_314
    assert two_c_two_d_params(1, 8, 16, 64) == 54_314


def test_the_workload_is_deepobs_2c2d_on_mnist_with_its_3_3_million_parameters():
    cfg = compose_cfg("+workload=mnist_2c2d")
    w = workloads.of_config("mnist_2c2d", cfg)
    assert (cfg.model.name, cfg.dataset.name, cfg.trainer.batch_size) == ("cnn_2c2d", "mnist", 128)
    assert (w.metric, w.unit) == ("val_accuracy", "epochs") and w.description
    m = cfg.model
    assert (m.conv1_filters, m.conv2_filters, m.dense_units) == (32, 64, 1024)
    assert two_c_two_d_params(1, 32, 64, 1024) == 3_274_634  # DeepOBS's mnist_2c2d


def test_a_dataset_without_images_is_refused_before_any_work():
    with pytest.raises(OptbenchError, match="model=cnn_2c2d needs images"):
        prepare(compose_cfg("model=cnn_2c2d", "dataset=synthetic"))
