"""Datasets by name. Each module exposes ``load(cfg, seed) -> Splits`` (a 2-D test function's
``-> Surface``); imported on demand."""

from __future__ import annotations

import importlib
from typing import Any, Protocol, Self

from optbench.data.splits import Splits
from optbench.errors import OptbenchError


class Dataset(Protocol):
    """What the runner and the trainers' ``fit`` take: ``Splits``, or a ``Surface``."""

    info: dict[str, Any]  # source, checksums, ...

    @property
    def n_classes(self) -> int | None: ...  # None: no classes (a 2-D test function)

    def sizes(self) -> dict[str, int]: ...

    def scaled(self, how: str) -> Self: ...  # the inputs as model.input_scaling says


# the 2-D test functions of optbench.optim.functions (model=landscape), listed here so that
# looking up a dataset never imports more than its own loader
FUNCTION_NAMES = (
    "rosenbrock",
    "beale",
    "himmelblau",
    "rastrigin",
    "saddle",
    "ill_conditioned_quadratic",
    "six_hump_camel",
)

DATASETS: dict[str, str] = {
    "digits": "optbench.data.digits",
    "synthetic": "optbench.data.synthetic",
    "mnist": "optbench.data.mnist",
    "cifar10": "optbench.data.cifar10",
    **dict.fromkeys(FUNCTION_NAMES, "optbench.data.surfaces"),
    "quadratic_deep": "optbench.data.noisy_quadratic",  # DeepOBS's 100-D noisy quadratic
}


def load_dataset(cfg: Any, seed: int) -> Dataset:
    """Load and describe the dataset named by ``cfg.name``: ``Splits``, or a ``Surface``. The
    data are drawn with ``cfg.data_seed`` where the config fixes one, else with ``seed``."""
    try:
        module = DATASETS[cfg.name]
    except KeyError:
        raise OptbenchError(
            f"dataset.name={cfg.name!r} has no loader; known: {', '.join(sorted(DATASETS))}."
        ) from None
    return importlib.import_module(module).load(cfg, data_seed(cfg, seed))


def data_seed(cfg: Any, seed: int) -> int:
    """The seed that draws the data: the dataset's own ``data_seed``, else the run's."""
    fixed = getattr(cfg, "data_seed", None)
    return seed if fixed is None else int(fixed)


__all__ = ["DATASETS", "FUNCTION_NAMES", "Dataset", "Splits", "load_dataset"]
