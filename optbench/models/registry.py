"""The model registry: one row per model (conf/model/<name>.yaml) with its config schema and
everything else that knows the model by name: the frameworks it runs on and the trainer of
each, the datasets it takes, which scikit-learn optimizers it accepts, its transfer backbone and
its own rules across config groups. Whatever asks "what is model X" reads the row: make_trainer,
compat.check, the backbones' weights files (backbones.py). Adding a model is its YAML plus a row
here; tests/test_models_registry.py checks that the two agree. Imports neither Keras nor
scikit-learn."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from optbench.data.checks import CONV_DATASETS, IMAGE_DATASETS, LANDSCAPE_DATASETS
from optbench.errors import OptbenchError
from optbench.schema.model import (
    Cnn2c2dConfig,
    LandscapeConfig,
    LogRegConfig,
    MlpConfig,
    MlpSklearnConfig,
    TransferConfig,
)

BASE_URL = "https://storage.googleapis.com/tensorflow/keras-applications/"
# the trainers, "module:Class" (make_trainer imports only the one a job uses)
SKLEARN_TRAINER = "optbench.trainers.sklearn:SklearnTrainer"
KERAS_TRAINER = "optbench.trainers.keras_trainer:KerasTrainer"
LANDSCAPE_TRAINER = "optbench.trainers.landscape:LandscapeTrainer"  # NumPy or Keras steps
TRANSFER_TRAINER = "optbench.trainers.transfer:TransferTrainer"


@dataclass(frozen=True)
class Backbone:
    """A keras.applications backbone and its ImageNet weights file (models/backbones.py)."""

    constructor: str  # keras.applications.<constructor>
    module: str  # keras.applications.<module>.preprocess_input
    weights_url: str  # '{size}' filled with the input size where the file depends on it
    weights_hash: str | None  # Keras's own check of the downloaded file (None: Keras has none)

    def weights_file(self, size: int) -> str:
        return self.weights_url.format(size=size).rsplit("/", 1)[1]


@dataclass(frozen=True)
class ModelRow:
    """One model name: its schema, its trainers, and what it can be trained with."""

    name: str
    schema: type  # its dataclass in optbench/schema/model.py (what its YAML extends)
    # model.framework -> the trainer that runs it there; the keys are the frameworks it runs on
    trainers: Mapping[str, str]
    datasets: tuple[str, ...] | None = None  # None: every dataset but the 2-D test functions
    dataset_refusal: str = ""  # the message for another dataset ({model}, {datasets}, {dataset})
    sklearn_optimizers: tuple[str, ...] = ()  # in scikit-learn: the optimizers it accepts
    sklearn_scheduled: tuple[str, ...] = ()  # ...and those that may follow its own schedules
    # why it refuses an optimizer with its own train step (SAM) in Keras; None: it takes one
    train_step_refusal: str | None = None
    backbone: Backbone | None = None  # a transfer model's keras.applications backbone
    check: Callable[[Any], None] | None = None  # its own rules across config groups

    @property
    def frameworks(self) -> tuple[str, ...]:
        return tuple(self.trainers)


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


def _transfer(name: str, constructor: str, weights: str, weights_hash: str | None) -> ModelRow:
    """A keras.applications backbone with a new head; ``name`` is also the keras.applications
    module whose preprocess_input it uses, ``weights`` the file's path under BASE_URL."""
    return ModelRow(
        name,
        TransferConfig,
        {"keras": TRANSFER_TRAINER},
        IMAGE_DATASETS,
        "model={model} needs RGB images: dataset={datasets} (got dataset={dataset}).",
        train_step_refusal="optimizer={optimizer} is not supported with model={model}.",
        backbone=Backbone(constructor, name, BASE_URL + weights, weights_hash),
        check=_fine_tuning,
    )


# in this order in messages that list models
MODELS: dict[str, ModelRow] = {
    row.name: row
    for row in (
        ModelRow(
            "logreg",
            LogRegConfig,
            {"sklearn": SKLEARN_TRAINER, "keras": KERAS_TRAINER},
            sklearn_optimizers=("saga", "sag", "lbfgs"),
        ),
        ModelRow(
            "mlp_sklearn",
            MlpSklearnConfig,
            {"sklearn": SKLEARN_TRAINER},
            sklearn_optimizers=("adam", "sgd", "momentum", "nesterov"),
            sklearn_scheduled=("sgd",),
        ),
        ModelRow("mlp", MlpConfig, {"keras": KERAS_TRAINER}),
        ModelRow("cnn_2c2d", Cnn2c2dConfig, {"keras": KERAS_TRAINER}, check=_images),
        ModelRow(
            "landscape",
            LandscapeConfig,
            dict.fromkeys(("numpy", "keras"), LANDSCAPE_TRAINER),
            LANDSCAPE_DATASETS,
            "model={model} needs a 2-D test function or a noisy problem as dataset, one of: "
            "{datasets}.",
            train_step_refusal="optimizer={optimizer} needs a model's train_step (two gradients "
            "of a loss on data); it is not available for model={model}.",
        ),
        _transfer(
            "mobilenet_v2",
            "MobileNetV2",
            "mobilenet_v2/mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_{size}_no_top.h5",
            None,
        ),
        _transfer(
            "resnet50",
            "ResNet50",
            "resnet/resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5",
            "4d473c1dd8becc155b73f8504c6f6626",
        ),
    )
}
# the models of the plain Keras trainer (not a landscape or a backbone)
KERAS_MODELS = tuple(m for m, r in MODELS.items() if "keras" in r.frameworks and not r.datasets)
NUMPY_MODELS = tuple(m for m, r in MODELS.items() if "numpy" in r.frameworks)
LANDSCAPE = next(m for m, r in MODELS.items() if r.datasets == LANDSCAPE_DATASETS)
FRAMEWORK_REFUSALS = {
    "sklearn": "model={model} is not a scikit-learn model.",
    "keras": f"model={{model}} is not a Keras model; those are: {', '.join(KERAS_MODELS)}.",
    "numpy": f"model={{model}} is not a NumPy model; those are: {', '.join(NUMPY_MODELS)}.",
}


def model_row(name: str) -> ModelRow:
    """The registry row of ``name``, or an error naming the rows there are."""
    try:
        return MODELS[name]
    except KeyError:
        raise OptbenchError(
            f"model={name} has no row in the model registry (optbench/models/registry.py); "
            f"known: {', '.join(MODELS)}."
        ) from None


def framework_of(cfg: Any) -> str:
    """model.framework, with 'auto' (logreg) resolved by the optimizer: scikit-learn's own
    solvers train it in scikit-learn, gradient optimizers in Keras (same objective)."""
    framework = cfg.model.framework
    if framework == "auto":
        row = MODELS.get(cfg.model.name)
        return "sklearn" if row and cfg.optimizer.name in row.sklearn_optimizers else "keras"
    return framework


def check_framework(row: ModelRow, framework: str) -> None:
    """The model runs on ``framework`` (it has a trainer there)."""
    if framework not in row.trainers:
        raise OptbenchError(FRAMEWORK_REFUSALS[framework].format(model=row.name))
