"""optbench.optim.sklearn: the exact estimator keyword arguments for every model/optimizer/
schedule scikit-learn accepts (the registry's mappings and the schedule table), and the message
for each combination it refuses (optbench.optim.rules, through optimizer_kwargs, with the
model registry's rows)."""

from __future__ import annotations

import pytest

from optbench.errors import OptbenchError
from optbench.models.registry import MODELS
from optbench.optim import sklearn
from optbench.optim.rules import SKLEARN_UNSUPPORTED as UNSUPPORTED
from optbench.optim.schedules import SKLEARN_SCHEDULES as MLP_SCHEDULES
from optbench.schema import (
    AdamConfig,
    InvScalingConfig,
    LogRegConfig,
    MlpConfig,
    MlpSklearnConfig,
    ScheduleConfig,
    SgdConfig,
    SolverConfig,
)

LOGREG, MLP = LogRegConfig(name="logreg"), MlpSklearnConfig(name="mlp_sklearn")
CONSTANT = ScheduleConfig(name="constant")
OPTIMIZERS = {m: row.sklearn_optimizers for m, row in MODELS.items() if row.sklearn_optimizers}


def optimizer_kwargs(model, opt, schedule):
    return sklearn.optimizer_kwargs(model, opt, schedule, MODELS)


def sgd(name="sgd", **kw):
    return SgdConfig(name=name, **{"lr": 0.05, "momentum": 0.8, "nesterov": False, **kw})


def test_the_table_lists_what_each_model_accepts():
    assert {m: list(t) for m, t in OPTIMIZERS.items()} == {
        "logreg": ["saga", "sag", "lbfgs"],
        "mlp_sklearn": ["adam", "sgd", "momentum", "nesterov"],
    }
    assert MLP_SCHEDULES == ("constant", "invscaling", "adaptive")


@pytest.mark.parametrize("solver", ["saga", "sag", "lbfgs"])
def test_logreg_solvers_pass_their_name_only(solver):
    assert optimizer_kwargs(LOGREG, SolverConfig(name=solver), CONSTANT) == {"solver": solver}


def test_mlp_adam_passes_its_rate_betas_and_epsilon():
    opt = AdamConfig(name="adam", lr=0.003, beta_1=0.8, beta_2=0.99, epsilon=1e-6)
    assert optimizer_kwargs(MLP, opt, CONSTANT) == {
        "solver": "adam",
        "learning_rate_init": 0.003,
        "beta_1": 0.8,
        "beta_2": 0.99,
        "epsilon": 1e-6,
    }


@pytest.mark.parametrize(
    ("name", "momentum", "nesterov"),
    [("sgd", 0.0, False), ("momentum", 0.9, False), ("nesterov", 0.9, True)],
)
def test_mlp_sgd_family_is_sklearns_sgd_solver(name, momentum, nesterov):
    opt = sgd(name, momentum=momentum, nesterov=nesterov)
    assert optimizer_kwargs(MLP, opt, CONSTANT) == {
        "solver": "sgd",
        "learning_rate_init": 0.05,
        "momentum": momentum,
        "nesterovs_momentum": nesterov,
    }


def test_sgd_schedules_become_sklearns_learning_rate():
    invscaling = optimizer_kwargs(MLP, sgd(), InvScalingConfig(name="invscaling", power_t=0.25))
    assert invscaling == {
        "solver": "sgd",
        "learning_rate_init": 0.05,
        "momentum": 0.8,
        "nesterovs_momentum": False,
        "learning_rate": "invscaling",
        "power_t": 0.25,
    }
    adaptive = optimizer_kwargs(MLP, sgd(), ScheduleConfig(name="adaptive"))
    assert adaptive["learning_rate"] == "adaptive" and "power_t" not in adaptive
    assert "learning_rate" not in optimizer_kwargs(MLP, sgd(), CONSTANT)


def test_a_model_outside_scikit_learn_is_refused():
    with pytest.raises(OptbenchError, match=r"^model=mlp is not a scikit-learn model\.$"):
        optimizer_kwargs(MlpConfig(name="mlp"), sgd(), CONSTANT)


def test_an_optimizer_the_model_does_not_accept_is_refused_with_the_choices():
    with pytest.raises(OptbenchError) as info:
        optimizer_kwargs(LOGREG, sgd(), CONSTANT)
    assert str(info.value) == (
        "model=logreg cannot be trained with optimizer=sgd; it accepts: saga, sag, lbfgs."
    )
    with pytest.raises(OptbenchError, match="it accepts: adam, sgd, momentum, nesterov"):
        optimizer_kwargs(MLP, SolverConfig(name="lbfgs"), CONSTANT)


@pytest.mark.parametrize(
    ("extra", "shown"),
    [
        ({"weight_decay": 0.01}, "optimizer.weight_decay=0.01"),
        ({"clipnorm": 1.0}, "optimizer.clipnorm=1.0"),
        ({"clipvalue": 0.5}, "optimizer.clipvalue=0.5"),
        ({"global_clipnorm": 2.0}, "optimizer.global_clipnorm=2.0"),
        ({"use_ema": True}, "optimizer.use_ema=True"),
    ],
)
def test_keras_only_extras_are_refused(extra, shown):
    with pytest.raises(OptbenchError) as info:
        optimizer_kwargs(MLP, sgd(**extra), CONSTANT)
    assert str(info.value) == (
        f"{shown} is not available in scikit-learn (model=mlp_sklearn); use a Keras model "
        "(e.g. model=mlp) or model.alpha for L2."
    )


def test_amsgrad_is_refused_and_the_first_extra_is_named():
    assert UNSUPPORTED[-1] == "amsgrad"
    with pytest.raises(OptbenchError, match=r"^optimizer\.amsgrad=True is not available"):
        optimizer_kwargs(MLP, AdamConfig(name="adam", amsgrad=True), CONSTANT)
    with pytest.raises(OptbenchError, match=r"^optimizer\.weight_decay=0\.1 is not"):
        optimizer_kwargs(MLP, sgd(weight_decay=0.1, clipnorm=1.0), CONSTANT)
    # None and False mean "off"; so does a weight decay of 0 (== False): nothing to refuse
    off = sgd(use_ema=False, clipnorm=None, weight_decay=0.0)
    assert optimizer_kwargs(MLP, off, CONSTANT)["solver"] == "sgd"


@pytest.mark.parametrize(
    ("model", "opt", "schedule"),
    [
        (MLP, AdamConfig(name="adam"), "invscaling"),  # sgd only
        (MLP, sgd("momentum"), "adaptive"),  # the optimizer name must be sgd itself
        (MLP, sgd(), "cosine"),  # a Keras schedule
        (LOGREG, SolverConfig(name="saga"), "invscaling"),  # MLP only
    ],
)
def test_schedules_outside_the_mlp_sgd_solver_are_refused(model, opt, schedule):
    with pytest.raises(OptbenchError) as info:
        optimizer_kwargs(model, opt, ScheduleConfig(name=schedule))
    assert str(info.value) == (
        f"schedule={schedule} is not available for model={model.name} optimizer={opt.name}; "
        "scikit-learn offers invscaling, adaptive for model=mlp_sklearn optimizer=sgd only "
        "(use schedule=constant)."
    )


def test_l1_and_elastic_net_need_saga():
    elastic = LogRegConfig(name="logreg", l1_ratio=0.5)
    assert optimizer_kwargs(elastic, SolverConfig(name="saga"), CONSTANT) == {"solver": "saga"}
    for solver in ("sag", "lbfgs"):
        with pytest.raises(OptbenchError) as info:
            optimizer_kwargs(elastic, SolverConfig(name=solver), CONSTANT)
        assert str(info.value) == (
            "model.l1_ratio=0.5 (L1 / elastic-net penalty) needs optimizer=saga; "
            f"{solver} supports only the L2 penalty (l1_ratio=0)."
        )
    assert optimizer_kwargs(LOGREG, SolverConfig(name="lbfgs"), CONSTANT) == {"solver": "lbfgs"}
