"""Schemas of the model group (conf/model/): what every model shares, then each model's
own settings."""

from __future__ import annotations

from dataclasses import dataclass, field

from omegaconf import MISSING

from optbench.constraints import (
    EachOf,
    Interval,
    OneOf,
    constrained,
    non_negative,
    positive,
    positive_int,
)
from optbench.errors import OptbenchError

LAYER_SIZES = EachOf(Interval(1, None, integer=True))


@dataclass
class ModelConfig:
    name: str = MISSING
    # auto (logreg): sklearn for saga/sag/lbfgs, keras for gradient optimizers
    framework: str = constrained("sklearn", OneOf(("sklearn", "keras", "numpy", "auto")))
    # standard | unit ([0, 1]) | none: flattened to vectors; raw: images as loaded (backbones)
    input_scaling: str = constrained("standard", OneOf(("standard", "unit", "none", "raw")))

    def check(self) -> None:
        if self.input_scaling == "raw":
            raise OptbenchError(
                f"model.input_scaling=raw is for image backbones; model={self.name} takes "
                "standard, unit or none."
            )


@dataclass
class LogRegConfig(ModelConfig):
    C: float = positive(1.0)  # inverse regularisation strength
    l1_ratio: float = constrained(0.0, Interval(0, 1))  # 0: L2 penalty, 1: L1, between: elastic net
    fit_intercept: bool = True


@dataclass
class MlpSklearnConfig(ModelConfig):
    hidden_sizes: list[int] = constrained([100], LAYER_SIZES)
    activation: str = constrained("relu", OneOf(("relu", "tanh", "logistic", "identity")))
    alpha: float = non_negative(1e-4)  # L2 penalty


@dataclass
class MlpConfig(ModelConfig):
    """Keras MLP: Flatten -> Dense(h, activation) for h in hidden_sizes -> Dropout ->
    Dense(softmax)."""

    hidden_sizes: list[int] = constrained([128], LAYER_SIZES)
    activation: str = constrained(
        "relu", OneOf(("relu", "tanh", "sigmoid", "gelu", "elu", "selu", "swish", "linear"))
    )
    dropout: float = constrained(0.2, Interval(0, 1, "left"))
    init: str = constrained(
        "glorot_uniform",
        OneOf(
            (
                "glorot_uniform",
                "glorot_normal",
                "he_normal",
                "he_uniform",
                "lecun_normal",
                "lecun_uniform",
            )
        ),
    )


@dataclass
class Cnn2c2dConfig(ModelConfig):
    """DeepOBS's 2c2d (Schneider et al., 2019): Conv(conv1_filters, 5x5, relu) -> MaxPool(2) ->
    Conv(conv2_filters, 5x5, relu) -> MaxPool(2) -> Dense(dense_units, relu) -> Dense(softmax),
    on the image the flattened pixels came from (optbench/models/cnn.py)."""

    framework: str = constrained("keras", OneOf(("keras",)))
    input_scaling: str = constrained("unit", OneOf(("standard", "unit", "none")))
    conv1_filters: int = positive_int(32)
    conv2_filters: int = positive_int(64)
    dense_units: int = positive_int(1024)


@dataclass
class LandscapeConfig(ModelConfig):
    """Two coordinates on a 2-D test function, moved by a reference (NumPy) or Keras optimizer;
    its YAML ties model.framework to model.implementation, so runs are tagged with the
    framework that actually steps."""

    framework: str = constrained("numpy", OneOf(("numpy", "keras")))
    implementation: str = constrained("numpy", OneOf(("numpy", "keras")))

    def check(self) -> None:
        super().check()
        if self.framework != self.implementation:
            raise OptbenchError(
                f"model.framework={self.framework} does not match model.implementation="
                f"{self.implementation}: for model=landscape set model.implementation only."
            )


@dataclass
class HeadConfig:
    """The classifier on the pooled backbone features: dropout -> [Dense(h, relu)] -> softmax."""

    hidden_sizes: list[int] = constrained(
        [], EachOf(Interval(1, None, integer=True), allow_empty=True)
    )
    dropout: float = constrained(0.2, Interval(0, 1, "left"))
    activation: str = constrained("relu", OneOf(("relu", "gelu", "swish", "tanh")))


MOBILENET_IMAGENET_SIZES = (96, 128, 160, 192, 224)


@dataclass
class TransferConfig(ModelConfig):
    """A keras.applications backbone (include_top=False) with a new head, for image datasets."""

    framework: str = constrained("keras", OneOf(("keras",)))
    input_scaling: str = constrained("raw", OneOf(("raw",)))
    # imagenet | null (random init) | a .h5/.weights.h5 file: absolute, or relative to the data
    # directory (dataset.data_dir) or the working directory; checked before the run starts
    weights: str | None = "imagenet"
    download_weights: bool = True  # imagenet: fetch into Keras's cache when missing
    input_size: int = constrained(96, Interval(32, None, integer=True))  # images resized to this
    head: HeadConfig = field(default_factory=HeadConfig)
    freeze: bool = True  # backbone frozen and called with training=False (BatchNorm stays put)
    fine_tune_layers: int = non_negative(0)  # top layers unfrozen for trainer.fine_tune_epochs
    fine_tune_lr_factor: float = positive(0.1)  # fine-tuning lr = optimizer.lr x this
    augment: bool = False  # random horizontal flip and translation (disables the feature cache)
    cache_features: bool | None = None  # null: on when frozen and not augmenting
    time_inference: bool = True  # inference_ms_per_image_b1/_b64 at the end (~5 s on 2 cores)

    def check(self) -> None:
        from pathlib import Path

        if self.weights not in (None, "imagenet"):
            path = Path(self.weights).expanduser()
            if not path.name.endswith(".h5"):
                raise OptbenchError(
                    f"model.weights={self.weights!r} is not allowed: must be imagenet, null, or "
                    "a path to a .h5 / .weights.h5 file."
                )
        if (
            self.name == "mobilenet_v2"
            and self.weights == "imagenet"
            and self.input_size not in MOBILENET_IMAGENET_SIZES
        ):
            raise OptbenchError(
                f"model.input_size={self.input_size} is not allowed with model.weights=imagenet: "
                f"MobileNetV2's ImageNet weights exist for "
                f"{', '.join(map(str, MOBILENET_IMAGENET_SIZES))} only (or use model.weights=null)."
            )
        if self.cache_features and (not self.freeze or self.augment):
            raise OptbenchError(
                "model.cache_features=true needs a frozen backbone (model.freeze=true) and no "
                "augmentation (model.augment=false): otherwise the features change every epoch."
            )

    @property
    def use_cache(self) -> bool:
        if self.cache_features is None:
            return self.freeze and not self.augment
        return self.cache_features


SCHEMAS: dict[str, type] = {
    "logreg": LogRegConfig,
    "mlp_sklearn": MlpSklearnConfig,
    "mlp": MlpConfig,
    "cnn_2c2d": Cnn2c2dConfig,
    "landscape": LandscapeConfig,
    "transfer": TransferConfig,
}
