"""One job, start to end: validate -> seed -> data -> trainer -> tracking -> summary.

Single run: a user error prints one line and exits 2 before any MLflow run exists.
Inside a sweep: every failure is recorded as a FAILED child run and the job returns NaN,
so the other jobs go on; the sweep's end reports the failures and exits non-zero."""

from __future__ import annotations

import math
import random
import sys
import time
import traceback
from dataclasses import dataclass

import numpy as np
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig, OmegaConf

from optbench import console
from optbench.callbacks import (
    CallbackList,
    DivergenceGuard,
    EarlyStopping,
    RichProgress,
    TargetTracker,
)
from optbench.convergence import convergence_metrics
from optbench.errors import USER_ERROR_EXIT, OptbenchError
from optbench.fresh_process import (
    hand_back,
    in_fresh_process,
    job_number,
    needs_fresh_process,
    run_in_fresh_process,
)
from optbench.job_check import check_job
from optbench.launchers import cpu_share
from optbench.schema import Config
from optbench.tracking import TrackedRun
from optbench.trainers.base import (
    RunResult,
    Trainer,
    framework_of,
    make_trainer,
    objective_value,
    run_title,
)


@dataclass
class Plan:
    settings: Config
    trainer: Trainer

    @property
    def log_every(self) -> int | None:
        """Steps per MLflow write: tracking.log_every if set, else the trainer's own rhythm
        (None: one write per tracking.flush_every_s)."""
        return self.settings.tracking.log_every or self.trainer.log_every


def prepare(cfg: DictConfig, overrides: list[str] | None = None) -> Plan:
    """Every check that can fail on the config alone, before any work starts. ``overrides``:
    those typed on the command line (default: Hydra's, under Hydra), which the offline
    command of a missing-files error keeps."""
    if overrides is None:
        overrides = list(HydraConfig.get().overrides.task) if HydraConfig.initialized() else []
    settings = check_job(cfg, overrides)
    settings.hardware.threads = settings.hardware.threads or cpu_share()
    return Plan(settings, make_trainer(settings))


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)


def tracked_run(cfg: DictConfig) -> TrackedRun:
    """The job's MLflow run, tagged with the framework its trainer will use."""
    return TrackedRun(cfg, framework_of(cfg))


def execute(cfg: DictConfig, plan: Plan, run: TrackedRun) -> RunResult:
    from threadpoolctl import threadpool_limits

    from optbench.data import load_dataset

    settings = plan.settings
    seed_everything(settings.seed)
    with threadpool_limits(limits=settings.hardware.threads):
        start = time.perf_counter()
        data = load_dataset(settings.dataset, settings.seed).scaled(settings.model.input_scaling)
        data_load_time = time.perf_counter() - start
        run.set_tags(
            {
                "optbench.data_source": data.info["source"],
                "optbench.threads": settings.hardware.threads or "all",
                **{
                    f"optbench.data_sha256.{k}": v
                    for k, v in data.info.get("checksums", {}).items()
                },
                **{f"optbench.n_{k}": v for k, v in data.sizes().items()},
            }
        )
        run.log_dataset(cfg.dataset, data.info, data.sizes())  # the UI's Dataset column
        if settings.optimizer.name == "custom":
            _log_optimizer_source(settings, run)
        limit = settings.trainer.diverge_above
        if limit is not None and data.n_classes is not None:
            limit *= math.log(data.n_classes)  # x the log-loss of a uniform guess
        else:
            limit = None
        callbacks = [DivergenceGuard(val_loss_limit=limit), run.metrics_logger(plan.log_every)]
        stop = settings.trainer.early_stop
        if stop.enabled:
            callbacks.append(EarlyStopping(stop.monitor, stop.tol, stop.patience))
        target = getattr(settings.dataset, "target", None)
        tracker = None
        if target is not None:
            tracker = TargetTracker(target.metric, target.value, settings.trainer.stop_at_target)
            callbacks.append(tracker)
        if settings.trainer.progress:
            callbacks.append(RichProgress(f"{settings.model.name}/{settings.optimizer.name}"))
        result = plan.trainer.fit(data, CallbackList(callbacks))
    result.final["data_load_time_s"] = data_load_time
    if tracker is not None:
        result.final.update(tracker.reached)
    plateau = settings.trainer.plateau
    result.final.update(convergence_metrics(result.history, plateau.tol, plateau.window))
    run.log_metrics(result.final, step=len(result.history))
    run.set_tags(
        {
            "optbench.diverged": str(result.diverged).lower(),
            "optbench.stop_reason": result.stop_reason,
            **result.tags,
        }
    )
    if settings.tracking.artifacts:
        from optbench.tracking import environment_freeze

        run.log_text(OmegaConf.to_yaml(cfg, resolve=True), "config.yaml")
        run.log_text(environment_freeze(), "environment/requirements.txt")
        run.log_figure(
            "optbench.report.plots:loss_curve",
            (result.history, run_title(settings)),
            "loss_curve.png",
        )
        for artifact in result.artifacts:
            if artifact.text is not None:
                run.log_text(artifact.text, artifact.path)
            elif artifact.file is not None:
                run.log_file(artifact.file, artifact.path)
            else:
                run.log_figure(artifact.draw, artifact.args, artifact.path)
    return result


def _log_optimizer_source(settings: Config, run: TrackedRun) -> None:
    """optimizer=custom: the class's source file and its sha256, so that a reproduction can
    tell whether the code is still the one that ran."""
    from optbench.optim.custom import resolve

    target = resolve(settings.optimizer, framework_of(settings))  # keras or numpy
    if target.source is not None:
        run.set_tags(
            {
                "optbench.optimizer_source": str(target.source),
                "optbench.optimizer_source_sha256": target.sha256,
            }
        )
        run.log_file(str(target.source), f"optimizer/{target.source.name}")


def _in_sweep() -> bool:
    if in_fresh_process():
        return True
    return HydraConfig.initialized() and HydraConfig.get().mode == RunMode.MULTIRUN


def run_job(cfg: DictConfig) -> float:
    """Hydra's task function; returns the objective (final validation loss) for sweepers."""
    try:
        if cfg.trainer.skip_existing:
            done = _finished_before(cfg)
            if done is not None:
                return done
        if not _in_sweep():
            return _run_single_job(cfg)
        if needs_fresh_process(cfg):  # another Keras backend than this process runs
            return run_in_fresh_process(HydraConfig.get())
        objective = _run_sweep_job(cfg)
        if in_fresh_process():
            hand_back(objective)
        return objective
    except OptbenchError as exc:
        console.print_error(str(exc))
        sys.exit(USER_ERROR_EXIT)


def _run_single_job(cfg: DictConfig) -> float:
    run = tracked_run(cfg)  # checks tracking.uri, then starts MLflow's helper to overlap
    try:
        plan = prepare(cfg)
    except BaseException:
        run.discard()
        raise
    with run:
        result = execute(cfg, plan, run)
    console.print_run_summary(result, run)
    return result.objective(cfg.objective)


def _finished_before(cfg: DictConfig) -> float | None:
    """With trainer.skip_existing: the objective of an identical FINISHED run, if any."""
    from optbench.tracking import find_finished

    previous = find_finished(cfg)
    if previous is None:
        return None
    console.print_skipped(previous.info.run_name, previous.info.run_id)
    diverged = previous.data.tags.get("optbench.diverged") == "true"
    return objective_value(cfg.objective, previous.data.metrics, diverged)


def _run_sweep_job(cfg: DictConfig) -> float:
    hydra = HydraConfig.get()
    context = f" in job #{job_number(hydra)} ({' '.join(hydra.overrides.task)})"
    try:
        with tracked_run(cfg) as run:  # validation inside: a bad job becomes a FAILED child run
            result = execute(cfg, prepare(cfg), run)
    except OptbenchError as exc:
        console.print_error(str(exc), context)
        return math.nan
    except Exception:
        console.print_error(traceback.format_exc(), context)
        return math.nan
    return result.objective(cfg.objective)
