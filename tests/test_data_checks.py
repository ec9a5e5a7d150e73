"""Which datasets go with which model, as the datasets see it (optbench/data/checks.py): the
kinds of dataset, and ``check_dataset``'s one-line refusals, called here with a model row's
fields written out (the registry's own rows: tests/test_models_registry.py)."""

from __future__ import annotations

import pytest

from optbench.data import DATASETS, FUNCTION_NAMES
from optbench.data.checks import (
    CONV_DATASETS,
    IMAGE_DATASETS,
    LANDSCAPE_DATASETS,
    NOISY_PROBLEMS,
    check_dataset,
)
from optbench.errors import OptbenchError
from optbench.schema import validate
from tests.conftest import compose_cfg

REFUSAL = "model={model} takes {datasets}, not dataset={dataset}."


def job(*overrides: str):
    return validate(compose_cfg(*overrides))


def refusal(cfg, datasets: tuple[str, ...] | None) -> str | None:
    try:
        check_dataset(cfg, datasets, REFUSAL, "landscape")
    except OptbenchError as refused:
        return str(refused)
    return None


def test_every_kind_names_datasets_that_have_a_loader():
    assert (*FUNCTION_NAMES, *NOISY_PROBLEMS) == LANDSCAPE_DATASETS
    for kind in (LANDSCAPE_DATASETS, IMAGE_DATASETS, CONV_DATASETS):
        assert set(kind) <= set(DATASETS)
    assert set(IMAGE_DATASETS) <= set(CONV_DATASETS)


@pytest.mark.parametrize(
    ("dataset", "kind"),
    [("beale", "a 2-D test function"), ("quadratic_deep", "a noisy test problem")],
)
def test_a_landscape_dataset_on_another_model_says_which_model_walks_it(dataset, kind):
    cfg = job(f"dataset={dataset}", "model=logreg", "optimizer=saga")
    assert refusal(cfg, None) == (f"dataset={dataset} is {kind}: train it with model=landscape.")


def test_the_landscape_model_on_data_gets_its_rows_refusal_with_the_names_filled_in():
    assert refusal(job("model=landscape"), LANDSCAPE_DATASETS) == (
        "model=landscape takes rosenbrock, beale, himmelblau, rastrigin, saddle, "
        "ill_conditioned_quadratic, six_hump_camel, quadratic_deep, not dataset=digits."
    )


def test_a_model_with_a_list_of_datasets_refuses_any_other():
    cfg = job()
    assert refusal(cfg, IMAGE_DATASETS) == "model=logreg takes cifar10, not dataset=digits."
    assert refusal(cfg, CONV_DATASETS) is None
    assert refusal(cfg, None) is None  # None: every dataset but the landscape ones


def test_an_animation_is_of_a_walk_on_a_landscape_only():
    assert refusal(job("trainer.animate=true"), None) == (
        "trainer.animate=true applies to model=landscape runs only."
    )
    assert refusal(job("dataset=beale", "trainer.animate=true"), LANDSCAPE_DATASETS) is None
