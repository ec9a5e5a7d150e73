"""The model group's schemas (optbench/schema/model.py): each model's ranges, exactly at their
limits and either side, and the rules of ``check`` (raw pixels only for backbones, the landscape's
one framework, a transfer model's weights, input size and feature cache); a refusal is one line
naming the key, the value and what is allowed. Nodes are built as Hydra builds them (OmegaConf's
structured config, then ``to_object``) and checked as ``validate`` checks them."""

from __future__ import annotations

import pytest

from optbench.schema.model import (
    Cnn2c2dConfig,
    HeadConfig,
    LandscapeConfig,
    LogRegConfig,
    MlpConfig,
    MlpSklearnConfig,
    TransferConfig,
)
from tests.conftest import checked_node, node_refusal


def checked(schema: type, name: str = "x", **values):
    return checked_node(schema, "model.", name, **values)


def refusal(schema: type, name: str = "x", **values) -> str:
    return node_refusal(schema, "model.", name, **values)


@pytest.mark.parametrize("schema", [LogRegConfig, MlpSklearnConfig, MlpConfig])
def test_raw_pixels_are_for_image_backbones_only(schema):
    assert refusal(schema, "mlp", input_scaling="raw") == (
        "model.input_scaling=raw is for image backbones; model=mlp takes standard, unit or none."
    )


def test_input_scaling_is_one_of_four_words():
    assert refusal(LogRegConfig, input_scaling="minmax") == (
        "model.input_scaling='minmax' is not allowed: must be one of 'standard', 'unit', "
        "'none', 'raw'."
    )


def test_the_elastic_net_mix_runs_from_l2_to_l1_inclusive():
    assert checked(LogRegConfig, l1_ratio=0.0).l1_ratio == 0.0
    assert checked(LogRegConfig, l1_ratio=1.0).l1_ratio == 1.0
    assert refusal(LogRegConfig, l1_ratio=1.01) == (
        "model.l1_ratio=1.01 is not allowed: must be a number in [0, 1]."
    )
    assert refusal(LogRegConfig, C=0) == "model.C=0.0 is not allowed: must be a number in (0, inf)."


def test_dropout_may_be_zero_but_never_everything():
    assert checked(MlpConfig, dropout=0.0).dropout == 0.0
    assert refusal(MlpConfig, dropout=1.0) == (
        "model.dropout=1.0 is not allowed: must be a number in [0, 1)."
    )


@pytest.mark.parametrize("sizes", [[], [64, 0]])
def test_an_mlp_has_at_least_one_layer_of_at_least_one_unit(sizes):
    assert refusal(MlpConfig, hidden_sizes=sizes) == (
        f"model.hidden_sizes={sizes} is not allowed: must be a non-empty list, each an integer "
        "in [1, inf)."
    )
    assert checked(MlpSklearnConfig, hidden_sizes=[1]).hidden_sizes == [1]


def test_a_transfer_head_may_have_no_hidden_layer():
    assert checked(TransferConfig, head=HeadConfig(hidden_sizes=[])).head.hidden_sizes == []
    assert refusal(TransferConfig, head=HeadConfig(hidden_sizes=[0])) == (
        "model.head.hidden_sizes=[0] is not allowed: must be a list, each an integer in [1, inf)."
    )


def test_the_2c2d_cnn_is_a_keras_model_on_scaled_pixels():
    assert refusal(Cnn2c2dConfig, framework="sklearn") == (
        "model.framework='sklearn' is not allowed: must be one of 'keras'."
    )
    assert refusal(Cnn2c2dConfig, input_scaling="raw") == (
        "model.input_scaling='raw' is not allowed: must be one of 'standard', 'unit', 'none'."
    )


def test_the_landscape_model_is_tagged_with_the_framework_that_steps():
    assert checked(LandscapeConfig, framework="keras", implementation="keras").framework == "keras"
    assert refusal(LandscapeConfig, framework="keras") == (
        "model.framework=keras does not match model.implementation=numpy: for model=landscape "
        "set model.implementation only."
    )


@pytest.mark.parametrize("weights", ["imagenet", None, "backbone.h5", "~/w/backbone.weights.h5"])
def test_transfer_weights_are_imagenet_none_or_an_h5_file(weights):
    assert checked(TransferConfig, "resnet50", weights=weights).weights == weights


def test_transfer_weights_of_another_format_are_refused():
    assert refusal(TransferConfig, "resnet50", weights="backbone.pt") == (
        "model.weights='backbone.pt' is not allowed: must be imagenet, null, or a path to a .h5 "
        "/ .weights.h5 file."
    )


def test_images_are_resized_to_at_least_32_pixels():
    assert checked(TransferConfig, "resnet50", input_size=32).input_size == 32
    assert refusal(TransferConfig, "resnet50", input_size=31) == (
        "model.input_size=31 is not allowed: must be an integer in [32, inf)."
    )


def test_mobilenets_imagenet_weights_exist_for_five_sizes_only():
    for size in (96, 128, 160, 192, 224):
        checked(TransferConfig, "mobilenet_v2", input_size=size)
    assert refusal(TransferConfig, "mobilenet_v2", input_size=100) == (
        "model.input_size=100 is not allowed with model.weights=imagenet: MobileNetV2's ImageNet "
        "weights exist for 96, 128, 160, 192, 224 only (or use model.weights=null)."
    )
    checked(TransferConfig, "mobilenet_v2", input_size=100, weights=None)  # random init: any
    checked(TransferConfig, "resnet50", input_size=100)  # another backbone: any


@pytest.mark.parametrize("changing", [{"freeze": False}, {"augment": True}])
def test_cached_features_need_a_frozen_backbone_and_no_augmentation(changing):
    assert refusal(TransferConfig, cache_features=True, **changing) == (
        "model.cache_features=true needs a frozen backbone (model.freeze=true) and no "
        "augmentation (model.augment=false): otherwise the features change every epoch."
    )
    assert checked(TransferConfig, cache_features=None, **changing).use_cache is False


def test_the_feature_cache_is_on_by_default_where_features_cannot_change():
    assert checked(TransferConfig).use_cache is True  # frozen, not augmented
    assert checked(TransferConfig, cache_features=False).use_cache is False
