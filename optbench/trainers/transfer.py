"""Transfer learning on the Keras trainer: a frozen keras.applications backbone, a new head.

Phase 1 trains the head for trainer.max_iter epochs, on cached backbone features when
``model.cache_features`` is on (the default for a frozen backbone without augmentation), else
end to end through the backbone. Phase 2 (``model.fine_tune_layers`` > 0) unfreezes the top
layers and trains end to end for trainer.fine_tune_epochs at optimizer.lr x
model.fine_tune_lr_factor. Metric names are the Keras trainer's, plus params_frozen,
model_size_mb, train_images_per_s, inference_ms_per_image_b1/_b64 and cache_build_time_s."""

from __future__ import annotations

import math
import time
from dataclasses import replace
from typing import Any

import keras
import numpy as np

from optbench import tags as tag
from optbench.data import Splits
from optbench.trainers.keras_trainer import EpochBridge, KerasTrainer, batch_size, predict

TIMING_MIN_S = 1.0  # inference timing: repeat until this much time has been measured


class TransferTrainer(KerasTrainer):
    def __init__(self, cfg: Any):
        """RGB images, no SAM, fine-tuning settings: checked before (optbench/compat.py)."""
        super().__init__(cfg)
        self.cache_info: dict[str, Any] = {}
        self.cache_folder = ""
        self.notes: list[str] = []

    # -- the KerasTrainer hooks
    def model_inputs(self, splits: Splits) -> Splits:
        from optbench.models.transfer import build_backbone, extractor, set_trainable

        cfg = self.cfg
        with self.hardware.scope():
            self.backbone = build_backbone(cfg.model, cfg.seed, cfg.dataset.data_dir)
            set_trainable(self.backbone, cfg.model, fine_tune=False)
            self.extractor = extractor(cfg.model, self.backbone, cfg.seed)
        if not cfg.model.use_cache:
            self.cache_info = {"hit": "off"}
            return splits
        return self._cached_features(splits)

    def build(self, inputs: Splits, step: dict) -> Any:
        from optbench.models.train_step import TrainStepModel
        from optbench.models.transfer import apply, head_layers

        cfg = self.cfg
        self.head = head_layers(cfg.model.head, inputs.n_classes, cfg.seed)
        if cfg.model.use_cache:
            x = keras.Input(shape=(inputs.x_train.shape[1],), name="features")
            return TrainStepModel(x, apply(self.head, x), name=f"{cfg.model.name}_head")
        return self._end_to_end()

    def after_fit(self, model: Any, splits: Splits, inputs: Splits, bridge: EpochBridge) -> tuple:
        self.head_time_s, self.head_epochs = bridge.train_time, len(bridge.history)
        cfg = self.cfg
        if cfg.trainer.fine_tune_epochs == 0 or bridge.state.diverged:
            # the model on images (timed, saved): the trained one, or it over the extractor
            self.full = self._end_to_end() if cfg.model.use_cache else model
            return model, inputs
        from optbench.models.transfer import set_trainable
        from optbench.optim.keras import build_optimizer

        with self.hardware.scope():
            set_trainable(self.backbone, cfg.model, fine_tune=True)
            full = self.full = self._end_to_end()
            opt = replace(cfg.optimizer, lr=cfg.optimizer.lr * cfg.model.fine_tune_lr_factor)
            full.compile(
                optimizer=build_optimizer(opt, opt.lr),
                loss="sparse_categorical_crossentropy",
                metrics=["accuracy"],
                jit_compile=self.hardware.jit_compile,
                steps_per_execution=cfg.trainer.steps_per_execution,
            )
        done = len(bridge.history)
        bridge.rebind(splits)
        bridge.last_step = done + cfg.trainer.fine_tune_epochs
        bridge.state.stop_training = False  # an early stop of the head phase ends that phase
        bs = batch_size(cfg.trainer.batch_size, len(splits.y_train))
        full.fit(
            **self._datasets(splits, bs),
            initial_epoch=done,
            epochs=done + cfg.trainer.fine_tune_epochs,
            callbacks=[bridge, keras.callbacks.TerminateOnNaN()],
            verbose=0,
        )
        return full, splits

    def exported(self, model: Any) -> Any:
        return self.full

    def extra_final(self, model: Any, splits: Splits) -> dict[str, float]:
        from optbench.models.transfer import size_mb

        full = self.full
        total = int(full.count_params())
        trainable = sum(int(np.prod(w.shape)) for w in full.trainable_weights)
        images = len(splits.y_train) * self.head_epochs
        final = {
            "params_total": total,
            "params_trainable": trainable,
            "params_frozen": total - trainable,
            "params_backbone": int(self.backbone.count_params()),
            "model_size_mb": size_mb(full.weights),
            "train_images_per_s": images / self.head_time_s if self.head_time_s else math.nan,
            **{k: v for k, v in self.cache_info.items() if k != "hit"},
        }
        for bs in (1, 64) if self.cfg.model.time_inference else ():
            final[f"inference_ms_per_image_b{bs}"] = inference_ms(full, splits.x_test, bs)
        return final

    # -- pieces
    def _end_to_end(self) -> Any:
        from optbench.models.train_step import TrainStepModel
        from optbench.models.transfer import apply

        x = self.extractor.output
        return TrainStepModel(
            self.extractor.input, apply(self.head, x), name=f"{self.cfg.model.name}_transfer"
        )

    def _cached_features(self, splits: Splits) -> Splits:
        from optbench.models.feature_cache import FeatureCache, cache_key
        from optbench.models.transfer import weights_path

        cfg = self.cfg
        path = weights_path(cfg.model, cfg.dataset.data_dir)
        cache = FeatureCache(cache_key(cfg.model, cfg.seed, path, keras.backend.backend()))

        def compute(images: np.ndarray) -> np.ndarray:
            return predict(self.extractor, images, batch=256, pad_last=True)

        parts = [cache.features(x, compute) for x in (splits.x_train, splits.x_val, splits.x_test)]
        n = sum(len(a) for a in (splits.y_train, splits.y_val, splits.y_test))
        hits = sum(p.hits for p in parts)
        build = sum(p.build_time_s for p in parts)
        self.cache_info = {
            "hit": "true" if hits == n else ("partial" if hits else "false"),
            "cache_build_time_s": build,
            "cache_load_time_s": sum(p.load_time_s for p in parts),
            "cache_hit_fraction": hits / n if n else 1.0,
        }
        self.cache_folder = str(cache.folder)
        if n > hits and build > 0:
            self.cache_info["backbone_images_per_s"] = (n - hits) / build
        spread = float(parts[0].features.std()) if len(splits.y_train) else 1.0
        if spread < 1e-6:
            self.notes.append(
                f"the backbone's features are all ~0 (std {spread:.1e}): the head cannot learn "
                "from them. Random-init MobileNetV2 does this; use model.weights=imagenet or a "
                "weights file."
            )
        return Splits(
            parts[0].features,
            splits.y_train,
            parts[1].features,
            splits.y_val,
            parts[2].features,
            splits.y_test,
            splits.info,
        )

    def fit(self, splits: Splits, callbacks: Any) -> Any:
        result = super().fit(splits, callbacks)
        result.tags[tag.FEATURE_CACHE_HIT] = str(self.cache_info.get("hit", "off"))
        if self.cache_folder:
            result.tags[tag.FEATURE_CACHE] = self.cache_folder
        result.tags.update(weights_tags(self.cfg.model, self.cfg.dataset.data_dir))
        result.notes.extend(self.notes)
        return result


def weights_tags(model: Any, data_dir: str | None) -> dict[str, str]:
    """model.weights as given, the file's sha256, and what the report's table calls them."""
    from optbench.data.files import sha256
    from optbench.models.backbones import weights_label
    from optbench.models.transfer import weights_path

    path = weights_path(model, data_dir)  # found (or cached, for imagenet) by now
    digest = sha256(path) if path is not None else None
    tags = {tag.WEIGHTS: str(model.weights)}
    tags[tag.WEIGHTS_LABEL] = weights_label(model.weights, digest)
    if digest is not None:
        tags[tag.WEIGHTS_SHA256] = digest
        tags[tag.WEIGHTS_FILE] = str(path)
    return tags


def inference_ms(model: Any, x: np.ndarray, bs: int) -> float:
    """Milliseconds per image of a forward pass at batch size ``bs``, after one warm-up call;
    repeated until TIMING_MIN_S has been measured (at least once)."""
    if len(x) == 0:
        return math.nan
    batch = x[np.arange(bs) % len(x)]
    model.predict_on_batch(batch)  # warm-up: traces and allocates
    reps, start = 0, time.perf_counter()
    while reps == 0 or time.perf_counter() - start < TIMING_MIN_S:
        model.predict_on_batch(batch)
        reps += 1
    return (time.perf_counter() - start) / (reps * bs) * 1000
