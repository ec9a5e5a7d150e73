"""Transfer learning: keras.applications backbones with a new head on real CIFAR-10 pieces
(../shared/data/cifar10: the exact data_batch_4 slice as the training pool, the JPEG test set),
the feature cache (keys, reuse, equivalence with end-to-end training), weights handling,
fine-tuning, and what a run logs. Random-init backbones (no ImageNet weights offline); ResNet50
at 32 px where the features must carry information (random MobileNetV2 features collapse)."""

from __future__ import annotations

from pathlib import Path

import keras  # a hard dependency (TensorFlow): a broken install fails here, never skips
import numpy as np
import pytest

from optbench.callbacks import CallbackList, DivergenceGuard
from optbench.data import load_dataset
from optbench.data.splits import scale
from optbench.errors import OptbenchError
from optbench.runner import prepare
from tests.conftest import client, compose_cfg, run_cli, train
from tests.test_data_cifar10 import needs_sample
from tests.test_preflight import OFFLINE

QUICK = (
    "dataset=cifar10_sample",
    "dataset.subset=300",
    "dataset.test_subset=200",
    "model.weights=null",
    "optimizer=adam",
    "trainer.batch_size=32",
    "trainer.early_stop.enabled=false",
    "model.time_inference=false",  # ~5 s a run; test_frozen_head_... measures it
)
RESNET32 = ("model=resnet50", "model.input_size=32", *QUICK)


def fit(*overrides: str):
    """(result, trainer) of one in-process fit without MLflow."""
    cfg = compose_cfg("trainer.progress=false", *overrides)
    plan = prepare(cfg)
    settings = plan.settings
    splits = scale(load_dataset(settings.dataset, settings.seed), settings.model.input_scaling)
    result = plan.trainer.fit(splits, CallbackList([DivergenceGuard()]))
    return result, plan.trainer


@pytest.mark.parametrize(
    ("name", "size", "expected"),
    [("mobilenet_v2", 96, 2_257_984), ("resnet50", 32, 23_587_712)],
)
def test_backbone_parameter_counts_are_keras_own(name, size, expected):
    from optbench.models.transfer import build_backbone

    settings = prepare(compose_cfg(f"model={name}", *QUICK, f"model.input_size={size}")).settings
    backbone = build_backbone(settings.model, seed=0)
    assert backbone.count_params() == expected
    constructor = getattr(
        keras.applications, "MobileNetV2" if name == "mobilenet_v2" else "ResNet50"
    )
    reference = constructor(include_top=False, weights=None, input_shape=(size, size, 3))
    assert reference.count_params() == expected


@pytest.mark.slow
@needs_sample
def test_frozen_head_is_all_that_trains_and_the_run_logs_the_comparison_metrics(
    store, tmp_path, monkeypatch
):
    # a cache of its own: in random order another test may have built these features already
    monkeypatch.setenv("OPTBENCH_CACHE_DIR", str(tmp_path / "cache"))
    timed = "model.time_inference=true"
    result, run = train(store, "model=mobilenet_v2", *QUICK, "trainer.max_iter=2", timed)
    record = client(store).get_run(run.run_id)
    m, tags = record.data.metrics, record.data.tags
    assert m["params_frozen"] == 2_257_984 and m["params_backbone"] == 2_257_984
    assert m["params_trainable"] == 1280 * 10 + 10  # GAP features -> Dense(10)
    assert m["params_total"] == m["params_frozen"] + m["params_trainable"]
    assert m["model_size_mb"] == pytest.approx(m["params_total"] * 4 / 2**20, rel=1e-6)
    for key in (
        "train_images_per_s",
        "inference_ms_per_image_b1",
        "inference_ms_per_image_b64",
        "cache_build_time_s",
        "val_accuracy",
        "test_accuracy",
    ):
        assert m[key] >= 0, key
    assert m["inference_ms_per_image_b64"] < m["inference_ms_per_image_b1"]  # batching pays
    assert tags["optbench.feature_cache_hit"] == "false" and tags["optbench.weights"] == "None"
    files = {a.path for a in client(store).list_artifacts(run.run_id)}
    assert {"confusion_matrix.png", "misclassified.png", "loss_curve.png"} <= files
    # random MobileNetV2 features are ~0: the user is told the head cannot learn from them
    assert any("features are all ~0" in n for n in result.notes)


@pytest.mark.slow
@needs_sample
def test_inference_timing_can_be_left_out(store, tmp_path, monkeypatch):
    """model.time_inference=false (the suite's mobilenet_head): the same run without the
    ~5 s latency measurement, and nothing else missing."""
    monkeypatch.setenv("OPTBENCH_CACHE_DIR", str(tmp_path / "cache"))
    overrides = ("model=mobilenet_v2", *QUICK, "trainer.max_iter=1", "model.time_inference=false")
    _, run = train(store, *overrides)
    m = client(store).get_run(run.run_id).data.metrics
    assert "inference_ms_per_image_b1" not in m and "inference_ms_per_image_b64" not in m
    assert m["params_frozen"] == 2_257_984 and m["train_images_per_s"] > 0


def test_cache_key_changes_with_backbone_size_weights_and_random_seed(tmp_path):
    from optbench.models.feature_cache import FeatureCache, cache_key

    model = prepare(compose_cfg(*RESNET32)).settings.model
    a, b = tmp_path / "a.weights.h5", tmp_path / "b.weights.h5"
    a.write_bytes(b"weights one")
    b.write_bytes(b"weights two")

    def folder(seed: int = 0, weights: Path | None = a, **changes):
        for key, value in changes.items():
            setattr(model, key, value)
        return FeatureCache(cache_key(model, seed, weights, "tensorflow"), tmp_path).folder

    base = folder()
    assert folder() == base and folder(seed=5) == base  # a weights file: seeds share features
    assert folder(weights=b) != base
    assert folder(input_size=64) != base
    assert folder(name="mobilenet_v2", input_size=32) != base
    model.name, model.input_size = "resnet50", 32
    assert folder(weights=None) != folder(seed=1, weights=None)  # random init: per seed


@pytest.mark.slow
@needs_sample
def test_cache_is_reused_across_optimizers_and_seeds(store, tmp_path):
    """Another optimizer reuses every feature; with a weights file, another seed (another
    subset and split of the same pool) computes only the images it has not seen."""
    from optbench.models.transfer import build_backbone

    base = (*RESNET32, "trainer.max_iter=1", "tracking.artifacts=false")
    weights = tmp_path / "resnet50_32.weights.h5"
    build_backbone(prepare(compose_cfg(*base)).settings.model, seed=7).save_weights(weights)
    base = (*base, f"model.weights={weights}")
    first, _ = train(store, *base, "seed=3")
    again, run = train(store, *base, "seed=3", "optimizer=sgd")
    tags = client(store).get_run(run.run_id).data.tags
    assert tags["optbench.feature_cache_hit"] == "true"
    assert again.final["cache_build_time_s"] == 0 and again.final["cache_hit_fraction"] == 1
    assert first.final["cache_build_time_s"] > 0 and first.final["cache_hit_fraction"] == 0
    shards = list(Path(tags["optbench.feature_cache"]).glob("shard-*.npz"))
    assert len(shards) == 3  # train, val, test of the first run; nothing written since
    reused, run = train(store, *base, "seed=4")
    assert client(store).get_run(run.run_id).data.tags["optbench.feature_cache_hit"] == "partial"
    assert 0 < reused.final["cache_hit_fraction"] < 1


@pytest.mark.slow
@needs_sample
def test_head_on_cached_features_equals_the_head_trained_through_the_frozen_backbone(
    exact_float32,
):
    overrides = (
        *RESNET32,
        "trainer.max_iter=2",
        "model.head.hidden_sizes=[32]",
        "model.head.dropout=0.3",
    )
    cached, t_cached = fit(*overrides, "model.cache_features=true")
    direct, t_direct = fit(*overrides, "model.cache_features=false")
    # another xdist worker may have cached some of these splits already (one cache per session)
    assert t_cached.cache_info["hit"] in ("true", "partial", "false")
    assert t_direct.cache_info["hit"] == "off"
    for a, b in zip(cached.history, direct.history, strict=True):
        for key in ("train_loss", "val_loss", "val_accuracy"):
            assert a[key] == pytest.approx(b[key], rel=1e-4, abs=1e-5), key
    assert cached.final["test_loss"] == pytest.approx(direct.final["test_loss"], rel=1e-4)
    for wa, wb in zip(
        [w for layer in t_cached.head for w in layer.get_weights()],
        [w for layer in t_direct.head for w in layer.get_weights()],
        strict=True,
    ):
        np.testing.assert_allclose(wa, wb, rtol=1e-4, atol=1e-5)
    assert cached.history[-1]["train_loss"] < cached.history[0]["train_loss"]


@pytest.mark.slow
@needs_sample
def test_random_resnet_features_train_a_head_above_chance():
    result, _ = fit(
        *RESNET32, "dataset.subset=null", "dataset.test_subset=1000", "trainer.max_iter=15"
    )
    assert result.final["test_accuracy"] > 0.2  # chance: 0.1 (measured about 0.26)


@pytest.mark.slow
@needs_sample
def test_fine_tuning_unfreezes_the_top_layers_for_extra_epochs():
    result, trainer = fit(
        *RESNET32,
        "trainer.max_iter=2",
        "trainer.fine_tune_epochs=1",
        "model.fine_tune_layers=4",
    )
    assert [h["step"] for h in result.history] == [1, 2, 3]
    assert "val_loss" in result.history[-1]
    trainable = {layer.name for layer in trainer.backbone.layers if layer.trainable_weights}
    top = {layer.name for layer in trainer.backbone.layers[-4:]}
    assert trainable and trainable <= top
    assert not any(
        isinstance(trainer.backbone.get_layer(n), keras.layers.BatchNormalization)
        for n in trainable
    )
    assert result.final["params_trainable"] > 1290  # head plus the unfrozen convolution


def test_weights_file_is_loaded_and_checked(tmp_path):
    from optbench.models.transfer import build_backbone

    model = prepare(compose_cfg("model=mobilenet_v2", *QUICK)).settings.model
    source = build_backbone(model, seed=3)
    good = tmp_path / "mnv2.weights.h5"
    source.save_weights(good)
    model.weights = str(good)
    loaded = build_backbone(model, seed=0)
    for a, b in zip(source.get_weights(), loaded.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    wrong = tmp_path / "small.weights.h5"
    keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)]).save_weights(wrong)
    model.weights = str(wrong)
    with pytest.raises(OptbenchError, match=rf"{wrong} does not fit mobilenet_v2 at input size 96"):
        build_backbone(model, seed=0)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (["model=mobilenet_v2", "model.input_size=100"], "ImageNet weights exist for 96, 128"),
        (["model=mobilenet_v2", "dataset=digits"], "needs RGB images: dataset=cifar10"),
        (
            ["model=resnet50", "model.augment=true", "model.cache_features=true"],
            "cache_features=true needs a frozen backbone",
        ),
        (["model=resnet50", "model.fine_tune_layers=3"], "trainer.fine_tune_epochs > 0"),
        (["model=resnet50", "model.weights=/no/such.h5"], "no file at /no/such.h5"),
        (["model=resnet50", "model.weights=weights.npz"], "a path to a .h5"),
        (["model=mlp", "model.input_scaling=raw"], "input_scaling=raw is for image backbones"),
    ],
)
def test_bad_transfer_configs_are_refused(overrides, message):
    with pytest.raises(OptbenchError, match=message.replace("(", r"\(").replace(".", r"\.")):
        prepare(compose_cfg("dataset=cifar10", *overrides))


@needs_sample
@pytest.mark.parametrize("download", [False, True])
def test_missing_imagenet_weights_offline_name_the_file_and_folder(
    tmp_path, optbench_main, download
):
    env = {"KERAS_HOME": str(tmp_path / "keras"), **OFFLINE}
    proc = optbench_main(
        "model=mobilenet_v2",
        "dataset=cifar10_sample",
        f"model.download_weights={str(download).lower()}",
        "optimizer=adam",
        f"tracking.uri=sqlite:///{tmp_path / 'm.db'}",
        cwd=tmp_path,
        env=env,
    )
    assert proc.returncode == 2, proc.stderr[-2000:]
    out = " ".join((proc.stdout + proc.stderr).split())
    expected = (
        tmp_path
        / "keras"
        / "models"
        / "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_96_no_top.h5"
    )
    assert str(expected) in out and "Runs offline now: optbench" in out, out[-2000:]
    assert "https://storage.googleapis.com/tensorflow/keras-applications/mobilenet_v2/" in out
    assert ("no network" if download else "model.download_weights=false") in out


@needs_sample
@pytest.mark.parametrize("model", ["mlp", "logreg"])
def test_flat_baselines_train_on_cifar10(model):
    extra = ("optimizer=adam",) if model == "mlp" else ("optimizer=saga",)
    extra = (*extra, "trainer.max_iter=5")
    result, _ = fit(f"model={model}", "dataset=cifar10_sample", "dataset.test_subset=1000", *extra)
    assert result.final["test_accuracy"] > 0.2


@needs_sample
@pytest.mark.slow
@pytest.mark.acceptance
def test_transfer_learning_experiment_sweeps_both_backbones_and_prints_the_table(tmp_path):
    proc = run_cli(
        "-m",
        "+experiment=transfer_learning",
        "dataset=cifar10_sample",
        "dataset.subset=300",
        "dataset.test_subset=300",
        "model.weights=null",
        "model.input_size=32",
        "trainer.max_iter=2",
        f"tracking.uri=sqlite:///{tmp_path / 'm.db'}",
        cwd=tmp_path,
        env={"OPTBENCH_CACHE_DIR": str(tmp_path / "cache")},
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = proc.stdout
    for text in (
        "Parameter Count",
        "Training Speed",
        "Validation Accuracy",
        "mobilenet_v2",
        "resnet50",
    ):
        assert text in out, text
    assert "2,270,794" in out and "23,608,202" in out  # backbone + Dense(10) head
    (page,) = (tmp_path / "runs" / "reports").glob("*/index.html")  # the sweep's report
    text = page.read_text()
    assert "<h2>Architectures</h2>" in text and "<td>23,608,202</td>" in text
