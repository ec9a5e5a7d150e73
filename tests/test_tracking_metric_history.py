"""The bulk metric write (optbench/tracking/metric_history.py) leaves a SQL store exactly as
MLflow's own ``log_batch`` does: the same history rows, the same latest values."""

import math
import sys

import pytest

from optbench.tracking.metric_history import log_batches, log_history
from optbench.tracking.store import client_for
from tests.conftest import store_of

INF = float("inf")
FIRST = [  # two batches of a run: several keys, NaN and infinities, a step logged twice
    (key, value, 1000 + step, step)
    for step in range(40)
    for key, value in (("train_loss", 1 / (step + 1)), ("val_accuracy", step / 40))
] + [("lr", 0.1, 5, 3), ("lr", 0.2, 4, 3), ("lr", 0.05, 9, 1), ("weird", math.nan, 1, 1)]
SECOND = [("train_loss", INF, 2000, 40), ("weird", -INF, 2, 2), ("weird", 7.0, 3, 0)]


def stored(client, run_id: str) -> tuple[dict, dict]:
    run = client.get_run(run_id)
    history = {
        key: sorted(
            (m.step, m.timestamp, m.value if not math.isnan(m.value) else "nan")
            for m in client.get_metric_history(run_id, key)
        )
        for key in run.data.metrics
    }
    latest = {k: "nan" if math.isnan(v) else v for k, v in run.data.metrics.items()}
    return history, latest


@pytest.fixture
def runs(tmp_path):
    client = client_for(store_of(tmp_path))
    exp = client.create_experiment("metric-history")
    return client, client.create_run(exp).info.run_id, client.create_run(exp).info.run_id


def test_bulk_write_stores_what_log_batch_stores(runs):
    client, bulk, reference = runs
    for batch in (FIRST, SECOND):
        log_history(client, bulk, batch, size=1000)
        log_batches(client, reference, batch, size=1000)
    history, latest = stored(client, bulk)
    assert (history, latest) == stored(client, reference)
    assert len(history["train_loss"]) == 41 and len(history["weird"]) == 3
    assert latest["lr"] == 0.1  # step 3, the later timestamp
    assert latest["train_loss"] == sys.float_info.max and latest["weird"] == -sys.float_info.max


def test_a_batch_sent_twice_is_stored_once(runs):
    client, bulk, reference = runs
    log_history(client, bulk, FIRST, size=1000)
    log_history(client, bulk, FIRST, size=1000)
    log_batches(client, reference, FIRST, size=1000)
    assert stored(client, bulk) == stored(client, reference)


def test_a_deleted_run_takes_no_metrics(runs):
    from mlflow.exceptions import MlflowException

    client, bulk, _ = runs
    client.delete_run(bulk)
    with pytest.raises(MlflowException, match="active"):
        log_history(client, bulk, FIRST, size=1000)
    assert client.get_metric_history(bulk, "train_loss") == []
