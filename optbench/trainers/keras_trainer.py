"""The Keras trainer, on the backend hardware.backend chose (optbench/backends/): model.fit over
the backend's input pipeline (tf.data on TensorFlow, NumPy arrays on JAX and PyTorch); one
MLflow write per epoch through the shared callbacks, same metric names as scikit-learn's.

Per epoch: train_loss (Keras's running mean over the epoch, or with trainer.full_train_loss a
pass over all training data), train_accuracy, val_loss, val_accuracy (plain log-loss and
accuracy, computed as scikit-learn's are, without the regularisation term), lr (read back from
the optimizer), epoch_time_s and elapsed_s (training only, evaluation excluded),
samples_per_s, grad_norm (global norm of the training-loss gradient at the epoch's end, on a
fixed sample of up to 2,048 training examples), optimizer_steps."""

from __future__ import annotations

import math
import time
from typing import Any

import keras  # this module is imported only for Keras runs
import numpy as np

from optbench import backends
from optbench import tags as tag
from optbench.callbacks import CallbackList, LoopState
from optbench.data import Splits
from optbench.optim.schedule_free import averaged_weights
from optbench.trainers.base import Artifact, RunResult, log_loss_and_accuracy, run_title

EVAL_BATCH = 4096
GRAD_SAMPLE = 2048  # training examples the per-epoch gradient norm is measured on


def batch_size(value: Any, n_train: int) -> int:
    if value == "full":
        return n_train
    return 32 if value == "auto" else int(value)


class KerasTrainer:
    log_every = 1  # with tracking.log_every=null: one MLflow write per epoch (seconds each)

    def __init__(self, cfg: Any):
        """The job's compatibility was checked before (optbench/compat.py)."""
        from optbench.hardware import configure

        self.cfg = cfg
        self.hardware = configure(cfg.hardware, cfg.seed)
        if cfg.optimizer.name == "custom":  # the user's class: importable, fit, before any work
            from optbench.optim.custom import resolve

            resolve(cfg.optimizer, "keras")

    def _datasets(self, splits: Splits, bs: int) -> dict[str, Any]:
        """model.fit's data arguments, from the backend (a tf.data pipeline on TensorFlow)."""
        backend = backends.get(keras.backend.backend())
        return backend.input_pipeline(splits.x_train, splits.y_train, bs, self.cfg.seed)

    # hooks for trainers built on this one (transfer learning)
    def model_inputs(self, splits: Splits) -> Splits:
        """What the trained model takes; here the (scaled) data itself."""
        return splits

    def build(self, inputs: Splits, step: dict) -> Any:
        """The model to train; ``step``: the optimizer's train-step settings (SAM's)."""
        from optbench.models.keras import build_model

        n_train = len(inputs.y_train)
        shape = inputs.info.get("input_shape")  # the image a convolutional model reshapes to
        return build_model(
            self.cfg.model, inputs.x_train.shape[1], inputs.n_classes, n_train, shape, **step
        )

    def after_fit(self, model: Any, splits: Splits, inputs: Splits, bridge: EpochBridge) -> tuple:
        """(model, inputs) to evaluate on the test set; here those that were trained."""
        return model, inputs

    def extra_final(self, model: Any, splits: Splits) -> dict[str, float]:
        return {}

    def exported(self, model: Any) -> Any:
        """The model saved as model.keras: one that takes the dataset's inputs."""
        return model

    def fit(self, splits: Splits, callbacks: CallbackList) -> RunResult:
        from optbench.hardware import reset
        from optbench.optim.keras import build_optimizer
        from optbench.optim.registry import optimizer_row
        from optbench.optim.schedule_free import use_average
        from optbench.optim.schedules import build_schedule, plateau_callback

        cfg, hw = self.cfg, self.hardware
        backends.set_random_seed(cfg.seed)
        n_train = len(splits.y_train)
        bs = batch_size(cfg.trainer.batch_size, n_train)
        steps_per_epoch = math.ceil(n_train / bs)
        total_steps = steps_per_epoch * cfg.trainer.max_iter
        opt, row = cfg.optimizer, optimizer_row(cfg.optimizer.name)
        step = row.train_step(opt) if row.train_step else {}
        try:
            inputs = self.model_inputs(splits)
            with hw.scope():
                model = self.build(inputs, step)
                schedule = build_schedule(cfg.schedule, opt.lr, total_steps, steps_per_epoch)
                model.compile(
                    optimizer=build_optimizer(opt, schedule),
                    loss="sparse_categorical_crossentropy",
                    metrics=["accuracy"],
                    jit_compile=hw.jit_compile,
                    steps_per_execution=cfg.trainer.steps_per_execution,
                )
            state = LoopState(max_steps=cfg.trainer.max_iter)
            bridge = EpochBridge(self, inputs, callbacks, state, n_train)
            bridge.probes = self._diagnostics(model, inputs, steps_per_epoch, bs)
            plateau = plateau_callback(cfg.schedule)  # after the bridge: it reads its val_loss
            callbacks.on_train_begin(state)
            model.fit(
                **self._datasets(inputs, bs),
                epochs=cfg.trainer.max_iter,
                callbacks=[
                    *([bridge.probes] if bridge.probes else []),  # before the bridge's epoch end
                    bridge,
                    keras.callbacks.TerminateOnNaN(),
                    *([plateau] if plateau else []),
                ],
                verbose=0,
            )
            use_average(model.optimizer, model.trainable_variables)  # schedule-free: x
            model, inputs = self.after_fit(model, splits, inputs, bridge)
            use_average(model.optimizer, model.trainable_variables)  # a fine-tuning phase's
            test_proba = predict(model, inputs.x_test)
            final = self._final(model, splits, test_proba, bridge, state, row.gradient_evaluations)
            final.update(self.extra_final(model, splits))
            callbacks.on_train_end(final)
        finally:
            reset()
        diag_artifacts, diag_tags, diag_notes = (
            bridge.probes.recorder.finish(run_title(cfg)) if bridge.probes else ([], {}, [])
        )
        return RunResult.of_loop(
            state,
            bridge.history,
            final,
            notes=[*hw.notes, *diag_notes],
            artifacts=[*self._artifacts(model, splits, test_proba), *diag_artifacts],
            tags={
                **hw.tags,
                **diag_tags,
                tag.BATCH_SIZE: str(bs),
                # what the first trained layer really computes in (the precision policy's)
                tag.COMPUTE_DTYPE: next(
                    (layer.compute_dtype for layer in model.layers if layer.trainable_weights),
                    model.compute_dtype,
                ),
                tag.LOSS_SCALING: str(
                    isinstance(model.optimizer, keras.optimizers.LossScaleOptimizer)
                ).lower(),
            },
        )

    def _diagnostics(self, model: Any, inputs: Splits, steps_per_epoch: int, bs: int) -> Any:
        """The diagnostics callback (trainer.diagnostics), probing the first
        trainer.diagnostics_sample training examples; None when off."""
        trainer = self.cfg.trainer
        if trainer.diagnostics == "off":
            return None
        from optbench.diagnostics import default_every
        from optbench.diagnostics.keras_probe import DiagnosticsCallback, KerasProbe
        from optbench.diagnostics.record import Recorder

        n = trainer.diagnostics_sample
        probe = KerasProbe(model, inputs.x_train[:n], inputs.y_train[:n], trainer, self.cfg.seed)
        # at least once an epoch: flags need probes in a row, and a small dataset's epoch is
        # shorter than the cost-sized interval (its relative cost is higher, its time small)
        cheap = min(default_every(bs, min(n, len(inputs.y_train))), steps_per_epoch)
        every = trainer.diagnostics_every or cheap
        return DiagnosticsCallback(probe, Recorder(trainer.diagnostics), every, steps_per_epoch)

    def _final(
        self,
        model: Any,
        splits: Splits,
        proba: np.ndarray,
        bridge: EpochBridge,
        state: LoopState,
        gradients_per_step: int,
    ) -> dict:
        epochs = len(bridge.history)
        steps = int(model.optimizer.iterations.numpy())
        final: dict[str, float] = {}
        if state.diverged:
            final.update(test_loss=math.nan, test_accuracy=math.nan)
        else:
            final["test_loss"], final["test_accuracy"] = log_loss_and_accuracy(proba, splits.y_test)
        trainable = sum(int(np.prod(w.shape)) for w in model.trainable_weights)
        final.update(
            params_total=int(model.count_params()),
            params_trainable=trainable,
            fit_time_s=bridge.train_time,
            time_per_iter_s=bridge.train_time / max(epochs, 1),
            n_iter=epochs,
            optimizer_steps=steps,
            gradient_evaluations=steps * gradients_per_step,
        )
        return final

    def _artifacts(self, model: Any, splits: Splits, proba: np.ndarray) -> list[Artifact]:
        cfg = self.cfg
        title = run_title(cfg)
        predicted = np.argmax(proba, axis=1)
        artifacts = [
            Artifact(
                "confusion_matrix.png",
                draw="optbench.report.plots:confusion_matrix",
                args=(splits.y_test, predicted, splits.n_classes, title),
            )
        ]
        shape = splits.info.get("input_shape")
        if shape is not None and len(shape) in (2, 3):
            wrong = np.flatnonzero(predicted != splits.y_test)[:25]
            artifacts.append(
                Artifact(
                    "misclassified.png",
                    draw="optbench.report.plots:misclassified",
                    args=(
                        splits.x_test[wrong].reshape(len(wrong), *shape),
                        splits.y_test[wrong],
                        predicted[wrong],
                        title,
                    ),
                )
            )
        if cfg.trainer.save_model:
            import tempfile

            path = f"{tempfile.mkdtemp(prefix='optbench-model-')}/model.keras"
            # a plain functional model over the same layers: loads with keras alone
            full = self.exported(model)
            keras.Model(full.inputs, full.outputs, name=full.name).save(path)
            artifacts.append(Artifact("model.keras", file=path))
        return artifacts


def predict(
    model: Any, x: np.ndarray, batch: int = EVAL_BATCH, pad_last: bool = False
) -> np.ndarray:
    """``model`` over ``x`` (class probabilities, or features), batch by batch with
    predict_on_batch (no fit/predict set-up per call). ``pad_last``: beyond one batch, pad the
    last one so every call has one shape (one trace of a costly model for arrays of any
    length, at the price of computing the padding)."""
    out = []
    for i in range(0, len(x), batch):
        chunk = x[i : i + batch]
        n = len(chunk)
        if pad_last and n < batch and len(x) > batch:
            chunk = np.concatenate([chunk, np.repeat(chunk[-1:], batch - n, axis=0)])
        out.append(np.asarray(model.predict_on_batch(chunk), dtype=np.float64)[:n])
    return np.concatenate(out) if out else np.zeros((0, model.output_shape[-1]))


class EpochBridge(keras.callbacks.Callback):
    """Keras callback -> optbench callbacks, once per epoch; evaluation time is excluded from
    the training clock."""

    def __init__(
        self,
        trainer: KerasTrainer,
        splits: Splits,
        callbacks: CallbackList,
        state: LoopState,
        n_train: int,
    ):
        super().__init__()
        self.trainer, self.splits, self.ours, self.state = trainer, splits, callbacks, state
        self.n_train = n_train
        self.history: list[dict[str, float]] = []
        self.probes: Any = None  # the diagnostics callback, when they are on
        self.train_time = 0.0
        self.last_step = trainer.cfg.trainer.max_iter
        self.rebind(splits)

    def rebind(self, splits: Splits) -> None:
        """Evaluate on ``splits`` from now on (a second phase with other model inputs)."""
        self.splits = splits
        self.grad_sample = (splits.x_train[:GRAD_SAMPLE], splits.y_train[:GRAD_SAMPLE])

    def _probe_seconds(self) -> float:
        return self.probes.seconds if self.probes is not None else 0.0

    def on_epoch_begin(self, epoch: int, logs: Any = None) -> None:
        self.start = time.perf_counter() - self._probe_seconds()

    def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
        # the diagnostics' probes, as evaluation, are left off the training clock
        epoch_time = time.perf_counter() - self.start - self._probe_seconds()
        self.train_time += epoch_time
        logs = logs if logs is not None else {}
        splits, cfg = self.splits, self.trainer.cfg
        ours: dict[str, float] = {}
        step = epoch + 1
        if not cfg.trainer.full_train_loss:  # fit's running mean over the epoch's batches
            ours["train_loss"] = float(logs.get("loss", math.nan))
            ours["train_accuracy"] = float(logs.get("accuracy", math.nan))
        # evaluated where the optimizer says a model is (schedule-free: the average x)
        with averaged_weights(self.model.optimizer, self.model.trainable_variables):
            if cfg.trainer.full_train_loss:
                ours["train_loss"], ours["train_accuracy"] = log_loss_and_accuracy(
                    predict(self.model, splits.x_train), splits.y_train
                )
            if step % cfg.trainer.eval_every == 0 or step == self.last_step:
                ours["val_loss"], ours["val_accuracy"] = log_loss_and_accuracy(
                    predict(self.model, splits.x_val), splits.y_val
                )
                logs["val_loss"] = ours["val_loss"]  # what ReduceLROnPlateau watches
        ours.update(
            lr=float(np.asarray(self.model.optimizer.learning_rate)),
            epoch_time_s=epoch_time,
            samples_per_s=self.n_train / epoch_time,
            grad_norm=float(self.model.gradient_norm(*self.grad_sample)),
            optimizer_steps=float(self.model.optimizer.iterations.numpy()),
            elapsed_s=self.train_time,
        )
        if self.probes is not None:
            ours.update(self.probes.recorder.scalars())
        self.history.append({"step": step, **ours})
        self.ours.on_epoch_end(step, ours)
        if self.state.stop_training:
            self.model.stop_training = True
