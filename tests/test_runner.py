"""optbench.runner.run: one job in-process, with the caller's callbacks among the job's own."""

from __future__ import annotations

import pytest

from optbench.callbacks import Callback, RunContext
from optbench.errors import OptbenchError
from optbench.run_record import Artifacts, DataRecord, FinalRecord, job_callbacks
from optbench.runner import run
from tests.conftest import client, compose_cfg


class Recorder(Callback):
    """Notes every event it sees, and adds a final metric the run must log."""

    def __init__(self) -> None:
        self.events: list[str] = []

    def on_run_begin(self, ctx: RunContext) -> None:
        self.events.append(f"run_begin:{ctx.data.sizes()['train']}")

    def on_train_begin(self, state) -> None:
        self.events.append(f"train_begin:{state.max_steps}")

    def on_epoch_end(self, step, logs) -> None:
        self.events.append(f"step:{step}")

    def on_train_end(self, logs) -> None:
        self.events.append("train_end")

    def on_run_end(self, ctx: RunContext) -> None:
        self.events.append(f"run_end:{len(ctx.result.history)}")
        ctx.result.final["recorded_steps"] = float(sum(e.startswith("step:") for e in self.events))


def test_a_callers_callback_sees_every_event_in_order_and_its_metric_is_logged(store):
    recorder = Recorder()
    cfg = compose_cfg(f"tracking.uri={store}", "trainer.progress=false", "trainer.max_iter=4")
    cfg.trainer.early_stop.enabled = False
    result = run(cfg, [recorder])
    assert recorder.events[0].startswith("run_begin:")
    assert recorder.events[1] == "train_begin:4"
    assert recorder.events[2:6] == ["step:1", "step:2", "step:3", "step:4"]
    assert recorder.events[6:] == ["train_end", "run_end:4"]
    (logged,) = client(store).search_runs(["1"])
    assert logged.data.metrics["recorded_steps"] == 4.0 == result.final["recorded_steps"]
    assert logged.info.status == "FINISHED"


def test_a_refused_config_creates_no_run(store):
    cfg = compose_cfg(f"tracking.uri={store}", "model=resnet50", "dataset=digits")
    with pytest.raises(OptbenchError, match="needs RGB images"):
        run(cfg)
    from pathlib import Path

    db = Path(store.removeprefix("sqlite:///"))
    assert not db.exists() or not client(store).search_runs(["0", "1"])


def test_the_job_callbacks_put_the_callers_before_the_final_record_and_artifacts_last():
    class Stub:
        def metrics_logger(self, every):
            return Callback()

    settings = compose_cfg("trainer.progress=false", "dataset=synthetic")
    from optbench.runner import prepare

    settings = prepare(settings).settings
    mine = Callback()
    ctx = RunContext(None, settings, Stub(), type("D", (), {"n_classes": 2})())
    order = job_callbacks(ctx, None, [mine])
    assert isinstance(order[0], DataRecord)
    assert isinstance(order[-1], Artifacts)
    assert (
        order.index(mine) == order.index(next(c for c in order if isinstance(c, FinalRecord))) - 1
    )
