"""Which optimizer and schedule a framework's model takes: the optimizer's side of the
compatibility rules, checked before any work by compat.check (the model's own rules are its row
in optbench/models/registry.py, the dataset's in optbench/data/checks.py). The builders that can
be called on their own (sklearn.optimizer_kwargs, reference.from_config, keras.build_optimizer)
refuse through the same functions, with the same messages. Where a rule reads the model
registry, it is passed in as ``models``: optim cannot import optbench.models (the models import
optim).

Hardware: only runs that load Keras use the hardware group; what the chosen Keras backend
cannot do is that backend's to say (optbench.backends.check, called by compat.check)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from optbench.errors import OptbenchError
from optbench.optim.registry import KERAS_CLASSES, OPTIMIZERS, WRAPPERS, optimizer_row
from optbench.optim.schedules import NUMPY_SCHEDULES, SKLEARN_SCHEDULES, require_keras_schedule

# Keras-style extras scikit-learn has no equivalent for (its MLP regularises with model.alpha)
SKLEARN_UNSUPPORTED = (
    "weight_decay",
    "clipnorm",
    "clipvalue",
    "global_clipnorm",
    "use_ema",
    "amsgrad",
)
L1_SOLVERS = ("saga",)  # scikit-learn solvers with an L1 / elastic-net penalty (model.l1_ratio)
# config switches the NumPy reference optimizers do not implement, with the value that means off
REFERENCE_UNSUPPORTED = {"centered": False, "amsgrad": False, "use_ema": False}


# -- scikit-learn
def check_sklearn_optimizer(model: Any, opt: Any, schedule: Any, models: Mapping[str, Any]) -> None:
    """The model takes the optimizer, its settings and the schedule in scikit-learn (what each
    model accepts: its row in ``models``, the model registry)."""
    rule = models.get(model.name)
    if rule is None or "sklearn" not in rule.frameworks:
        raise OptbenchError(f"model={model.name} is not a scikit-learn model.")
    if opt.name == "custom":
        raise OptbenchError(
            f"optimizer=custom: model={model.name} trains in scikit-learn, which takes no "
            "custom optimizer; use a Keras model (model=mlp, or model=logreg "
            "model.framework=keras)."
        )
    if opt.name not in rule.sklearn_optimizers:
        raise OptbenchError(
            f"model={model.name} cannot be trained with optimizer={opt.name}; it accepts: "
            f"{', '.join(rule.sklearn_optimizers)}."
        )
    extras = [k for k in SKLEARN_UNSUPPORTED if getattr(opt, k, None) not in (None, False)]
    if extras:
        raise OptbenchError(
            f"optimizer.{extras[0]}={getattr(opt, extras[0])} is not available in scikit-learn "
            f"(model={model.name}); use a Keras model (e.g. model=mlp) or model.alpha for L2."
        )
    offered = SKLEARN_SCHEDULES if opt.name in rule.sklearn_scheduled else ("constant",)
    if schedule.name not in offered:
        where = " or ".join(
            f"model={m} optimizer={'/'.join(r.sklearn_scheduled)}"
            for m, r in models.items()
            if r.sklearn_scheduled
        )
        raise OptbenchError(
            f"schedule={schedule.name} is not available for model={model.name} "
            f"optimizer={opt.name}; scikit-learn offers "
            f"{', '.join(s for s in SKLEARN_SCHEDULES if s != 'constant')} for {where} only "
            "(use schedule=constant)."
        )
    if getattr(model, "l1_ratio", 0) > 0 and opt.name not in L1_SOLVERS:
        raise OptbenchError(
            f"model.l1_ratio={model.l1_ratio} (L1 / elastic-net penalty) needs optimizer="
            f"{' or '.join(L1_SOLVERS)}; {opt.name} supports only the L2 penalty (l1_ratio=0)."
        )


def check_sklearn(cfg: Any, models: Mapping[str, Any]) -> None:
    """The scikit-learn job: its optimizer rules, and no batch size for a full-batch solver."""
    check_sklearn_optimizer(cfg.model, cfg.optimizer, cfg.schedule, models)
    if not optimizer_row(cfg.optimizer.name).needs_lr and cfg.trainer.batch_size != "auto":
        raise OptbenchError(
            f"trainer.batch_size={cfg.trainer.batch_size!r} does not apply to "
            f"optimizer={cfg.optimizer.name} on model={cfg.model.name} (scikit-learn's solvers "
            "use the whole training set each iteration); leave it at 'auto'."
        )


# -- Keras
def require_keras_optimizer(opt: Any) -> None:
    """A clear error for an optimizer (or a wrapper's base) with no keras.optimizers class."""
    row = optimizer_row(opt.name)
    name = getattr(opt, row.wraps) if row.wraps else opt.name
    if name not in KERAS_CLASSES:
        raise OptbenchError(
            f"optimizer={name} has no Keras implementation; available: "
            f"{', '.join(sorted(KERAS_CLASSES))}, {', '.join(WRAPPERS)}."
        )


def check_keras(cfg: Any, models: Mapping[str, Any]) -> None:
    """The Keras job: an optimizer's own train step where the model (its row in ``models``) has
    one, the model's own rules, a Keras class, a Keras schedule."""
    model, opt, rule = cfg.model.name, cfg.optimizer, models[cfg.model.name]
    row = optimizer_row(opt.name)
    if row.train_step and rule.train_step_refusal:
        raise OptbenchError(rule.train_step_refusal.format(optimizer=opt.name, model=model))
    if rule.check:
        rule.check(cfg)
    if not row.needs_lr:
        raise OptbenchError(
            f"optimizer={opt.name} is a scikit-learn solver; model={model} with Keras takes: "
            f"{', '.join(KERAS_CLASSES)}, {', '.join(WRAPPERS)}."
        )
    require_keras_optimizer(opt)
    require_keras_schedule(cfg.schedule)


# -- NumPy (the reference optimizers)
def check_reference(opt: Any, schedule: Any) -> None:
    """The NumPy reference optimizers implement the optimizer, its switches and the schedule."""
    if optimizer_row(opt.name).reference is None:
        implemented = [name for name, row in OPTIMIZERS.items() if row.reference]
        raise OptbenchError(
            f"optimizer={opt.name} has no NumPy reference implementation (those are: "
            f"{', '.join(implemented)}); use model.implementation=keras to run Keras's."
        )
    for key, off in REFERENCE_UNSUPPORTED.items():
        if getattr(opt, key, off) != off:
            raise OptbenchError(
                f"optimizer.{key}={getattr(opt, key)} is not in the NumPy reference "
                f"optimizers; use model.implementation=keras."
            )
    if schedule.name not in NUMPY_SCHEDULES:
        raise OptbenchError(
            f"schedule={schedule.name} is not in the NumPy reference optimizers "
            f"({', '.join(NUMPY_SCHEDULES)}); use model.implementation=keras."
        )


def check_numpy(cfg: Any, models: Mapping[str, Any]) -> None:
    check_reference(cfg.optimizer, cfg.schedule)


# what compat.check runs for the job's framework, with the model registry
FRAMEWORK_CHECKS: dict[str, Callable[[Any, Mapping[str, Any]], None]] = {
    "sklearn": check_sklearn,
    "keras": check_keras,
    "numpy": check_numpy,
}
