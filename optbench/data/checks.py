"""Which datasets go with which model, as the datasets see it: the kinds of dataset there are
(2-D test functions, noisy problems, images) and the check that a job's dataset fits its model's
row. The model registry (optbench/models/registry.py) names these kinds in its rows; compat.check
calls ``check_dataset`` with the row's fields, since data cannot import models (models import
data)."""

from __future__ import annotations

from typing import Any

from optbench.data import FUNCTION_NAMES
from optbench.errors import OptbenchError

TEST_FUNCTIONS = FUNCTION_NAMES  # the 2-D datasets of model=landscape
NOISY_PROBLEMS = ("quadratic_deep",)  # its n-D stochastic ones (optbench/data/noisy_quadratic.py)
LANDSCAPE_DATASETS = TEST_FUNCTIONS + NOISY_PROBLEMS
IMAGE_DATASETS = ("cifar10",)  # RGB images, for the transfer-learning backbones
CONV_DATASETS = ("mnist", "digits", "cifar10")  # images of any channels, for cnn_2c2d


def check_dataset(cfg: Any, datasets: tuple[str, ...] | None, refusal: str, landscape: str) -> None:
    """2-D test functions and the ``landscape`` model go together; other models take
    ``datasets`` (None: every dataset but those), refusing another with ``refusal``
    ({model}, {datasets}, {dataset} filled in)."""
    model, dataset = cfg.model.name, cfg.dataset.name
    is_function = dataset in LANDSCAPE_DATASETS
    message = refusal.format(model=model, datasets=", ".join(datasets or ()), dataset=dataset)
    if is_function != (datasets == LANDSCAPE_DATASETS):
        kind = "a 2-D test function" if dataset in TEST_FUNCTIONS else "a noisy test problem"
        raise OptbenchError(
            f"dataset={dataset} is {kind}: train it with model={landscape}."
            if is_function
            else message
        )
    if cfg.trainer.animate and not is_function:
        raise OptbenchError(f"trainer.animate=true applies to model={landscape} runs only.")
    if datasets is not None and dataset not in datasets:
        raise OptbenchError(message)
