"""Structured-config schemas: one dataclass per config-group option, registered in Hydra's
ConfigStore under ``schema/<group>/<name>``. Hydra checks types and unknown keys when it
composes; ``validate`` checks ranges and cross-field rules before any work starts."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from hydra.core.config_store import ConfigStore
from omegaconf import MISSING, DictConfig, OmegaConf

from optbench.constraints import (
    AnyOf,
    EachOf,
    Interval,
    OneOf,
    check_dataclass,
    constrained,
    non_negative,
    positive,
    positive_int,
)
from optbench.errors import OptbenchError

FRACTION = Interval(0, 1, "neither")


# ---------------------------------------------------------------- dataset
OBJECTIVES = ("val_loss", "val_accuracy", "train_loss", "train_accuracy")


@dataclass
class TargetConfig:
    """A result to reach: logs steps_to_target, epochs_to_target, time_to_target_s."""

    metric: str = constrained(
        "val_accuracy", OneOf(("val_accuracy", "val_loss", "train_accuracy", "train_loss"))
    )
    value: float = MISSING


@dataclass
class DatasetConfig:
    name: str = MISSING
    target: TargetConfig | None = None
    data_dir: str | None = None  # None: $OPTBENCH_DATA_DIR, else the Keras cache ~/.keras/datasets
    val_fraction: float = constrained(0.2, FRACTION)
    # Training samples to keep: a count (> 1) or a fraction (<= 1); null keeps all.
    subset: float | None = positive(None, nullable=True)

    def check(self) -> None:
        if self.subset is not None and self.subset > 1 and self.subset != int(self.subset):
            raise OptbenchError(
                f"dataset.subset={self.subset!r} is not allowed: must be a whole number of "
                "samples (> 1) or a fraction in (0, 1]."
            )


@dataclass
class DigitsConfig(DatasetConfig):
    test_fraction: float = constrained(0.25, FRACTION)


@dataclass
class SyntheticConfig(DatasetConfig):
    n_samples: int = constrained(5000, Interval(20, None, integer=True))
    n_features: int = constrained(20, Interval(2, None, integer=True))
    n_informative: int = positive_int(10)
    n_classes: int = constrained(3, Interval(2, None, integer=True))
    class_sep: float = positive(1.0)
    problem_seed: int = non_negative(0)  # fixes the problem; the run's seed only moves the splits
    test_fraction: float = constrained(0.2, FRACTION)

    def check(self) -> None:
        super().check()
        if self.n_informative > self.n_features:
            raise OptbenchError(
                f"dataset.n_informative={self.n_informative} is not allowed: must be <= "
                f"dataset.n_features={self.n_features}."
            )
        if self.n_classes > 2**self.n_informative:
            raise OptbenchError(
                f"dataset.n_classes={self.n_classes} is not allowed: needs n_classes <= "
                f"2**n_informative = {2**self.n_informative}."
            )


@dataclass
class MnistConfig(DatasetConfig):
    download: bool = True  # fetch Keras's mnist.npz (sha256-checked) when no local copy exists


@dataclass
class Cifar10Config(DatasetConfig):
    download: bool = True  # fetch the official tarball (sha256-checked) when no local copy exists
    train_npz: str | None = None  # .npz with x (N,32,32,3 uint8) and y, instead of the batches
    test_npz: str | None = None  # its test set; null with train_npz: hold out test_fraction
    test_fraction: float = constrained(0.2, FRACTION)
    test_subset: float | None = positive(None, nullable=True)  # a count (> 1) or fraction
    classes: list[Any] | None = None  # class names or ids to keep (relabelled 0..k-1)

    def check(self) -> None:
        super().check()
        from optbench.data.cifar10 import class_ids

        if self.classes is not None:
            ids = class_ids(self.classes)
            if len(set(ids)) != len(ids) or len(ids) < 2 or not all(0 <= i < 10 for i in ids):
                raise OptbenchError(
                    f"dataset.classes={list(self.classes)} is not allowed: must name at least "
                    "two different classes (ids 0-9 or names)."
                )


@dataclass
class FunctionConfig:
    """A 2-D test function as the loss surface (model=landscape). Its YAML also sets the step
    budget (trainer.max_iter) and turns early stopping off, so whole trajectories are kept."""

    name: str = MISSING
    start: list[float] = field(default_factory=lambda: [0.0, 0.0])
    start_noise: float = non_negative(0.0)  # std of a Gaussian jitter of the start, by seed
    tolerance: float = positive(1e-2)  # distance to the nearest minimum that counts as reached
    lr: dict[str, float] = field(default_factory=dict)  # recommended lr per optimizer name

    def check(self) -> None:
        if len(self.start) != 2:
            raise OptbenchError(
                f"dataset.start={self.start} is not allowed: must be a point [x, y]."
            )


# ---------------------------------------------------------------- model
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
    hidden_sizes: list[int] = constrained([100], EachOf(Interval(1, None, integer=True)))
    activation: str = constrained("relu", OneOf(("relu", "tanh", "logistic", "identity")))
    alpha: float = non_negative(1e-4)  # L2 penalty


@dataclass
class MlpConfig(ModelConfig):
    """Keras MLP: Flatten -> Dense(h, activation) for h in hidden -> Dropout -> Dense(softmax)."""

    hidden: list[int] = constrained([128], EachOf(Interval(1, None, integer=True)))
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
class LandscapeConfig(ModelConfig):
    """Two coordinates on a 2-D test function, moved by a reference (NumPy) or Keras optimizer."""

    implementation: str = constrained("numpy", OneOf(("numpy", "keras")))


@dataclass
class HeadConfig:
    """The classifier on the pooled backbone features: dropout -> [Dense(h, relu)] -> softmax."""

    hidden: list[int] = constrained([], EachOf(Interval(1, None, integer=True), allow_empty=True))
    dropout: float = constrained(0.2, Interval(0, 1, "left"))
    activation: str = constrained("relu", OneOf(("relu", "gelu", "swish", "tanh")))


MOBILENET_IMAGENET_SIZES = (96, 128, 160, 192, 224)


@dataclass
class TransferConfig(ModelConfig):
    """A keras.applications backbone (include_top=False) with a new head, for image datasets."""

    framework: str = constrained("keras", OneOf(("keras",)))
    input_scaling: str = constrained("raw", OneOf(("raw",)))
    weights: str | None = "imagenet"  # imagenet | null (random init) | path to .h5/.weights.h5
    download_weights: bool = True  # imagenet: fetch into Keras's cache when missing
    input_size: int = constrained(96, Interval(32, None, integer=True))  # images resized to this
    head: HeadConfig = field(default_factory=HeadConfig)
    freeze: bool = True  # backbone frozen and called with training=False (BatchNorm stays put)
    fine_tune_layers: int = non_negative(0)  # top layers unfrozen for trainer.fine_tune_epochs
    fine_tune_lr_factor: float = positive(0.1)  # fine-tuning lr = optimizer.lr x this
    augment: bool = False  # random horizontal flip and translation (disables the feature cache)
    cache_features: bool | None = None  # null: on when frozen and not augmenting

    def check(self) -> None:
        from pathlib import Path

        if self.weights not in (None, "imagenet"):
            path = Path(self.weights).expanduser()
            if not path.name.endswith(".h5"):
                raise OptbenchError(
                    f"model.weights={self.weights!r} is not allowed: must be imagenet, null, or "
                    "a path to a .h5 / .weights.h5 file."
                )
            if not path.is_file():
                raise OptbenchError(f"model.weights: no file at {path}.")
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


# ---------------------------------------------------------------- optimizer
@dataclass
class OptimizerConfig:
    name: str = MISSING


@dataclass
class SolverConfig(OptimizerConfig):
    """scikit-learn's own solvers (saga, sag, lbfgs): they choose their step size themselves."""


BETA = Interval(0, 1, "left")
CLIPS = ("clipnorm", "clipvalue", "global_clipnorm")


@dataclass
class GradientConfig(OptimizerConfig):
    """What every gradient optimizer shares (Keras's names). ``lr`` in the YAML files defaults
    to the dataset's recommended rate for that optimizer when it declares one."""

    lr: float = positive(0.01)
    weight_decay: float | None = non_negative(None, nullable=True)  # decoupled, Keras-style
    clipnorm: float | None = positive(None, nullable=True)  # per variable
    clipvalue: float | None = positive(None, nullable=True)  # per element
    global_clipnorm: float | None = positive(None, nullable=True)  # over all variables
    use_ema: bool = False  # evaluate with an exponential moving average of the weights
    ema_momentum: float = constrained(0.99, BETA)

    def check(self) -> None:
        clips = [k for k in CLIPS if getattr(self, k) is not None]
        if len(clips) > 1:
            raise OptbenchError(
                f"optimizer.{clips[0]} and optimizer.{clips[1]} are both set; Keras accepts "
                f"only one of {', '.join(CLIPS)}."
            )


@dataclass
class SgdConfig(GradientConfig):
    momentum: float = constrained(0.0, BETA)
    nesterov: bool = False

    def check(self) -> None:
        super().check()
        if self.nesterov and self.momentum == 0:
            raise OptbenchError("optimizer.nesterov=true needs optimizer.momentum > 0 (got 0.0).")


@dataclass
class AdagradConfig(GradientConfig):
    initial_accumulator_value: float = non_negative(0.1)
    epsilon: float = positive(1e-7)


@dataclass
class RmspropConfig(GradientConfig):
    rho: float = constrained(0.9, BETA)
    momentum: float = constrained(0.0, BETA)
    epsilon: float = positive(1e-7)
    centered: bool = False


@dataclass
class MomentsConfig(GradientConfig):
    """Adam's family (nadam, adamax, lamb, schedule_free_adamw)."""

    beta_1: float = constrained(0.9, BETA)
    beta_2: float = constrained(0.999, BETA)
    epsilon: float = positive(1e-7)


@dataclass
class AdamConfig(MomentsConfig):
    amsgrad: bool = False


@dataclass
class ScheduleFreeConfig(MomentsConfig):
    warmup_steps: int = non_negative(0)


@dataclass
class LionConfig(GradientConfig):
    beta_1: float = constrained(0.9, BETA)
    beta_2: float = constrained(0.99, BETA)


@dataclass
class AdafactorConfig(GradientConfig):
    beta_2_decay: float = -0.8
    epsilon_1: float = positive(1e-30)
    epsilon_2: float = positive(1e-3)
    clip_threshold: float = positive(1.0)
    relative_step: bool = True


@dataclass
class MuonConfig(GradientConfig):
    """Muon: orthogonalised momentum for 2-D weights, AdamW for the rest (Keras's Muon)."""

    momentum: float = constrained(0.95, BETA)
    nesterov: bool = True
    ns_steps: int = positive_int(5)  # Newton-Schulz iterations
    adam_beta_1: float = constrained(0.9, BETA)
    adam_beta_2: float = constrained(0.999, BETA)
    adam_weight_decay: float = non_negative(0.004)
    adam_lr_ratio: float = positive(1.0)
    epsilon: float = positive(1e-7)


SAM_BASES = ("sgd", "momentum", "nesterov", "adam", "adamw", "rmsprop")


@dataclass
class SamConfig(GradientConfig):
    """Sharpness-Aware Minimization around a base optimizer (two gradients per step)."""

    base: str = constrained("sgd", OneOf(SAM_BASES))
    rho: float = positive(0.05)  # radius of the ascent step
    adaptive: bool = False  # ASAM: scale the ascent by |w|


# ---------------------------------------------------------------- schedule
@dataclass
class ScheduleConfig:
    name: str = MISSING


@dataclass
class CosineConfig(ScheduleConfig):
    """lr_t = lr (alpha + (1 - alpha)(1 + cos(pi min(t, T) / T)) / 2), as Keras's CosineDecay."""

    alpha: float = constrained(0.0, Interval(0, 1))  # final lr as a fraction of the initial
    decay_steps: int | None = positive_int(None, nullable=True)  # T; null: the whole run


@dataclass
class WarmupCosineConfig(ScheduleConfig):
    """Linear warm-up from warmup_start * lr to lr over warmup_epochs, then cosine to alpha * lr."""

    warmup_epochs: float = non_negative(1.0)
    warmup_start: float = constrained(0.0, Interval(0, 1))
    alpha: float = constrained(0.0, Interval(0, 1))


@dataclass
class StepConfig(ScheduleConfig):
    """Piecewise constant: lr * factor**i after the i-th boundary (in epochs)."""

    boundaries: list[int] = constrained([10, 20], EachOf(Interval(1, None, integer=True)))
    factor: float = constrained(0.1, Interval(0, 1, "neither"))

    def check(self) -> None:
        if list(self.boundaries) != sorted(set(self.boundaries)):
            raise OptbenchError(
                f"schedule.boundaries={list(self.boundaries)} is not allowed: must be "
                "strictly increasing epochs."
            )


@dataclass
class ExponentialConfig(ScheduleConfig):
    """lr * decay_rate ** (epoch / decay_epochs), per step (or per decay_epochs if staircase)."""

    decay_rate: float = constrained(0.9, Interval(0, 1, "right"))
    decay_epochs: float = positive(1.0)
    staircase: bool = False


@dataclass
class CosineRestartsConfig(ScheduleConfig):
    """SGDR: cosine cycles, the first first_decay_epochs long, each t_mul times longer and
    starting m_mul times lower."""

    first_decay_epochs: float = positive(2.0)
    t_mul: float = positive(2.0)
    m_mul: float = constrained(1.0, Interval(0, 1, "right"))
    alpha: float = constrained(0.0, Interval(0, 1))


@dataclass
class OneCycleConfig(ScheduleConfig):
    """One cycle (Smith): from lr / div_factor up to lr over pct_start of the run, then cosine
    down to lr / (div_factor * final_div_factor)."""

    pct_start: float = constrained(0.3, FRACTION)
    div_factor: float = constrained(25.0, Interval(1, None))
    final_div_factor: float = constrained(1e4, Interval(1, None))


@dataclass
class ReduceOnPlateauConfig(ScheduleConfig):
    """Keras's ReduceLROnPlateau: lr *= factor when monitor stalls for patience epochs."""

    monitor: str = constrained("val_loss", OneOf(("val_loss", "train_loss")))
    factor: float = constrained(0.5, Interval(0, 1, "neither"))
    patience: int = positive_int(2)
    min_delta: float = non_negative(1e-4)
    min_lr: float = non_negative(1e-6)


@dataclass
class InvScalingConfig(ScheduleConfig):
    power_t: float = positive(0.5)  # lr_t = lr / t**power_t


# ---------------------------------------------------------------- hardware
@dataclass
class HardwareConfig:
    name: str = MISSING
    threads: int | None = positive_int(None, nullable=True)  # null: all cores
    device: str = constrained("cpu", OneOf(("cpu", "gpu")))
    gpus: str = constrained("first", OneOf(("first", "all")))  # all: MirroredStrategy
    precision: str = constrained("float32", OneOf(("float32", "mixed_float16", "mixed_bfloat16")))
    xla: bool = False  # compile the train step with XLA (jit_compile)
    deterministic: bool = False  # TensorFlow op determinism (slower, bit-reproducible)
    fallback: str = constrained("error", OneOf(("error", "cpu")))  # when no GPU is visible


# ---------------------------------------------------------------- top level
@dataclass
class EarlyStopConfig:
    enabled: bool = True
    monitor: str = constrained("train_loss", OneOf(("train_loss", "val_loss")))
    tol: float = non_negative(1e-4)  # an improvement smaller than this does not count
    patience: int = positive_int(10)  # steps without improvement before stopping


@dataclass
class PlateauConfig:
    tol: float = non_negative(1e-4)  # a loss change below this counts as no change
    window: int = positive_int(5)  # consecutive such steps that make a plateau


@dataclass
class TrainerConfig:
    max_iter: int = positive_int(100)  # iterations (epochs) of the training loop
    batch_size: Any = constrained(
        "auto", AnyOf((Interval(1, None, integer=True), OneOf(("auto", "full"))))
    )
    eval_every: int = positive_int(1)
    early_stop: EarlyStopConfig = field(default_factory=EarlyStopConfig)
    plateau: PlateauConfig = field(default_factory=PlateauConfig)
    oneshot_baseline: bool = True  # also fit once continuously (logreg) for oneshot_train_loss
    stop_at_target: bool = False  # stop when dataset.target is reached
    # diverged: a NaN/inf loss, or val_loss above this many times chance level (ln n_classes)
    diverge_above: float | None = positive(5.0, nullable=True)
    full_train_loss: bool = False  # Keras: train_loss re-evaluated on all training data each
    #                                epoch (as scikit-learn's) instead of the running mean
    save_model: bool = False  # Keras: log the trained model as model.keras
    fine_tune_epochs: int = non_negative(0)  # transfer models: epochs with the top
    #                                         model.fine_tune_layers unfrozen, after max_iter
    skip_existing: bool = False  # skip a job whose resolved config already has a FINISHED run
    animate: bool = False  # model=landscape: also log the trajectory as an animated GIF
    progress: bool = True


@dataclass
class TrackingConfig:
    uri: str | None = None  # None: $MLFLOW_TRACKING_URI, else sqlite:///<cwd>/runs/mlflow.db
    log_every: int = positive_int(50)  # steps buffered per MLflow log_batch call
    artifacts: bool = True  # resolved config YAML and loss-curve PNG
    # MLflow writes in a helper process unless MLflow is imported already (false: never)
    helper_process: bool = True


@dataclass
class Config:
    dataset: Any = MISSING
    model: Any = MISSING
    optimizer: Any = MISSING
    schedule: Any = MISSING
    hardware: Any = MISSING
    seed: int = constrained(0, Interval(0, 2**32 - 1, integer=True))
    # the final metric a job returns to sweepers (hparams_search ranks trials by it); a run
    # without a validation set falls back to the train_ one
    objective: str = constrained("val_loss", OneOf(OBJECTIVES))
    experiment_name: str = "optbench"
    run_name: str | None = None
    trainer: TrainerConfig = field(default_factory=TrainerConfig)
    tracking: TrackingConfig = field(default_factory=TrackingConfig)


SCHEMAS: dict[str, dict[str, type]] = {
    "dataset": {
        "digits": DigitsConfig,
        "synthetic": SyntheticConfig,
        "mnist": MnistConfig,
        "cifar10": Cifar10Config,
        "function": FunctionConfig,
    },
    "model": {
        "logreg": LogRegConfig,
        "mlp_sklearn": MlpSklearnConfig,
        "mlp": MlpConfig,
        "landscape": LandscapeConfig,
        "transfer": TransferConfig,
    },
    "optimizer": {
        "solver": SolverConfig,
        "sgd": SgdConfig,
        "adagrad": AdagradConfig,
        "rmsprop": RmspropConfig,
        "moments": MomentsConfig,
        "adam": AdamConfig,
        "schedule_free": ScheduleFreeConfig,
        "lion": LionConfig,
        "adafactor": AdafactorConfig,
        "muon": MuonConfig,
        "sam": SamConfig,
    },
    "schedule": {
        "constant": ScheduleConfig,
        "cosine": CosineConfig,
        "warmup_cosine": WarmupCosineConfig,
        "step": StepConfig,
        "exponential": ExponentialConfig,
        "cosine_restarts": CosineRestartsConfig,
        "one_cycle": OneCycleConfig,
        "reduce_on_plateau": ReduceOnPlateauConfig,
        "invscaling": InvScalingConfig,
    },
    "hardware": {"cpu": HardwareConfig},
}


def register_configs() -> None:
    """Store the top-level schema and each group's schemas for the YAML files to extend."""
    cs = ConfigStore.instance()
    cs.store(name="optbench_schema", node=Config)
    for group, schemas in SCHEMAS.items():
        for name, node in schemas.items():
            cs.store(group=f"schema/{group}", name=name, node=node)


def _reject_unknown_keys(node: DictConfig, prefix: str = "") -> None:
    """``+group.key=...`` force-adds keys that ``to_object`` would silently drop: refuse them."""
    schema = OmegaConf.get_type(node)
    if dataclasses.is_dataclass(schema):
        known = [f.name for f in dataclasses.fields(schema)]
        unknown = [k for k in node if k not in known]
        if unknown:
            raise OptbenchError(
                f"{prefix}{unknown[0]} is not a known key here; {prefix.rstrip('.') or 'the top level'}"
                f" accepts: {', '.join(known)}."
            )
    for key in node:
        child = node._get_node(key)
        if isinstance(child, DictConfig):
            _reject_unknown_keys(child, f"{prefix}{key}.")


def validate(cfg: DictConfig) -> Config:
    """Turn the composed config into typed dataclasses and check every constraint."""
    _reject_unknown_keys(cfg)
    obj = OmegaConf.to_object(cfg)
    check_dataclass(obj)
    return obj
