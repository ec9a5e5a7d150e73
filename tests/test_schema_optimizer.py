"""The optimizer group's schemas (optbench/schema/optimizer.py): the settings every gradient
optimizer shares (lr, one clipping, EMA), each optimizer's own ranges exactly at their limits
and either side, and ``custom_config``, which splits a schema-less optimizer=custom node into
the shared settings and the class's own keywords. A refusal is one line naming the key, the
value and what is allowed."""

from __future__ import annotations

import pytest

from optbench.constraints import check_dataclass
from optbench.errors import OptbenchError
from optbench.schema.optimizer import (
    CLIPS,
    SAM_BASES,
    AdamConfig,
    CustomConfig,
    GradientConfig,
    MuonConfig,
    RmspropConfig,
    SamConfig,
    SgdConfig,
    custom_config,
)
from tests.conftest import checked_node, node_refusal


def checked(schema: type, **values):
    return checked_node(schema, "optimizer.", **values)


def refusal(schema: type, **values) -> str:
    return node_refusal(schema, "optimizer.", **values)


def test_the_learning_rate_is_positive():
    assert checked(GradientConfig, lr=1e-12).lr == 1e-12
    assert refusal(GradientConfig, lr=0) == (
        "optimizer.lr=0.0 is not allowed: must be a number in (0, inf)."
    )


@pytest.mark.parametrize("clip", CLIPS)
def test_any_one_clipping_is_allowed(clip):
    assert getattr(checked(AdamConfig, **{clip: 1.0}), clip) == 1.0


@pytest.mark.parametrize(
    ("first", "second"),
    [("clipnorm", "clipvalue"), ("clipnorm", "global_clipnorm"), ("clipvalue", "global_clipnorm")],
)
def test_two_clippings_at_once_are_refused_naming_both(first, second):
    assert refusal(SgdConfig, **{first: 1.0, second: 1.0}) == (
        f"optimizer.{first} and optimizer.{second} are both set; Keras accepts only one of "
        "clipnorm, clipvalue, global_clipnorm."
    )


def test_a_clipping_is_positive_or_null():
    assert refusal(GradientConfig, clipvalue=0) == (
        "optimizer.clipvalue=0.0 is not allowed: must be a number in (0, inf) (or null)."
    )


@pytest.mark.parametrize(
    ("schema", "key"),
    [(SgdConfig, "momentum"), (AdamConfig, "beta_1"), (AdamConfig, "beta_2"),
     (RmspropConfig, "rho"), (GradientConfig, "ema_momentum")],
)  # fmt: skip
def test_decay_rates_run_from_0_up_to_but_not_including_1(schema, key):
    assert getattr(checked(schema, **{key: 0.0}), key) == 0.0
    assert getattr(checked(schema, **{key: 0.999999}), key) == 0.999999
    assert refusal(schema, **{key: 1.0}) == (
        f"optimizer.{key}=1.0 is not allowed: must be a number in [0, 1)."
    )


def test_nesterov_needs_momentum():
    assert refusal(SgdConfig, nesterov=True) == (
        "optimizer.nesterov=true needs optimizer.momentum > 0 (got 0.0)."
    )
    assert checked(SgdConfig, nesterov=True, momentum=0.9).nesterov is True


def test_sam_wraps_one_of_its_bases():
    for base in SAM_BASES:
        assert checked(SamConfig, base=base).base == base
    assert refusal(SamConfig, base="lion") == (
        "optimizer.base='lion' is not allowed: must be one of 'sgd', 'momentum', 'nesterov', "
        "'adam', 'adamw', 'rmsprop'."
    )
    assert refusal(SamConfig, rho=0) == (
        "optimizer.rho=0.0 is not allowed: must be a number in (0, inf)."
    )


def test_muon_decays_by_default_and_counts_newton_schulz_steps_from_1():
    assert checked(MuonConfig).weight_decay == 0.004  # Keras's Muon default, not null
    assert checked(MuonConfig, weight_decay=None).weight_decay is None
    assert refusal(MuonConfig, ns_steps=0) == (
        "optimizer.ns_steps=0 is not allowed: must be an integer in [1, inf)."
    )


def test_a_custom_node_splits_into_shared_settings_and_the_classs_keywords():
    opt = custom_config(
        {"name": "custom", "target": "my_optimizers:SignDescent", "lr": 0.1, "beta": 0.9}
    )
    assert isinstance(opt, CustomConfig)
    assert (opt.target, opt.lr, opt.clipnorm) == ("my_optimizers:SignDescent", 0.1, None)
    assert opt.kwargs == {"beta": 0.9}
    check_dataclass(opt, prefix="optimizer.")  # the shared settings are checked as any other's
    bad = custom_config({"name": "custom", "target": "m:C", "lr": -1.0})
    with pytest.raises(OptbenchError, match=r"^optimizer\.lr=-1\.0 is not allowed"):
        check_dataclass(bad, prefix="optimizer.")


@pytest.mark.parametrize(
    "node",
    [{"name": "adam", "target": "m:C"}, {"name": "custom"}, {"name": "custom", "target": ""}],
)
def test_a_schema_less_node_must_be_custom_with_a_target(node):
    with pytest.raises(OptbenchError) as refused:
        custom_config(node)
    assert str(refused.value) == (
        f"optimizer.name={node['name']!r}: an optimizer config without a schema must be name: "
        "custom with a target (package.module:ClassName); see conf/optimizer/custom.yaml."
    )
