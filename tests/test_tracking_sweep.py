"""A sweep's parent run (optbench/tracking/sweep.py) reaches its jobs, and the CLI, through the
environment (tests/test_tracking_env.py): opened by the callback, closed once, by the command
that opened it."""

import pytest

from optbench.tracking import ENV_PARENT, ENV_SWEEP, ENV_URI, OpenSweep, close_sweep, open_sweep
from optbench.tracking.env import export
from optbench.tracking.writer import MlflowWriter
from tests.conftest import client


@pytest.fixture(autouse=True)
def no_sweep(monkeypatch):
    """No sweep in the environment, and whatever a test exports is gone after it."""
    for name in (ENV_URI, ENV_PARENT, ENV_SWEEP):
        monkeypatch.setenv(name, "")


def test_the_cli_closes_only_a_sweep_it_opened(monkeypatch):
    """A parent run named by the caller's environment (a single run nested under it) is not
    the command's to close: the CLI compares the environment before and after the run."""
    from optbench.cli import _end_sweep

    monkeypatch.setenv(ENV_PARENT, "not-ours")
    assert _end_sweep(open_sweep(), "FINISHED") is None  # no store is touched


def test_closing_counts_the_children_and_fails_the_sweep_if_one_failed(store):
    writer = MlflowWriter(store)
    parent, _ = writer.start("e", "sweep", {"optbench.role": "sweep"}, {})
    for status in ("FINISHED", "FAILED"):
        child, _ = writer.start("e", status, {"mlflow.parentRunId": parent}, {})
        writer.finish(child, status)
    sweep = OpenSweep(store, parent, "s1")
    export(sweep)
    closed = close_sweep(sweep, "FINISHED")
    assert open_sweep() is None  # later runs of this process are not its children
    assert (closed.status, len(closed.children), len(closed.failed)) == ("FAILED", 2, 1)
    record = client(store).get_run(parent)
    assert record.info.status == "FAILED"
    assert record.data.metrics == {"n_jobs": 2.0, "n_failed": 1.0}
