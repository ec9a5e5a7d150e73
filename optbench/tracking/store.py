"""Where the MLflow store is, and a client that can share it: the URI (config, sweep,
environment, default), the check that MLflow has a store for its scheme, and for SQLite the
creation lock and the retry while another process writes.

Every MLflow client optbench opens comes from ``client_for`` here, and every MLflow import
comes after this module's: MLflow 3 otherwise sends usage telemetry from every process that
imports it (config.mlflow-telemetry.io). Runs are offline; the helper process inherits the
variable, and a user may still opt in with MLFLOW_DISABLE_TELEMETRY=false."""

from __future__ import annotations

import contextlib
import functools
import os
import random
import time
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path
from typing import Any

from optbench import paths
from optbench.tracking.env import ENV_URI

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")

LOCK_RETRY_S = 120.0  # how long a write waits for a busy SQLite store before failing

# MLflow's built-in tracking stores, as mlflow.tracking._tracking_service.utils registers them
# (the SQLAlchemy ones only where SQLAlchemy is installed); plugins add STORE_PLUGIN_GROUP
# entry points. Listed here so that the job's process checks a URI without importing MLflow
# (about 2 s); tests/test_tracking_store.py holds this to MLflow's own registry.
LOCAL_SCHEMES = ("", "file")
DATABASE_SCHEMES = ("sqlite", "postgresql", "mysql", "mssql")
SERVER_SCHEMES = ("http", "https", "databricks", "databricks-uc", "uc")
BARE_SCHEMES = ("databricks", "databricks-uc", "uc")  # URIs that are a scheme name alone
STORE_PLUGIN_GROUP = "mlflow.tracking_store"


def resolve_uri(uri: str | None) -> str:
    """The store for this run: config, then the sweep's, then $MLFLOW_TRACKING_URI, then
    ``sqlite:///<cwd>/runs/mlflow.db`` (optbench.paths). Local SQLite paths are made absolute.

    A URI MLflow has no store for raises OptbenchError here, before any work: MLflow itself
    would only fail once the results are written, after training."""
    key = "tracking.uri"
    if not uri and not os.environ.get(ENV_URI) and os.environ.get("MLFLOW_TRACKING_URI"):
        key = "$MLFLOW_TRACKING_URI"
    uri = uri or os.environ.get(ENV_URI) or os.environ.get("MLFLOW_TRACKING_URI")
    if not uri:
        uri = paths.default_store_uri()
    check_scheme(uri, key)
    if uri.startswith("sqlite:///"):
        path = Path(uri.removeprefix("sqlite:///")).absolute()
        path.parent.mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{path}"
    return uri


@functools.cache
def supported_schemes() -> tuple[str, ...]:
    """The URI schemes MLflow's tracking store registry accepts in this environment."""
    import importlib.util

    schemes = list(LOCAL_SCHEMES)
    if importlib.util.find_spec("sqlalchemy") is not None:
        schemes.extend(DATABASE_SCHEMES)
    schemes.extend(SERVER_SCHEMES)
    plugins = sorted(e.name for e in metadata.entry_points(group=STORE_PLUGIN_GROUP))
    return tuple(schemes + [s for s in plugins if s not in schemes])


def uri_scheme(uri: str) -> str:
    """The registry key MLflow looks ``uri`` up by (mlflow.utils.uri.get_uri_scheme):
    'postgresql+psycopg2://' -> 'postgresql', a path (also 'C:\\...') -> ''."""
    from urllib.parse import urlparse

    if uri in BARE_SCHEMES:
        return uri
    scheme = urlparse(uri).scheme
    if any(scheme.lower().startswith(db) for db in DATABASE_SCHEMES) and scheme.count("+") <= 1:
        return scheme.split("+")[0]
    if len(scheme) == 1 and scheme.isalpha():
        return ""
    return scheme


def check_scheme(uri: str, key: str = "tracking.uri") -> None:
    """Raise OptbenchError, naming ``key``, unless MLflow has a store for ``uri``'s scheme."""
    supported = supported_schemes()
    scheme = uri_scheme(uri)
    if scheme in supported:
        return
    from optbench.errors import OptbenchError

    names = ["a local path"] + [f"{s}://" for s in supported if s]
    raise OptbenchError(
        f"{key}={uri!r}: MLflow has no tracking store for scheme {scheme!r}; "
        f"supported: {', '.join(names)}."
    )


def artifact_location(uri: str) -> str | None:
    """For a local SQLite store, artifacts go beside it (runs/artifacts); servers decide."""
    if uri.startswith("sqlite:///"):
        return (Path(uri.removeprefix("sqlite:///")).parent / "artifacts").as_uri()
    return None


class RetryingClient:
    """MlflowClient whose calls wait and retry while a SQLite store is locked by another
    process (parallel sweep jobs share one file); SQLAlchemy rolls a failed write back, so
    a retry never writes twice."""

    def __init__(self, client: Any):
        self._client = client

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._client, name)
        if not callable(attr):
            return attr

        return functools.partial(retry_while_locked, attr)

    @property
    def unwrapped(self) -> Any:
        return self._client


def retry_while_locked(call: Any, *args: Any, **kwargs: Any) -> Any:
    """``call(*args, **kwargs)``, retried with backoff while SQLite reports a lock."""
    delay, waited = 0.02, 0.0
    while True:
        try:
            return call(*args, **kwargs)
        except Exception as exc:
            if "database is locked" not in str(exc) or waited >= LOCK_RETRY_S:
                raise
        time.sleep(delay * (0.5 + random.random()))
        waited += delay
        delay = min(delay * 2, 1.0)


@contextlib.contextmanager
def store_creation_lock(uri: str) -> Iterator[None]:
    """Hold an exclusive lock beside a SQLite file: MLflow creates and migrates a new store's
    tables without one, and two processes doing it at once leave it broken."""
    path = uri.removeprefix("sqlite:///")
    if not uri.startswith("sqlite:///") or path in ("", ":memory:"):
        yield
        return
    import fcntl

    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with open(f"{path}.lock", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def client_for(uri: str) -> Any:
    """An MlflowClient whose store is ready; for SQLite, created under a lock and retrying."""
    from mlflow import MlflowClient

    if not uri.startswith("sqlite:"):
        return MlflowClient(tracking_uri=uri)
    with store_creation_lock(uri):
        client = MlflowClient(tracking_uri=uri)
        client.search_experiments(max_results=1)  # opens the store: creates or migrates it
    return RetryingClient(client)


def experiment_id(client: Any, name: str, uri: str) -> str:
    """Get or create the experiment (tolerating a concurrent creator)."""
    from mlflow.exceptions import MlflowException

    experiment = client.get_experiment_by_name(name)
    if experiment is not None:
        return experiment.experiment_id
    try:
        return client.create_experiment(name, artifact_location=artifact_location(uri))
    except MlflowException:
        return client.get_experiment_by_name(name).experiment_id
