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
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig

from optbench import console
from optbench import tags as tag
from optbench.callbacks import Callback, CallbackList, RunContext
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
from optbench.run_record import job_callbacks
from optbench.schema import Config
from optbench.tracking import TrackedRun
from optbench.trainers.base import (
    RunResult,
    Trainer,
    framework_of,
    make_trainer,
    objective_value,
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


def execute(
    cfg: DictConfig, plan: Plan, run: TrackedRun, callbacks: Sequence[Callback] = ()
) -> RunResult:
    """Train one checked job into its open MLflow run: data, then every callback of the job
    (optbench/run_record.py, ``callbacks`` among them) around the trainer's loop."""
    from threadpoolctl import threadpool_limits

    from optbench.data import load_dataset

    settings = plan.settings
    seed_everything(settings.seed)
    with threadpool_limits(limits=settings.hardware.threads):
        start = time.perf_counter()
        data = load_dataset(settings.dataset, settings.seed).scaled(settings.model.input_scaling)
        data_load_time = time.perf_counter() - start
        ctx = RunContext(cfg, settings, run, data)
        observers = CallbackList(job_callbacks(ctx, plan.log_every, callbacks))
        observers.on_run_begin(ctx)
        ctx.result = plan.trainer.fit(data, observers)
    ctx.result.final["data_load_time_s"] = data_load_time
    observers.on_run_end(ctx)
    return ctx.result


def run(
    cfg: DictConfig, callbacks: Sequence[Callback] = (), overrides: list[str] | None = None
) -> RunResult:
    """One job in this process, start to end: every check, its MLflow run, training and what
    the run records; ``callbacks`` observe it too (optbench.callbacks.Callback). The suite,
    reproduce, tests and benches run a job through this."""
    plan = prepare(cfg, overrides)
    with tracked_run(cfg) as job:
        return execute(cfg, plan, job, callbacks)


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
    job = tracked_run(cfg)  # checks tracking.uri, then starts MLflow's helper to overlap
    try:
        plan = prepare(cfg)
    except BaseException:
        job.discard()
        raise
    with job:
        result = execute(cfg, plan, job)
    console.print_run_summary(result, job)
    return result.objective(cfg.objective)


def _finished_before(cfg: DictConfig) -> float | None:
    """With trainer.skip_existing: the objective of an identical FINISHED run, if any."""
    from optbench.tracking import find_finished

    previous = find_finished(cfg)
    if previous is None:
        return None
    console.print_skipped(previous.info.run_name, previous.info.run_id)
    diverged = previous.data.tags.get(tag.DIVERGED) == "true"
    return objective_value(cfg.objective, previous.data.metrics, diverged)


def _run_sweep_job(cfg: DictConfig) -> float:
    hydra = HydraConfig.get()
    context = f" in job #{job_number(hydra)} ({' '.join(hydra.overrides.task)})"
    try:
        with tracked_run(cfg) as job:  # validation inside: a bad job becomes a FAILED child run
            result = execute(cfg, prepare(cfg), job)
    except OptbenchError as exc:
        console.print_error(str(exc), context)
        return math.nan
    except Exception:
        console.print_error(traceback.format_exc(), context)
        return math.nan
    return result.objective(cfg.objective)
