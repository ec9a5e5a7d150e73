"""The scikit-learn trainer: one iteration per call, metrics after every iteration.

Traps handled here: the MLP trains with ``partial_fit`` (a ``warm_start`` re-``fit`` would
rebuild the Adam/SGD state each call), and the SAG/SAGA ``warm_start, max_iter=1`` loop carries
only the coefficients, not the solver's gradient memory, so one continuous fit with the same
iteration budget is also run and logged as ``oneshot_train_loss``. With trainer.diagnostics
on, optbench/diagnostics/sklearn_probe.py reads the weights around the probed iterations,
outside the timed block (fit_time_s)."""

from __future__ import annotations

import time
import warnings
from typing import Any

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network._stochastic_optimizers import SGDOptimizer

from optbench.callbacks import CallbackList, LoopState
from optbench.data import Splits
from optbench.diagnostics.sklearn_probe import SklearnProbe
from optbench.models.registry import MODELS
from optbench.models.sklearn import BUILDERS, count_params
from optbench.optim.rules import check_sklearn
from optbench.optim.sklearn import optimizer_kwargs
from optbench.signals import InterruptGuard
from optbench.trainers.base import RunResult, log_loss_and_accuracy, run_title


def cross_entropy(estimator: Any, x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """(mean log-loss, accuracy); NaN loss when the model has diverged."""
    with np.errstate(all="ignore"):
        proba = estimator.predict_proba(x)
    return log_loss_and_accuracy(proba, np.searchsorted(estimator.classes_, y))


def _batch_size(value: Any, n_train: int) -> Any:
    return n_train if value == "full" else value


class SklearnTrainer:
    log_every = None  # with tracking.log_every=null: one write per tracking.flush_every_s

    def __init__(self, cfg: Any):
        self.cfg = cfg
        check_sklearn(cfg, MODELS)  # built on its own, it refuses what compat.check does
        self.kwargs = optimizer_kwargs(cfg.model, cfg.optimizer, cfg.schedule, MODELS)

    def _estimator(self, n_train: int) -> Any:
        model, trainer = self.cfg.model, self.cfg.trainer
        if model.name == "logreg":
            extra = {"warm_start": True, "max_iter": 1, "tol": 0.0}
        else:
            extra = {
                "batch_size": _batch_size(trainer.batch_size, n_train),
                "tol": trainer.early_stop.tol,
                "n_iter_no_change": trainer.early_stop.patience,
            }
        return BUILDERS[model.name](model, self.kwargs, self.cfg.seed, **extra)

    def fit(self, splits: Splits, callbacks: CallbackList) -> RunResult:
        cfg = self.cfg
        estimator = self._estimator(len(splits.y_train))
        classes = np.arange(splits.n_classes)
        is_mlp = cfg.model.name == "mlp_sklearn"
        state = LoopState(max_steps=cfg.trainer.max_iter)
        history: list[dict[str, float]] = []
        fit_time = 0.0
        probe = self._probe(estimator, splits)
        callbacks.on_train_begin(state)
        with warnings.catch_warnings(), InterruptGuard() as guard:
            warnings.simplefilter("ignore", ConvergenceWarning)
            warnings.filterwarnings("ignore", "Training interrupted by user")
            for step in range(1, cfg.trainer.max_iter + 1):
                if probe is not None:  # outside the timed block, as the probe after it
                    probe.before(step, estimator)
                start = time.perf_counter()
                finite = self._one_iteration(estimator, splits, classes, is_mlp)
                fit_time += time.perf_counter() - start
                guard.check()
                logs = self._evaluate(estimator, splits, step, finite)
                if probe is not None:
                    logs.update(probe.after(step, estimator, logs))
                logs["elapsed_s"] = fit_time
                history.append({"step": step, **logs})
                callbacks.on_epoch_end(step, logs)
                if state.stop_training:
                    break
        steps = len(history)
        final = self._final_metrics(estimator, splits, state.diverged)
        final.update(fit_time_s=fit_time, time_per_iter_s=fit_time / steps, n_iter=steps)
        notes = []
        if cfg.model.name == "logreg" and cfg.trainer.oneshot_baseline and not state.diverged:
            final.update(self._oneshot(splits, steps))
            notes.append(
                f"one continuous fit of {steps} iterations reaches train_loss "
                f"{final['oneshot_train_loss']:.4f} in {final['oneshot_fit_time_s']:.2f} s vs "
                f"{history[-1]['train_loss']:.4f} in {fit_time:.2f} s for the warm-start loop "
                "(which restarts the solver's memory every call)."
            )
        if state.stop_reason == "max_iter" and cfg.trainer.early_stop.enabled:
            notes.append(f"stopped at trainer.max_iter={steps} before the loss converged.")
        callbacks.on_train_end(final)
        artifacts, tags, diag_notes = (
            probe.recorder.finish(run_title(cfg)) if probe is not None else ([], {}, [])
        )
        return RunResult.of_loop(
            state, history, final, notes=[*notes, *diag_notes], artifacts=artifacts, tags=tags
        )

    def _probe(self, estimator: Any, splits: Splits) -> SklearnProbe | None:
        """The diagnostics probe (trainer.diagnostics; dead ReLUs on the first
        trainer.diagnostics_sample training examples); None when off."""
        if self.cfg.trainer.diagnostics == "off":
            return None
        return SklearnProbe(self.cfg.trainer, estimator, splits.x_train)

    def _one_iteration(
        self, estimator: Any, splits: Splits, classes: np.ndarray, is_mlp: bool
    ) -> bool:
        """One epoch (MLP, SAG/SAGA) or one solver iteration (lbfgs); False if it blew up."""
        try:
            with np.errstate(all="ignore"):
                if is_mlp:
                    estimator.partial_fit(splits.x_train, splits.y_train, classes=classes)
                else:
                    estimator.fit(splits.x_train, splits.y_train)
        except ValueError as exc:  # scikit-learn refuses non-finite weights
            if "non-finite" not in str(exc):
                raise
            return False
        return True

    def _evaluate(self, estimator: Any, splits: Splits, step: int, finite: bool) -> dict:
        if not finite:
            return {"train_loss": np.nan, "val_loss": np.nan}
        logs: dict[str, float] = {}
        logs["train_loss"], _ = cross_entropy(estimator, splits.x_train, splits.y_train)
        if step % self.cfg.trainer.eval_every == 0 or step == self.cfg.trainer.max_iter:
            logs["val_loss"], logs["val_accuracy"] = cross_entropy(
                estimator, splits.x_val, splits.y_val
            )
        optimizer = getattr(estimator, "_optimizer", None)  # the MLP's live SGD/Adam state
        if isinstance(optimizer, SGDOptimizer):  # the scheduled rate (invscaling/adaptive)
            logs["lr"] = float(optimizer.learning_rate)
        elif optimizer is not None:  # Adam's learning_rate attribute is the bias-corrected step
            logs["lr"] = float(optimizer.learning_rate_init)
        return logs

    def _final_metrics(self, estimator: Any, splits: Splits, diverged: bool) -> dict:
        params = count_params(estimator)
        final = {"params_total": params, "params_trainable": params}
        if diverged:
            return {**final, "test_loss": np.nan, "test_accuracy": np.nan}
        final["test_loss"], final["test_accuracy"] = cross_entropy(
            estimator, splits.x_test, splits.y_test
        )
        return final

    def _oneshot(self, splits: Splits, steps: int) -> dict[str, float]:
        """One continuous fit with the loop's iteration budget (the solver keeps its memory)."""
        estimator = BUILDERS["logreg"](
            self.cfg.model, self.kwargs, self.cfg.seed, max_iter=steps, tol=0.0
        )
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            estimator.fit(splits.x_train, splits.y_train)
        fit_time = time.perf_counter() - start
        loss, _ = cross_entropy(estimator, splits.x_train, splits.y_train)
        return {"oneshot_train_loss": loss, "oneshot_fit_time_s": fit_time}
