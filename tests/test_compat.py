"""Whether one job's parts go together (optbench/compat.py): each owner's rule is called in
turn, so a job with several faults is refused for the first in this order: its dataset, its
model's framework, the framework's optimizer rules, then (Keras jobs only) the backend. (The
rules themselves: tests/test_data_checks.py, test_models_registry.py, test_optim_rules.py,
test_backends.py.)"""

from __future__ import annotations

import pytest

from optbench.compat import check
from optbench.errors import OptbenchError
from optbench.schema import validate
from tests.conftest import compose_cfg


def refusal(*overrides: str) -> str | None:
    try:
        check(validate(compose_cfg(*overrides)))
    except OptbenchError as refused:
        return str(refused)
    return None


@pytest.mark.parametrize(
    "overrides",
    [(), ("model=mlp", "optimizer=adam"), ("dataset=beale",), ("hardware=gpu",)],
    ids=["default", "keras", "landscape", "sklearn-on-gpu-settings"],
)
def test_a_job_whose_parts_go_together_passes(overrides):
    assert refusal(*overrides) is None


def test_the_dataset_is_checked_before_the_optimizer():
    assert refusal("dataset=beale", "model=mlp_sklearn", "optimizer=adagrad") == (
        "dataset=beale is a 2-D test function: train it with model=landscape."
    )
    # without the dataset's fault, the optimizer rule's (its message: tests/test_optim_rules.py)
    assert refusal("model=mlp_sklearn", "optimizer=adagrad").startswith(
        "model=mlp_sklearn cannot be trained with optimizer=adagrad;"
    )


def test_the_framework_is_checked_before_its_optimizer_rules():
    assert refusal("model=mlp_sklearn", "model.framework=keras", "optimizer=adagrad") == (
        "model=mlp_sklearn is not a Keras model; those are: logreg, mlp, cnn_2c2d."
    )


def test_the_keras_backend_is_checked_for_keras_jobs_only():
    torch_xla = ("hardware.backend=torch", "hardware.xla=true")
    assert refusal("model=mlp", "optimizer=adam", *torch_xla) == (
        "hardware.xla=true with hardware.backend=torch: the torch backend has no XLA; use "
        "hardware.backend=jax or tensorflow, or leave hardware.xla=null."
    )
    assert refusal("model=logreg", "optimizer=saga", *torch_xla) is None  # scikit-learn
