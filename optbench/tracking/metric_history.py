"""Writing a run's metric history into a SQL store at a fraction of ``log_batch``'s cost.

MLflow's SQLAlchemy store builds one ORM object per metric value: for a few hundred fast
scikit-learn iterations that was most of the helper's CPU time, and on a 2-core machine the
helper's work slowed the training loop itself (docs/speed.md).
Here the newest value of each key still goes through ``log_batch`` (MLflow checks that the
run is active, validates, and updates the run's latest metrics its own way); the rest go in
as one multi-row INSERT into MLflow's own ``metrics`` table, stored as MLflow stores them
(tests/test_tracking_metric_history.py holds the two ways to the same store content)."""

from __future__ import annotations

from typing import Any

from optbench.tracking.store import retry_while_locked

Record = tuple[str, float, int, int]  # (key, value, timestamp_ms, step)


def sql_store(client: Any) -> Any | None:
    """The SqlAlchemyStore behind ``client``, or None for any other kind of store."""
    from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore

    client = getattr(client, "unwrapped", client)
    store = getattr(getattr(client, "_tracking_client", None), "store", None)
    return store if isinstance(store, SqlAlchemyStore) else None


def log_batches(client: Any, run_id: str, records: list[Record], size: int) -> None:
    """MLflow's own way: ``log_batch`` calls of at most ``size`` metrics."""
    from mlflow.entities import Metric

    metrics = [Metric(*r) for r in records]
    for i in range(0, len(metrics), size):
        client.log_batch(run_id, metrics=metrics[i : i + size])


def log_history(client: Any, run_id: str, records: list[Record], size: int) -> None:
    """Store ``records`` as ``log_batches`` would, in two statements on a SQL store."""
    store = sql_store(client)
    if store is None:
        log_batches(client, run_id, records, size)
        return
    rows = [
        {"run_uuid": run_id, "key": key, "value": stored, "timestamp": timestamp,
         "step": step, "is_nan": is_nan}
        for key, value, timestamp, step in records
        for is_nan, stored in [store.sanitize_metric_value(value)]
    ]  # fmt: skip
    newest: dict[str, int] = {}  # per key, the row MLflow would make the latest metric
    for i, row in enumerate(rows):
        j = newest.get(row["key"])
        if j is None or _order(row) > _order(rows[j]):
            newest[row["key"]] = i
    latest = set(newest.values())
    log_batches(client, run_id, [records[i] for i in sorted(latest)], size)
    history = [row for i, row in enumerate(rows) if i not in latest]
    if history:
        retry_while_locked(_insert, store, history, client, run_id, records, size)


def _order(row: dict) -> tuple:
    """How MLflow ranks two values of one key (SqlAlchemyStore._update_latest_metrics...)."""
    return row["step"], row["timestamp"], row["value"]


def _insert(store: Any, rows: list[dict], client: Any, run_id: str, records: list, size: int):
    """One INSERT; if a row is stored already (a batch sent twice), ``log_batch`` instead,
    which skips what is there."""
    from mlflow.exceptions import MlflowException
    from mlflow.store.tracking.dbmodels.models import SqlMetric
    from sqlalchemy.exc import IntegrityError

    try:
        with store.ManagedSessionMaker(read_only=False) as session:
            session.execute(SqlMetric.__table__.insert(), rows)
    except (IntegrityError, MlflowException) as exc:  # MLflow wraps SQLAlchemy's errors
        if not isinstance(exc, IntegrityError) and not isinstance(exc.__cause__, IntegrityError):
            raise
        log_batches(client, run_id, records, size)
