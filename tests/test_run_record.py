"""optbench/run_record.py: which callbacks a job gets, in which order, from its config (the
data record first, the divergence guard with its limit, early stopping, the target tracker and
progress where asked, the caller's own, then the outcome and the artifacts), and what the
records leave on a real run in a real MLflow store: the data's tags, the outcome's tags and
metrics at the last step, no artifacts where tracking.artifacts is off. Where the caller's
callbacks go: tests/test_runner.py."""

from __future__ import annotations

import math

import pytest

from optbench import tags as tag
from optbench.callbacks import (
    Callback,
    DivergenceGuard,
    EarlyStopping,
    RichProgress,
    RunContext,
    TargetTracker,
)
from optbench.data import load_dataset
from optbench.run_record import (
    Artifacts,
    DataRecord,
    FinalRecord,
    OptimizerSource,
    divergence_limit,
    job_callbacks,
)
from optbench.runner import prepare, tracked_run
from optbench.tracking.run import MetricsLogger
from tests.conftest import client, compose_cfg, train


@pytest.fixture
def context():
    """The RunContext a job's callbacks are made from: its config, settings, (unopened)
    MLflow run and data, for ``overrides``."""
    opened = []

    def make(*overrides: str) -> RunContext:
        cfg = compose_cfg("trainer.progress=false", *overrides)
        settings = prepare(cfg, []).settings
        run = tracked_run(cfg)
        opened.append(run)
        return RunContext(cfg, settings, run, load_dataset(settings.dataset, settings.seed))

    yield make
    for run in opened:
        run.discard()


def kinds(callbacks: list[Callback]) -> list[type]:
    return [type(c) for c in callbacks]


def test_the_divergence_limit_is_diverge_above_times_a_uniform_guess_log_loss(context):
    assert divergence_limit(context("trainer.diverge_above=3")) == pytest.approx(3 * math.log(10))
    assert divergence_limit(context("trainer.diverge_above=null")) is None
    assert divergence_limit(context("dataset=rosenbrock")) is None  # no classes to guess
    (guard,) = [
        c
        for c in job_callbacks(context("trainer.diverge_above=2"), None)
        if isinstance(c, DivergenceGuard)
    ]
    assert guard.val_loss_limit == pytest.approx(2 * math.log(10))


def test_a_plain_job_records_its_data_first_and_its_outcome_and_artifacts_last(context):
    mine = Callback()
    callbacks = job_callbacks(
        context("dataset=synthetic", "trainer.early_stop.enabled=false"), 5, [mine]
    )
    assert kinds(callbacks) == [
        DataRecord,
        DivergenceGuard,
        MetricsLogger,
        Callback,
        FinalRecord,
        Artifacts,
    ]
    assert callbacks[3] is mine and callbacks[2].every == 5


def test_the_config_adds_early_stopping_a_target_tracker_and_progress(context):
    ctx = context(
        "+workload=logreg_digits", "optimizer=adam", "trainer.progress=true",
        "trainer.early_stop.enabled=true", "trainer.early_stop.monitor=val_loss",
        "trainer.early_stop.tol=0.01", "trainer.early_stop.patience=4",
        "trainer.stop_at_target=true", "tracking.artifacts=false",
    )  # fmt: skip
    callbacks = job_callbacks(ctx, None)
    assert kinds(callbacks) == [
        DataRecord,
        DivergenceGuard,
        MetricsLogger,
        EarlyStopping,
        TargetTracker,
        RichProgress,
        FinalRecord,
    ]  # and no Artifacts: tracking.artifacts=false
    stop, target, progress = callbacks[3:6]
    assert (stop.monitor, stop.tol, stop.patience) == ("val_loss", 0.01, 4)
    target_cfg = ctx.settings.dataset.target
    assert (target.metric, target.value, target.stop) == (target_cfg.metric, target_cfg.value, True)
    assert progress.description == "logreg/adam"


def test_a_custom_optimizer_records_its_source(context, monkeypatch):
    from tests.conftest import REPO

    monkeypatch.syspath_prepend(str(REPO / "tests" / "custom_optimizers"))
    ctx = context("model=mlp", "optimizer=custom", "optimizer.target=sign_descent:SignDescent")
    assert kinds(job_callbacks(ctx, None))[:3] == [DataRecord, OptimizerSource, DivergenceGuard]


def test_a_run_records_its_data_and_outcome_and_no_artifacts_where_asked(store):
    result, run = train(
        store, "model=logreg", "dataset=digits", "trainer.max_iter=4",
        "trainer.early_stop.enabled=false", "tracking.artifacts=false",
    )  # fmt: skip
    mlflow = client(store)
    tags = mlflow.get_run(run.run_id).data.tags
    assert tags[tag.DATA_SOURCE] == "sklearn.datasets.load_digits"
    sizes = [tags[tag.SIZE_PREFIX + part] for part in ("train", "val", "test")]
    assert sizes == ["1077", "270", "450"]  # of 1,797 images
    assert tags[tag.THREADS] == "all"  # one job in this process, no launcher sharing cores
    assert (tags[tag.DIVERGED], tags[tag.STOP_REASON]) == ("false", result.stop_reason)
    (rate,) = mlflow.get_metric_history(run.run_id, "convergence_rate")
    assert rate.step == 4 and rate.value == result.final["convergence_rate"]  # at the last step
    assert mlflow.list_artifacts(run.run_id) == []
