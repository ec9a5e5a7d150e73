"""Where MLflow is called. ``MlflowWriter`` makes every MLflow call a job needs, on plain
data. By default it runs in a helper process (``RemoteWriter`` -> ``serve``), so importing
MLflow (about 2 s) and matplotlib happens on the other core while the job imports
scikit-learn and trains. This module imports neither Hydra nor MLflow at import time.

The helper opens the store only on the first request, so a job that fails validation can
discard it without touching the store. If the job's process dies, the helper sees the pipe
close and marks the open run KILLED. It ignores Ctrl-C: the job handles that and closes the run."""

from __future__ import annotations

import contextlib
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

# Runs are offline: MLflow 3 otherwise sends usage telemetry from every process that imports
# it (config.mlflow-telemetry.io). Every MLflow import of optbench comes after this module's,
# and the helper inherits the variable; a user may still opt in with
# MLFLOW_DISABLE_TELEMETRY=false.
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")

MAX_METRICS_PER_BATCH = 1000  # MLflow's limit for one log_batch call
MAX_PARAMS_PER_BATCH = 100
# The job waits only for the calls in WAITED_FOR; every other call is queued. Until the helper
# has created the run, the job refers to it as PENDING_RUN and the helper substitutes the id.
PENDING_RUN = "<run being created by the MLflow helper>"
WAITED_FOR = frozenset({"drain", "finish"})  # calls the job waits for; the rest are queued


def _artifact_location(uri: str) -> str | None:
    """For a local SQLite store, artifacts go beside it (runs/artifacts); servers decide."""
    if uri.startswith("sqlite:///"):
        return (Path(uri.removeprefix("sqlite:///")).parent / "artifacts").as_uri()
    return None


LOCK_RETRY_S = 120.0  # how long a write waits for a busy SQLite store before failing


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

        def call(*args: Any, **kwargs: Any) -> Any:
            delay, waited = 0.02, 0.0
            while True:
                try:
                    return attr(*args, **kwargs)
                except Exception as exc:
                    if "database is locked" not in str(exc) or waited >= LOCK_RETRY_S:
                        raise
                time.sleep(delay * (0.5 + random.random()))
                waited += delay
                delay = min(delay * 2, 1.0)

        return call


@contextlib.contextmanager
def _store_creation_lock(uri: str) -> Iterator[None]:
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
    with _store_creation_lock(uri):
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
        return client.create_experiment(name, artifact_location=_artifact_location(uri))
    except MlflowException:
        return client.get_experiment_by_name(name).experiment_id


class MlflowWriter:
    """Every MLflow call a job makes, on plain data. It runs in the job's process or, by
    default, in a helper process (``serve`` below) so that importing MLflow and opening
    the store overlap with the job's own start-up and training."""

    def __init__(self, uri: str):
        self.uri = uri
        self._client: Any = None
        self._artifact_uris: dict[str, str] = {}

    @property
    def client(self) -> Any:
        if self._client is None:  # opened on first use: a discarded writer never touches the store
            self._client = client_for(self.uri)
        return self._client

    def start(
        self, experiment_name: str, run_name: str, tags: dict[str, str], params: dict[str, str]
    ) -> tuple[str, str]:
        """Create the run and log its params; returns (run_id, artifact_uri)."""
        from mlflow.entities import Param

        exp_id = experiment_id(self.client, experiment_name, self.uri)
        run = self.client.create_run(exp_id, run_name=run_name, tags=tags)
        records = [Param(k, v[:6000]) for k, v in params.items()]
        for i in range(0, len(records), MAX_PARAMS_PER_BATCH):
            self.client.log_batch(run.info.run_id, params=records[i : i + MAX_PARAMS_PER_BATCH])
        self._artifact_uris[run.info.run_id] = run.info.artifact_uri
        return run.info.run_id, run.info.artifact_uri

    def metrics(self, run_id: str, records: list[tuple[str, float, int, int]]) -> None:
        """records: (key, value, timestamp_ms, step), written in MLflow-sized batches."""
        from mlflow.entities import Metric

        metrics = [Metric(*r) for r in records]
        for i in range(0, len(metrics), MAX_METRICS_PER_BATCH):
            self.client.log_batch(run_id, metrics=metrics[i : i + MAX_METRICS_PER_BATCH])

    def tags(self, run_id: str, tags: dict[str, str]) -> None:
        from mlflow.entities import RunTag

        self.client.log_batch(run_id, tags=[RunTag(k, v[:5000]) for k, v in tags.items()])

    def text(self, run_id: str, text: str, path: str) -> None:
        self.client.log_text(run_id, text, path)

    def figure(self, run_id: str, draw: str, args: tuple, path: str) -> None:
        """Draw with ``module:function(*args)`` where MLflow runs, then log the result: a
        Figure for a .png path, otherwise any object with ``save(local_path)`` (an animation)."""
        import importlib
        import tempfile

        module, name = draw.split(":")
        drawn = getattr(importlib.import_module(module), name)(*args)
        if path.endswith(".png"):
            self.client.log_figure(run_id, drawn, path)
            return
        with tempfile.TemporaryDirectory() as tmp:
            local = f"{tmp}/{Path(path).name}"
            drawn.save(local)
            self.file(run_id, local, path)

    def file(self, run_id: str, local: str, path: str) -> None:
        folder = path.rpartition("/")[0]
        if Path(local).name != Path(path).name:
            raise ValueError(f"artifact {path} must keep the file name of {local}")
        self.client.log_artifact(run_id, local, artifact_path=folder or None)

    def drain(self) -> None:
        """Return once every earlier write is done (they already are, in this process)."""

    def finish(self, run_id: str, status: str) -> tuple[str, str]:
        self.client.set_terminated(run_id, status=status)
        return run_id, self._artifact_uris.get(run_id, "")


def _warm_up(uri: str) -> None:
    """Import what the writer needs before the first request arrives."""
    import mlflow

    if uri.startswith("sqlite:"):
        import mlflow.store.tracking.sqlalchemy_store  # noqa: F401
    import matplotlib.figure  # noqa: F401


def _picklable(exc: BaseException) -> BaseException:
    import pickle

    try:
        pickle.loads(pickle.dumps(exc))
        return exc
    except Exception:
        return RuntimeError(f"{type(exc).__name__}: {exc}")


def serve(conn: Any, uri: str) -> None:
    """Run MlflowWriter methods sent over ``conn`` until told to stop or the job goes away.

    Messages back are ("error", exception), sent as soon as a call fails, and
    ("reply", result) for each call in WAITED_FOR. After an error, queued calls are skipped;
    waited-for calls still run, so ``finish`` always closes the run."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _warm_up(uri)  # at full priority: this overlaps with the job's own start-up
    os.nice(19)  # from now on, writes yield the CPU to training
    writer = MlflowWriter(uri)
    open_run: str | None = None
    failed = False
    while True:
        try:
            message = conn.recv()
        except EOFError:  # the job's process is gone
            if open_run is not None:
                writer.finish(open_run, "KILLED")
            return
        if message is None:
            return
        method, args = message
        if args and args[0] == PENDING_RUN:
            args = (open_run, *args[1:])
        result = None
        if not failed or method in WAITED_FOR:
            try:
                result = getattr(writer, method)(*args)
            except Exception as exc:
                failed = True
                conn.send(("error", _picklable(exc)))
        if method == "start" and result is not None:
            open_run = result[0]
        if method in WAITED_FOR:
            if method == "finish":
                open_run = None
            conn.send(("reply", result))


@contextlib.contextmanager
def _sigint_deferred() -> Iterator[None]:
    """Hold SIGINT until the block ends (main thread only; elsewhere Python gets no SIGINT)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})


class RemoteWriter:
    """MlflowWriter's interface, carried out by the helper process.

    The helper is a plain ``python -m optbench.mlflow_writer`` child talking over a socket
    pair, so it never re-imports the caller's main module (as multiprocessing's spawn would)."""

    def __init__(self, uri: str):
        ours, theirs = socket.socketpair()
        self._process = subprocess.Popen(
            [sys.executable, "-m", "optbench.mlflow_writer", str(theirs.fileno()), uri],
            pass_fds=(theirs.fileno(),),
        )
        theirs.close()
        self._conn = Connection(ours.detach())
        self._started = False

    def _call(self, method: str, *args: Any, wait: bool = False) -> Any:
        """Queue a call; with ``wait``, return its result once every earlier call is done.
        An error the helper reported in the meantime is raised here."""
        try:
            while self._conn.poll():
                _, error = self._conn.recv()  # only errors arrive unasked
                raise error
            with _sigint_deferred():  # Ctrl-C must not cut a message in half
                self._conn.send((method, args))
            error = None
            while wait:
                kind, value = self._conn.recv()
                if kind == "reply":
                    if error is not None:
                        raise error
                    return value
                error = error or value
        except (EOFError, OSError) as exc:
            raise RuntimeError(
                f"the MLflow helper process stopped (exit code {self._process.poll()}); its "
                "error is printed above. Run with tracking.helper_process=false to debug."
            ) from exc
        return None

    def start(self, *args: Any) -> tuple[str, str | None]:
        """Queued: the real ids come back from ``finish``."""
        self._started = True
        self._call("start", *args)
        return PENDING_RUN, None

    def metrics(self, *args: Any) -> None:
        self._call("metrics", *args)

    def tags(self, *args: Any) -> None:
        self._call("tags", *args)

    def text(self, *args: Any) -> None:
        self._call("text", *args)

    def figure(self, *args: Any) -> None:
        self._call("figure", *args)

    def file(self, *args: Any) -> None:
        self._call("file", *args)

    def drain(self) -> None:
        """Wait until every queued write is done."""
        self._call("drain", wait=True)

    def finish(self, *args: Any) -> tuple[str, str]:
        """Close the run once every queued write is done; returns (run_id, artifact_uri)."""
        return self._call("finish", *args, wait=True)

    def close(self) -> None:
        """Stop the helper: politely after a run, at once if it never opened the store."""
        if self._process.poll() is None:
            if self._started:
                try:
                    self._conn.send(None)  # every write is committed: it exits at once
                    self._process.wait(timeout=30)
                except (OSError, subprocess.TimeoutExpired):
                    self._process.kill()
            else:
                self._process.kill()
            self._process.wait()
        self._conn.close()


if __name__ == "__main__":
    serve(Connection(int(sys.argv[1])), sys.argv[2])
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)  # everything is committed; skip MLflow's slow interpreter shutdown
