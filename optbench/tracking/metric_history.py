"""Writing a run's metric history into a SQL store at a fraction of ``log_batch``'s cost.

MLflow's SQLAlchemy store builds one ORM object per metric value and opens a session per
call: for a few hundred fast scikit-learn iterations that was most of the helper's CPU time,
and on a 2-core machine the helper's work slowed the training loop itself (docs/speed.md).
Here a batch is one transaction: the store's own checks that the run exists and is active,
every value as one multi-row INSERT into MLflow's ``metrics`` table, stored as MLflow stores
them, and the run's latest values updated by the store's own method, as ``log_batch`` does
(tests/test_tracking_metric_history.py holds the two ways to the same store content).
Other stores get MLflow's ``log_batch``."""

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


COLUMNS = ("key", "value", "timestamp", "step", "is_nan", "run_uuid")  # MLflow's metrics table
SQLITE_INSERT = f"INSERT INTO metrics ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * 6)})"


def log_history(client: Any, run_id: str, records: list[Record], size: int) -> None:
    """Store ``records`` as ``log_batches`` would, in one transaction on a SQL store."""
    store = sql_store(client)
    if store is None:
        log_batches(client, run_id, records, size)
        return
    from mlflow.utils.validation import _validate_metric

    rows = [
        (key, stored, timestamp, step, is_nan, run_id)
        for key, value, timestamp, step in records
        for is_nan, stored in [store.sanitize_metric_value(value)]
    ]
    newest: dict[str, int] = {}  # per key, the row MLflow would make the latest metric
    for i, row in enumerate(rows):
        j = newest.get(row[0])
        if j is None or _order(row) > _order(rows[j]):
            newest[row[0]] = i
    for i in newest.values():  # MLflow's checks of a key, its value, timestamp and step
        _validate_metric(*records[i], path="")
    latest = [rows[i] for i in newest.values()]
    retry_while_locked(_insert, store, run_id, rows, latest, client, records, size)


def _order(row: tuple) -> tuple:
    """How MLflow ranks two values of one key (SqlAlchemyStore._update_latest_metrics...):
    by step, then timestamp, then value."""
    return row[3], row[2], row[1]


def _insert(
    store: Any,
    run_id: str,
    rows: list[tuple],
    latest: list[tuple],
    client: Any,
    records: list,
    size: int,
) -> None:
    """One transaction, as ``log_batch`` makes; if a row is stored already (a batch sent
    twice), ``log_batch`` instead, which skips what is there."""
    from mlflow.exceptions import MlflowException
    from mlflow.store.tracking.dbmodels.models import SqlMetric
    from sqlalchemy.exc import IntegrityError

    try:
        with store.ManagedSessionMaker(read_only=False) as session:
            store._check_run_is_active(store._get_run(run_uuid=run_id, session=session))
            connection = session.connection()
            if connection.dialect.name == "sqlite":  # the driver's executemany, no ORM per row
                connection.exec_driver_sql(SQLITE_INSERT, rows)
            else:
                connection.execute(SqlMetric.__table__.insert(), [_named(r) for r in rows])
            newest = [SqlMetric(**_named(r)) for r in latest]
            store._update_latest_metrics_if_necessary(newest, session)
    except (IntegrityError, MlflowException) as exc:  # MLflow wraps SQLAlchemy's errors
        if not isinstance(exc, IntegrityError) and not isinstance(exc.__cause__, IntegrityError):
            raise
        log_batches(client, run_id, records, size)


def _named(row: tuple) -> dict:
    return dict(zip(COLUMNS, row, strict=True))
