"""What a run records around its training loop, as callbacks: every job's callbacks are listed
once, in ``job_callbacks``, in the order they are called. Each sees the whole run through
``RunContext`` at its two run-level moments (``on_run_begin``: the data is loaded, training is
next; ``on_run_end``: the trainer returned its RunResult) besides the loop's own events, so a
caller adds behaviour by passing one more callback to ``optbench.runner.run`` rather than by
spelling the sequence out again."""

from __future__ import annotations

import math
from collections.abc import Sequence

from omegaconf import OmegaConf

from optbench import tags as tag
from optbench.callbacks import (
    Callback,
    DivergenceGuard,
    EarlyStopping,
    RichProgress,
    RunContext,
    TargetTracker,
)
from optbench.convergence import convergence_metrics
from optbench.trainers.base import framework_of, run_title


class DataRecord(Callback):
    """The data's source, checksums, split sizes and threads as tags; the UI's Dataset column."""

    def on_run_begin(self, ctx: RunContext) -> None:
        data, run = ctx.data, ctx.run
        run.set_tags(
            {
                tag.DATA_SOURCE: data.info["source"],
                tag.THREADS: ctx.settings.hardware.threads or "all",
                **{
                    tag.DATA_SHA256_PREFIX + k: v for k, v in data.info.get("checksums", {}).items()
                },
                **{tag.SIZE_PREFIX + k: v for k, v in data.sizes().items()},
            }
        )
        run.log_dataset(ctx.cfg.dataset, data.info, data.sizes())


class OptimizerSource(Callback):
    """optimizer=custom: the class's source file and its sha256, so that a reproduction can
    tell whether the code is still the one that ran."""

    def on_run_begin(self, ctx: RunContext) -> None:
        from optbench.optim.custom import resolve

        target = resolve(ctx.settings.optimizer, framework_of(ctx.settings))  # keras or numpy
        if target.source is not None:
            ctx.run.set_tags(
                {
                    tag.OPTIMIZER_SOURCE: str(target.source),
                    tag.OPTIMIZER_SOURCE_SHA256: target.sha256,
                }
            )
            ctx.run.log_file(str(target.source), f"optimizer/{target.source.name}")


class FinalRecord(Callback):
    """The run's outcome: convergence metrics, every final metric, diverged and stop reason."""

    def on_run_end(self, ctx: RunContext) -> None:
        result, plateau = ctx.result, ctx.settings.trainer.plateau
        result.final.update(convergence_metrics(result.history, plateau.tol, plateau.window))
        ctx.run.log_metrics(result.final, step=len(result.history))
        ctx.run.set_tags(
            {
                tag.DIVERGED: str(result.diverged).lower(),
                tag.STOP_REASON: result.stop_reason,
                **result.tags,
            }
        )


class Artifacts(Callback):
    """tracking.artifacts: the resolved config, the environment, the loss curve and the
    trainer's own files."""

    def on_run_begin(self, ctx: RunContext) -> None:
        # the environment the job runs in, written by the tracking helper while the job trains
        freeze = "optbench.tracking.provenance:freeze_file"
        ctx.run.log_figure(freeze, (), "environment/requirements.txt")

    def on_run_end(self, ctx: RunContext) -> None:
        run, result = ctx.run, ctx.result
        run.log_text(OmegaConf.to_yaml(ctx.cfg, resolve=True), "config.yaml")
        run.log_figure(
            "optbench.report.plots:loss_curve",
            (result.history, run_title(ctx.settings)),
            "loss_curve.png",
        )
        for artifact in result.artifacts:
            if artifact.text is not None:
                run.log_text(artifact.text, artifact.path)
            elif artifact.file is not None:
                run.log_file(artifact.file, artifact.path)
            else:
                run.log_figure(artifact.draw, artifact.args, artifact.path)


def divergence_limit(ctx: RunContext) -> float | None:
    """trainer.diverge_above x the log-loss of a uniform guess (classification only)."""
    limit = ctx.settings.trainer.diverge_above
    if limit is None or ctx.data.n_classes is None:
        return None
    return limit * math.log(ctx.data.n_classes)


def job_callbacks(
    ctx: RunContext, log_every: int | None, extra: Sequence[Callback] = ()
) -> list[Callback]:
    """Every callback of one job, in calling order: the record of its data, the loop's
    observers the config asks for, the caller's ``extra`` ones, then the outcome (the target's
    metrics and any the extra callbacks add before the final record logs them; artifacts
    last)."""
    settings = ctx.settings
    callbacks: list[Callback] = [DataRecord()]
    if settings.optimizer.name == "custom":
        callbacks.append(OptimizerSource())
    callbacks += [DivergenceGuard(val_loss_limit=divergence_limit(ctx))]
    callbacks.append(ctx.run.metrics_logger(log_every))
    stop = settings.trainer.early_stop
    if stop.enabled:
        callbacks.append(EarlyStopping(stop.monitor, stop.tol, stop.patience))
    target = getattr(settings.dataset, "target", None)
    if target is not None:
        callbacks.append(
            TargetTracker(target.metric, target.value, settings.trainer.stop_at_target)
        )
    if settings.trainer.progress:
        callbacks.append(RichProgress(f"{settings.model.name}/{settings.optimizer.name}"))
    callbacks += [*extra, FinalRecord()]
    if settings.tracking.artifacts:
        callbacks.append(Artifacts())
    return callbacks
