"""The scikit-learn optimizer table: which optimizers each model accepts, and how a
framework-neutral optimizer/schedule config becomes estimator keyword arguments."""

from __future__ import annotations

from typing import Any

from optbench.errors import OptbenchError


def _solver(opt: Any) -> dict[str, Any]:
    return {"solver": opt.name}


def _sgd(opt: Any) -> dict[str, Any]:
    return {
        "solver": "sgd",
        "learning_rate_init": opt.lr,
        "momentum": opt.momentum,
        "nesterovs_momentum": opt.nesterov,
    }


def _adam(opt: Any) -> dict[str, Any]:
    return {
        "solver": "adam",
        "learning_rate_init": opt.lr,
        "beta_1": opt.beta_1,
        "beta_2": opt.beta_2,
        "epsilon": opt.epsilon,
    }


# model name -> optimizer name -> estimator kwargs
OPTIMIZERS: dict[str, dict[str, Any]] = {
    "logreg": {"saga": _solver, "sag": _solver, "lbfgs": _solver},
    "mlp_sklearn": {"adam": _adam, "sgd": _sgd, "momentum": _sgd, "nesterov": _sgd},
}
# Keras-style extras scikit-learn has no equivalent for (its MLP regularises with model.alpha)
UNSUPPORTED = ("weight_decay", "clipnorm", "clipvalue", "global_clipnorm", "use_ema", "amsgrad")
# schedules scikit-learn's MLP implements itself; they apply to its 'sgd' solver only
MLP_SCHEDULES = ("constant", "invscaling", "adaptive")


def optimizer_kwargs(model: Any, opt: Any, schedule: Any) -> dict[str, Any]:
    """Estimator kwargs for this model/optimizer/schedule, or a clear error if unsupported."""
    table = OPTIMIZERS.get(model.name)
    if table is None:
        raise OptbenchError(f"model={model.name} is not a scikit-learn model.")
    if opt.name not in table:
        raise OptbenchError(
            f"model={model.name} cannot be trained with optimizer={opt.name}; it accepts: "
            f"{', '.join(table)}."
        )
    extras = [k for k in UNSUPPORTED if getattr(opt, k, None) not in (None, False)]
    if extras:
        raise OptbenchError(
            f"optimizer.{extras[0]}={getattr(opt, extras[0])} is not available in scikit-learn "
            f"(model={model.name}); use a Keras model (e.g. model=mlp) or model.alpha for L2."
        )
    kwargs = table[opt.name](opt)
    if schedule.name != "constant":
        if model.name != "mlp_sklearn" or opt.name != "sgd" or schedule.name not in MLP_SCHEDULES:
            raise OptbenchError(
                f"schedule={schedule.name} is not available for model={model.name} "
                f"optimizer={opt.name}; scikit-learn offers {', '.join(MLP_SCHEDULES[1:])} "
                "for model=mlp_sklearn optimizer=sgd only (use schedule=constant)."
            )
        kwargs["learning_rate"] = schedule.name
        if schedule.name == "invscaling":
            kwargs["power_t"] = schedule.power_t
    if model.name == "logreg" and model.l1_ratio > 0 and opt.name != "saga":
        raise OptbenchError(
            f"model.l1_ratio={model.l1_ratio} (L1 / elastic-net penalty) needs optimizer=saga; "
            f"{opt.name} supports only the L2 penalty (l1_ratio=0)."
        )
    return kwargs
