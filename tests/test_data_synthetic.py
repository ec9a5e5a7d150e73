"""dataset=synthetic's condition_number: 1 leaves the data exactly as before, larger values
make the features' covariance ill-conditioned, values below 1 are refused with one line; and
the suite workload built on it (ill_conditioned_logreg) composes and is listed."""

from __future__ import annotations

import dataclasses
from types import SimpleNamespace

import numpy as np
import pytest
from sklearn.datasets import make_classification

from optbench.data import load_dataset
from optbench.data.splits import split_with_holdout
from optbench.data.synthetic import feature_scales
from optbench.errors import OptbenchError
from optbench.schema import validate
from optbench.suite import workloads
from tests.conftest import compose_cfg, run_cli

SMALL = ("dataset=synthetic", "dataset.n_samples=1000", "dataset.n_features=12")
ARRAYS = ("x_train", "y_train", "x_val", "y_val", "x_test", "y_test")


def synthetic(*overrides: str):
    return validate(compose_cfg(*SMALL, *overrides)).dataset


def covariance_condition(x: np.ndarray) -> float:
    return float(np.linalg.cond(np.cov(x, rowvar=False)))


def test_condition_number_1_gives_exactly_the_arrays_of_before():
    cfg = synthetic("dataset.condition_number=1")
    got = load_dataset(cfg, seed=3)
    # the config as it was before the key existed
    without = SimpleNamespace(
        **{k: v for k, v in dataclasses.asdict(cfg).items() if k != "condition_number"}
    )
    before = load_dataset(without, seed=3)
    # and the loader's code before the key: make_classification, then the seeded split
    x, y = make_classification(
        n_samples=1000, n_features=12, n_informative=10, n_redundant=0, n_classes=3,
        class_sep=1.0, random_state=0,
    )  # fmt: skip
    reference = split_with_holdout(x, y, cfg, 3, {})
    for name in ARRAYS:
        assert np.array_equal(getattr(got, name), getattr(before, name)), name
        assert np.array_equal(getattr(got, name), getattr(reference, name)), name
        assert getattr(got, name).dtype == getattr(reference, name).dtype, name


def test_the_knob_scales_feature_j_by_condition_number_to_the_minus_j_over_d_minus_1():
    scales = feature_scales(5, 100.0)
    assert np.allclose(scales, [1.0, 100**-0.25, 0.1, 100**-0.75, 0.01])
    plain = load_dataset(synthetic(), seed=0)
    scaled = load_dataset(synthetic("dataset.condition_number=100"), seed=0)
    assert np.allclose(scaled.x_train, plain.x_train * feature_scales(12, 100.0))
    assert np.array_equal(scaled.y_train, plain.y_train)  # same examples, same split


def test_covariance_condition_number_grows_with_the_knob():
    conds = {
        c: covariance_condition(load_dataset(synthetic(f"dataset.condition_number={c}"), 0).x_train)
        for c in (1, 10, 100)
    }
    assert conds[1] < conds[10] < conds[100]
    assert conds[100] >= 100 * conds[1]


@pytest.mark.parametrize("value", ["0.5", "0"])
def test_condition_number_below_1_is_refused_in_one_line(value):
    with pytest.raises(OptbenchError) as info:
        synthetic(f"dataset.condition_number={value}")
    message = str(info.value)
    assert f"dataset.condition_number={float(value)!r} is not allowed" in message
    assert "[1, inf)" in message and "\n" not in message


def test_an_infinite_condition_number_is_refused_in_one_line():
    with pytest.raises(
        OptbenchError,
        match=r"^dataset.condition_number=inf is not allowed: must be a finite number >= 1.$",
    ):
        synthetic("dataset.condition_number=inf")


def test_the_workload_composes_unstandardised_and_is_listed(tmp_path):
    cfg = compose_cfg("+workload=ill_conditioned_logreg")
    settings = validate(cfg)
    assert settings.dataset.name == "synthetic" and settings.dataset.condition_number == 100
    assert settings.model.name == "logreg" and settings.model.input_scaling == "none"
    w = workloads.of_config("ill_conditioned_logreg", cfg)
    assert (w.metric, w.unit) == ("val_loss", "epochs") and 0 < w.value < 0.69  # < ln 2
    assert w.budget > 0  # value and budget: set by optbench suite --rebuild-baselines
    assert "synthetic" in w.description

    done = run_cli("suite", "--list", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    text = " ".join(done.stdout.split())
    assert "ill_conditioned_logreg" in text and f"{w.target} " in text
