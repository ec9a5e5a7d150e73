"""The numpy-framework trainer: an optimizer walks a 2-D test function from a start point
(or an n-D noisy one, DeepOBS's quadratic_deep, on mini-batch gradients: no plots then).

The same loop drives the NumPy reference optimizer or the Keras one (on a float64
``keras.Variable``), so their trajectories can be laid over each other. Per step it logs
``train_loss`` (f at the new point; for schedule-free, at its average x, where the paper
evaluates: ``evaluation_point``), ``distance_to_min``, ``grad_norm`` and ``lr``; at the end
``distance_to_min``, ``steps_to_tolerance`` (first step within ``dataset.tolerance`` of a
known minimum; absent if never) with time_to_tolerance_s, and the trajectory as a CSV, a contour plot and, with
``trainer.animate=true``, a GIF. With trainer.diagnostics on, every diagnostics_every steps
(null: every step) the point is one layer (``diagnostic_rows``), outside fit_time_s."""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Iterator
from typing import Any

import numpy as np

from optbench.callbacks import CallbackList, LoopState
from optbench.data.surfaces import Surface
from optbench.diagnostics import every_of
from optbench.diagnostics.record import Recorder
from optbench.diagnostics.stats import ALL, layer_rows
from optbench.signals import InterruptGuard
from optbench.trainers.base import Artifact, RunResult, run_title

ESCAPE = 1e8  # |x| or |y| beyond this counts as diverged, before floats overflow
# a test function's gradient grows and its steps shrink by design (valley walls, convergence):
# of the flags, only the non-finite/rising-loss rule means there what it means for a network
LANDSCAPE_FLAGS = ("diverging",)
CANNOT = (
    "model=landscape measures no gradient noise scale or SNR (noise), no sharpness or Hessian "
    "trace (curvature) and no dead units (a point has none)"
)


def diagnostic_rows(
    step: int, before: np.ndarray, after: np.ndarray, start: np.ndarray, g: np.ndarray,
    loss: float, lr: float,
) -> list[dict[str, Any]]:  # fmt: skip
    """The diagnostics of step ``step``, the point as one layer (``xy``; ``w`` in n-D): the
    weights are where the step arrived (``after``, as train_loss), grad_norm is that of the
    gradient ``g`` it took (at ``before``: the logged grad_norm), the update is after - before
    (update_ratio over ||before||), dist_init is ||after - start||."""
    name = "xy" if after.size == 2 else "w"
    rows = layer_rows(step, {name: [0]}, [after], [start], [g], [before], [after])
    next(r for r in rows if r["layer"] == ALL).update(loss=loss, lr=lr)
    return rows


class NumpyStepper:
    """optbench.optim.reference's optimizer (the algorithm written out)."""

    def __init__(self, cfg: Any):
        from optbench.optim.reference import from_config

        self.optimizer = from_config(cfg.optimizer, cfg.schedule, cfg.trainer.max_iter)

    def start(self, w: np.ndarray) -> None:
        pass

    def step(self, g: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, float]:
        lr = self.optimizer.lr()
        return self.optimizer.apply([g], [w])[0], lr

    def evaluation_point(self, w: np.ndarray) -> np.ndarray:
        """Where the loss is measured: schedule-free's average x, else w."""
        return self.optimizer.evaluation_weights([w])[0]


@contextlib.contextmanager
def _float64_keras() -> Iterator[None]:
    """Keras's default float type set to float64 for the duration."""
    import keras

    previous = keras.config.floatx()
    keras.config.set_floatx("float64")
    try:
        yield
    finally:
        keras.config.set_floatx(previous)


class KerasStepper:
    """keras.optimizers' optimizer applied to a float64 variable holding (x, y)."""

    def __init__(self, cfg: Any):
        from optbench.optim.keras import build_optimizer
        from optbench.optim.schedules import build_schedule

        opt = cfg.optimizer
        with _float64_keras():  # the optimizer's lr and state in float64, as ours
            schedule = build_schedule(cfg.schedule, opt.lr, cfg.trainer.max_iter)
            self.optimizer = build_optimizer(opt, schedule)

    def start(self, w: np.ndarray) -> None:
        import keras

        with _float64_keras():
            self.variable = keras.Variable(w, dtype="float64", name="xy")
            self.optimizer.build([self.variable])

    def step(self, g: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, float]:
        from keras import ops

        lr = float(ops.convert_to_numpy(self.optimizer.learning_rate))
        self.optimizer.apply([ops.convert_to_tensor(g, dtype="float64")], [self.variable])
        return np.array(self.variable.numpy(), dtype=np.float64), lr

    def evaluation_point(self, w: np.ndarray) -> np.ndarray:
        from optbench.optim.schedule_free import averaged_weights

        with averaged_weights(self.optimizer, [self.variable]):
            return np.array(self.variable.numpy(), dtype=np.float64)


class LandscapeTrainer:
    log_every = None  # with tracking.log_every=null: one write per tracking.flush_every_s

    def __init__(self, cfg: Any):
        self.cfg = cfg
        stepper = KerasStepper if cfg.model.implementation == "keras" else NumpyStepper
        self.stepper = stepper(cfg)

    def fit(self, splits: Surface, callbacks: CallbackList) -> RunResult:
        """The trainers' ``fit``: the 'splits' of a 2-D test function are its surface."""
        surface = splits
        f, w = surface.function, surface.start.copy()
        grad = surface.gradients(self.cfg.seed)  # a noisy surface: mini-batches by seed
        self.stepper.start(w)
        state = LoopState(max_steps=self.cfg.trainer.max_iter)
        path, history = [w.copy()], []
        reached: int | None = None
        reached_s = math.nan
        fit_time = 0.0
        trainer = self.cfg.trainer
        level = trainer.diagnostics
        recorder = (
            None
            if level == "off"
            else Recorder(level, cannot=self._cannot(level), flags=LANDSCAPE_FLAGS)
        )
        callbacks.on_train_begin(state)
        with np.errstate(all="ignore"), InterruptGuard() as guard:
            for step in range(1, state.max_steps + 1):
                start = time.perf_counter()
                g = grad(w)
                w, lr = self.stepper.step(g, w)
                fit_time += time.perf_counter() - start
                guard.check()
                at = self.stepper.evaluation_point(w)  # schedule-free: its average x
                escaped = not np.all(np.abs(at) < ESCAPE)  # also catches NaN
                loss = math.inf if escaped else float(f(at))
                distance = f.distance_to_min(at)
                logs = {"train_loss": loss, "grad_norm": float(np.linalg.norm(g)), "lr": lr}
                if math.isfinite(distance):
                    logs["distance_to_min"] = distance
                logs["elapsed_s"] = fit_time
                if reached is None and distance < surface.tolerance:
                    reached, reached_s = step, fit_time
                due = (step - 1) % every_of(trainer) == 0 or escaped  # an escape is always seen
                if recorder is not None and due:
                    recorder.add(diagnostic_rows(step, path[-1], w, path[0], g, loss, lr))
                    logs.update(recorder.scalars())
                history.append({"step": step, **logs})
                path.append(w.copy())
                callbacks.on_epoch_end(step, logs)
                if state.stop_training:
                    break
        steps = len(history)
        at = self.stepper.evaluation_point(w)
        final: dict[str, float] = {
            "final_loss": history[-1]["train_loss"],
            **({"x_final": float(at[0]), "y_final": float(at[1])} if w.size == 2 else {}),
            "fit_time_s": fit_time,
            "time_per_iter_s": fit_time / steps,
            "n_iter": steps,
            "params_total": w.size,
            "params_trainable": w.size,
        }
        distance = f.distance_to_min(at)
        if math.isfinite(distance):
            final["distance_to_min"] = distance
        if reached is not None:
            final["steps_to_tolerance"] = reached
            final["time_to_tolerance_s"] = reached_s
        callbacks.on_train_end(final)
        notes = []
        if reached is None and f.minima and not state.diverged:
            notes.append(
                f"did not come within dataset.tolerance={surface.tolerance:g} of a minimum in "
                f"{steps} steps (distance {distance:.3g}); try another optimizer.lr or more "
                "trainer.max_iter."
            )
        if w.size != 2 and self.cfg.trainer.animate:  # no contour, trajectory or GIF in n-D
            notes.append(f"trainer.animate: no animation of a {w.size}-D problem.")
        artifacts, tags, diag_notes = (
            recorder.finish(run_title(self.cfg)) if recorder else ([], {}, [])
        )
        if w.size == 2:
            artifacts = [*self._artifacts(surface, np.array(path)), *artifacts]
        return RunResult.of_loop(
            state, history, final, notes=[*notes, *diag_notes], artifacts=artifacts, tags=tags
        )

    @staticmethod
    def _cannot(level: str) -> str:
        return CANNOT + (f"; diagnostics={level} runs as basic" if level != "basic" else "")

    def _artifacts(self, surface: Surface, path: np.ndarray) -> list[Artifact]:
        cfg = self.cfg
        label = cfg.optimizer.name
        title = f"{surface.function.name} · {label} (lr={cfg.optimizer.lr:g}) · {cfg.model.implementation}"
        csv = "step,x,y\n" + "".join(
            f"{i},{float(x)!r},{float(y)!r}\n" for i, (x, y) in enumerate(path)
        )
        artifacts = [
            Artifact("trajectory.csv", text=csv),
            Artifact(
                "landscape.png",
                draw="optbench.report.plots:landscape",
                args=(surface.function.name, {label: path.tolist()}, title),
            ),
        ]
        if cfg.trainer.animate:
            artifacts.append(
                Artifact(
                    "landscape.gif",
                    draw="optbench.report.plots:landscape_animation",
                    args=(surface.function.name, {label: path.tolist()}, title),
                )
            )
        return artifacts
