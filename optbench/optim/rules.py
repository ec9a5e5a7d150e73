"""Which model takes which optimizer, schedule and dataset: the compatibility rules, declared
once (MODELS, and the registries they read) and checked before any work by ``check``
(trainers.base.make_trainer, from runner.prepare). The builders that can be called on their own
(sklearn.optimizer_kwargs, reference.from_config, keras.build_optimizer) refuse through the same
functions, with the same messages.

Hardware: only runs that load Keras use the hardware group. ``check_backend`` refuses what the
chosen Keras backend cannot do, or a backend that is not installed; whether a GPU is there is
the backend's to say (optbench/hardware/, when the trainer starts)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from optbench.errors import OptbenchError
from optbench.optim.functions import FUNCTIONS
from optbench.optim.registry import KERAS_CLASSES, OPTIMIZERS, WRAPPERS, optimizer_row
from optbench.optim.schedules import NUMPY_SCHEDULES, SKLEARN_SCHEDULES, require_keras_schedule

TEST_FUNCTIONS = tuple(FUNCTIONS)  # the 2-D datasets of model=landscape
NOISY_PROBLEMS = ("quadratic_deep",)  # its n-D stochastic ones (optbench/data/noisy_quadratic.py)
LANDSCAPE_DATASETS = TEST_FUNCTIONS + NOISY_PROBLEMS
IMAGE_DATASETS = ("cifar10",)  # RGB images, for the transfer-learning backbones
CONV_DATASETS = ("mnist", "digits", "cifar10")  # images of any channels, for cnn_2c2d
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


def _fine_tuning(cfg: Any) -> None:
    """Transfer models: both fine-tuning settings or neither, and only on a frozen backbone."""
    m, t = cfg.model, cfg.trainer
    if (m.fine_tune_layers > 0) != (t.fine_tune_epochs > 0):
        raise OptbenchError(
            "fine-tuning needs both model.fine_tune_layers > 0 and trainer.fine_tune_epochs "
            f"> 0 (got {m.fine_tune_layers} and {t.fine_tune_epochs})."
        )
    if m.fine_tune_layers > 0 and not m.freeze:
        raise OptbenchError(
            "model.fine_tune_layers applies to a frozen backbone (model.freeze=true); with "
            "model.freeze=false the whole backbone already trains."
        )


def _images(cfg: Any) -> None:
    """Convolutional models take the image datasets (the flat synthetic features are none)."""
    if cfg.dataset.name not in CONV_DATASETS:
        raise OptbenchError(
            f"model={cfg.model.name} needs images: dataset={', '.join(CONV_DATASETS)} (got "
            f"dataset={cfg.dataset.name})."
        )


@dataclass(frozen=True)
class ModelRule:
    """What one model (conf/model/<name>.yaml) can be trained with."""

    frameworks: tuple[str, ...]  # the model.framework values it runs on
    datasets: tuple[str, ...] | None = None  # None: every dataset but the 2-D test functions
    dataset_refusal: str = ""  # the message for another dataset ({model}, {datasets}, {dataset})
    sklearn_optimizers: tuple[str, ...] = ()  # in scikit-learn: the optimizers it accepts
    sklearn_scheduled: tuple[str, ...] = ()  # ...and those that may follow its own schedules
    # why it refuses an optimizer with its own train step (SAM) in Keras; None: it takes one
    train_step_refusal: str | None = None
    check: Callable[[Any], None] | None = None  # its own rules across config groups


TRANSFER = ModelRule(
    ("keras",),
    IMAGE_DATASETS,
    "model={model} needs RGB images: dataset={datasets} (got dataset={dataset}).",
    train_step_refusal="optimizer={optimizer} is not supported with model={model}.",
    check=_fine_tuning,
)
MODELS: dict[str, ModelRule] = {
    "logreg": ModelRule(("sklearn", "keras"), sklearn_optimizers=("saga", "sag", "lbfgs")),
    "mlp_sklearn": ModelRule(
        ("sklearn",),
        sklearn_optimizers=("adam", "sgd", "momentum", "nesterov"),
        sklearn_scheduled=("sgd",),
    ),
    "mlp": ModelRule(("keras",)),
    "cnn_2c2d": ModelRule(("keras",), check=_images),
    "landscape": ModelRule(
        ("numpy", "keras"),
        LANDSCAPE_DATASETS,
        "model={model} needs a 2-D test function or a noisy problem as dataset, one of: "
        "{datasets}.",
        train_step_refusal="optimizer={optimizer} needs a model's train_step (two gradients of "
        "a loss on data); it is not available for model={model}.",
    ),
    "mobilenet_v2": TRANSFER,
    "resnet50": TRANSFER,
}
SKLEARN_OPTIMIZERS = {m: r.sklearn_optimizers for m, r in MODELS.items() if r.sklearn_optimizers}
# the models of the plain Keras trainer (not a landscape or a backbone)
KERAS_MODELS = tuple(m for m, r in MODELS.items() if "keras" in r.frameworks and not r.datasets)
NUMPY_MODELS = tuple(m for m, r in MODELS.items() if "numpy" in r.frameworks)
LANDSCAPE = next(m for m, r in MODELS.items() if r.datasets == LANDSCAPE_DATASETS)


def model_rule(name: str) -> ModelRule:
    try:
        return MODELS[name]
    except KeyError:
        raise OptbenchError(
            f"model={name} has no row in the model rules (optbench/optim/rules.py); known: "
            f"{', '.join(MODELS)}."
        ) from None


def framework_of(cfg: Any) -> str:
    """model.framework, with 'auto' (logreg) resolved by the optimizer: scikit-learn's own
    solvers train it in scikit-learn, gradient optimizers in Keras (same objective)."""
    framework = cfg.model.framework
    if framework == "auto":
        rule = MODELS.get(cfg.model.name)
        return "sklearn" if rule and cfg.optimizer.name in rule.sklearn_optimizers else "keras"
    return framework


# -- scikit-learn
def check_sklearn_optimizer(model: Any, opt: Any, schedule: Any) -> None:
    """The model takes the optimizer, its settings and the schedule in scikit-learn."""
    rule = MODELS.get(model.name)
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
            for m, r in MODELS.items()
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


def check_sklearn(cfg: Any) -> None:
    """The scikit-learn job: its optimizer rules, and no batch size for a full-batch solver."""
    check_sklearn_optimizer(cfg.model, cfg.optimizer, cfg.schedule)
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


def check_keras(cfg: Any) -> None:
    """The Keras job: an optimizer's own train step where the model has one, a Keras class,
    a Keras schedule."""
    model, opt, rule = cfg.model.name, cfg.optimizer, model_rule(cfg.model.name)
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


def check_numpy(cfg: Any) -> None:
    check_reference(cfg.optimizer, cfg.schedule)


FRAMEWORK_CHECKS: dict[str, Callable[[Any], None]] = {
    "sklearn": check_sklearn,
    "keras": check_keras,
    "numpy": check_numpy,
}
FRAMEWORK_REFUSALS = {
    "sklearn": "model={model} is not a scikit-learn model.",
    "keras": f"model={{model}} is not a Keras model; those are: {', '.join(KERAS_MODELS)}.",
    "numpy": f"model={{model}} is not a NumPy model; those are: {', '.join(NUMPY_MODELS)}.",
}


def check_dataset(cfg: Any, rule: ModelRule) -> None:
    """2-D test functions and model=landscape go together; other models take what they list."""
    model, dataset = cfg.model.name, cfg.dataset.name
    is_function = dataset in LANDSCAPE_DATASETS
    refusal = rule.dataset_refusal.format(
        model=model, datasets=", ".join(rule.datasets or ()), dataset=dataset
    )
    if is_function != (rule.datasets == LANDSCAPE_DATASETS):
        kind = "a 2-D test function" if dataset in TEST_FUNCTIONS else "a noisy test problem"
        raise OptbenchError(
            f"dataset={dataset} is {kind}: train it with model={LANDSCAPE}."
            if is_function
            else refusal
        )
    if cfg.trainer.animate and not is_function:
        raise OptbenchError(f"trainer.animate=true applies to model={LANDSCAPE} runs only.")
    if rule.datasets is not None and dataset not in rule.datasets:
        raise OptbenchError(refusal)


def check(cfg: Any) -> None:
    """Every rule for one job (a validated Config), before any data is loaded."""
    rule = model_rule(cfg.model.name)
    optimizer_row(cfg.optimizer.name)
    check_dataset(cfg, rule)
    framework = framework_of(cfg)
    if framework not in rule.frameworks:
        raise OptbenchError(FRAMEWORK_REFUSALS[framework].format(model=cfg.model.name))
    FRAMEWORK_CHECKS[framework](cfg)
    if framework != "sklearn":
        check_backend(cfg.hardware)


# what a backend cannot do: (option, value, backend) -> why
BACKEND_LIMITS = {
    ("xla", True, "torch"): "the torch backend has no XLA; use hardware.backend=jax or "
    "tensorflow, or leave hardware.xla=null",
    ("gpus", "all", "torch"): "optbench runs the torch backend on one device; use "
    "hardware.backend=jax or tensorflow for several GPUs",
}


def check_backend(hw: Any) -> None:
    """The Keras backend is installed and can honour every hardware option."""
    import importlib.util

    for (option, value, backend), why in BACKEND_LIMITS.items():
        if hw.backend == backend and getattr(hw, option, None) == value:
            raise OptbenchError(
                f"hardware.{option}={str(value).lower()} with hardware.backend={backend}: {why}."
            )
    if importlib.util.find_spec(hw.backend) is None:
        raise OptbenchError(
            f"hardware.backend={hw.backend}: {hw.backend} is not installed in this "
            f"environment; pip install -e '.[{hw.backend}]' (README: Keras backends)."
        )
