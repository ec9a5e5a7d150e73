"""The dataset group's schemas (optbench/schema/dataset.py): each field's range, exactly at its
limits and either side, and the cross-field rules of ``check``; a refusal is one line naming
the key, the value and what is allowed. Nodes are built as Hydra builds them (OmegaConf's
structured config, then ``to_object``) and checked as ``validate`` checks them."""

from __future__ import annotations

import pytest
from omegaconf import OmegaConf

from optbench.constraints import check_dataclass
from optbench.errors import OptbenchError
from optbench.schema import validate
from optbench.schema.dataset import (
    CIFAR10_CLASS_NAMES,
    Cifar10Config,
    DatasetConfig,
    FunctionConfig,
    NoisyQuadraticConfig,
    SyntheticConfig,
    TargetConfig,
    cifar10_class_ids,
)
from tests.conftest import compose_cfg

SMALL = ("dataset=synthetic", "dataset.n_samples=1000", "dataset.n_features=12")


def synthetic(*overrides: str):
    return validate(compose_cfg(*SMALL, *overrides)).dataset


def refusal(schema: type, **values) -> str | None:
    """The one line a dataset node of ``schema`` with ``values`` is refused with; None if it
    passes."""
    node = OmegaConf.to_object(OmegaConf.structured(schema(name="x", **values)))
    try:
        check_dataclass(node, prefix="dataset.")
    except OptbenchError as refused:
        return str(refused)
    return None


@pytest.mark.parametrize("value", [0, 1])
def test_val_fraction_is_a_share_strictly_between_none_and_all(value):
    assert refusal(DatasetConfig, val_fraction=value) == (
        f"dataset.val_fraction={float(value)!r} is not allowed: must be a number in (0, 1)."
    )
    assert refusal(DatasetConfig, val_fraction=0.999) is None


@pytest.mark.parametrize("subset", [None, 0.5, 1, 2, 500])
def test_subset_is_a_fraction_up_to_1_or_a_whole_count(subset):
    assert refusal(DatasetConfig, subset=subset) is None


@pytest.mark.parametrize(
    ("subset", "message"),
    [
        (0, "dataset.subset=0.0 is not allowed: must be a number in (0, inf) (or null)."),
        (1.5, "dataset.subset=1.5 is not allowed: must be a whole number of samples (> 1) "
              "or a fraction in (0, 1]."),
        (12.5, "dataset.subset=12.5 is not allowed: must be a whole number of samples (> 1) "
               "or a fraction in (0, 1]."),
    ],
)  # fmt: skip
def test_a_subset_of_nothing_or_of_part_of_a_sample_is_refused(subset, message):
    assert refusal(DatasetConfig, subset=subset) == message


def test_data_seed_is_null_or_not_negative():
    assert refusal(DatasetConfig, data_seed=None) is None
    assert refusal(DatasetConfig, data_seed=0) is None
    assert refusal(DatasetConfig, data_seed=-1) == (
        "dataset.data_seed=-1 is not allowed: must be a number in [0, inf) (or null)."
    )


def test_a_target_names_one_of_the_four_logged_metrics():
    assert refusal(DatasetConfig, target=TargetConfig("train_loss", 0.1)) is None
    assert refusal(DatasetConfig, target=TargetConfig("accuracy", 0.9)) == (
        "dataset.target.metric='accuracy' is not allowed: must be one of 'val_accuracy', "
        "'val_loss', 'train_accuracy', 'train_loss'."
    )


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"n_samples": 19}, "dataset.n_samples=19 is not allowed: must be an integer in [20, inf)."),
        ({"n_features": 1}, "dataset.n_features=1 is not allowed: must be an integer in [2, inf)."),
        ({"n_classes": 1}, "dataset.n_classes=1 is not allowed: must be an integer in [2, inf)."),
        ({"n_features": 4, "n_informative": 5},
         "dataset.n_informative=5 is not allowed: must be <= dataset.n_features=4."),
        ({"n_informative": 1, "n_classes": 3},
         "dataset.n_classes=3 is not allowed: needs n_classes <= 2**n_informative = 2."),
    ],
)  # fmt: skip
def test_a_synthetic_problem_that_cannot_be_generated_is_refused(values, message):
    assert refusal(SyntheticConfig, **values) == message


def test_the_smallest_synthetic_problem_passes():
    smallest = {"n_samples": 20, "n_features": 2, "n_informative": 1, "n_classes": 2}
    assert refusal(SyntheticConfig, **smallest) is None
    assert refusal(SyntheticConfig, n_features=4, n_informative=4) is None  # all informative


def test_condition_number_1_is_the_plain_problem_and_allowed():
    assert refusal(SyntheticConfig, condition_number=1.0) is None
    assert refusal(SyntheticConfig, condition_number=1e6) is None


def test_cifar10_classes_are_names_or_ids_in_the_official_order():
    assert cifar10_class_ids(["airplane", "truck", "cat"]) == [0, 9, 3]
    assert cifar10_class_ids(["5", 7]) == [5, 7]  # an id from the command line is a string
    assert cifar10_class_ids(list(CIFAR10_CLASS_NAMES)) == list(range(10))


def test_a_class_name_cifar10_lacks_is_refused_with_the_names_it_has():
    with pytest.raises(OptbenchError) as refused:
        cifar10_class_ids(["cat", "zebra"])
    assert str(refused.value) == (
        "dataset.classes: 'zebra' is not a CIFAR-10 class; classes are airplane, automobile, "
        "bird, cat, deer, dog, frog, horse, ship, truck (or ids 0-9)."
    )


@pytest.mark.parametrize("classes", [["cat"], ["cat", "cat"], ["cat", 3], [0, 10], [-1, 2]])
def test_cifar10_keeps_at_least_two_different_existing_classes(classes):
    assert refusal(Cifar10Config, classes=classes) == (
        f"dataset.classes={classes} is not allowed: must name at least two different classes "
        "(ids 0-9 or names)."
    )


def test_two_cifar10_classes_by_name_or_id_pass():
    assert refusal(Cifar10Config, classes=["cat", "dog"]) is None
    assert refusal(Cifar10Config, classes=[0, 9]) is None
    assert refusal(Cifar10Config, classes=None) is None  # all ten


def test_a_test_function_starts_at_a_point_of_the_plane():
    assert refusal(FunctionConfig, start=[1.0, -2.0]) is None
    assert refusal(FunctionConfig, start=[1.0, 2.0, 3.0]) == (
        "dataset.start=[1.0, 2.0, 3.0] is not allowed: must be a point [x, y]."
    )
    assert refusal(FunctionConfig, tolerance=0) == (
        "dataset.tolerance=0.0 is not allowed: must be a number in (0, inf)."
    )


@pytest.mark.parametrize(
    ("batch_size", "refused"), [(0, True), (1, False), (1000, False), (1001, True)]
)
def test_a_noisy_quadratic_batch_is_1_to_all_1000_training_points(batch_size, refused):
    message = refusal(NoisyQuadraticConfig, batch_size=batch_size)
    expected = f"dataset.batch_size={batch_size} is not allowed: must be an integer in [1, 1000]."
    assert message == (expected if refused else None)


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
