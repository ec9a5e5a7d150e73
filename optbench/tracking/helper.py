"""The MLflow helper process: ``RemoteWriter`` sends MlflowWriter calls to ``serve``, which
runs them in a child process, so importing MLflow (about 2 s) and matplotlib happens on the
other core while the job imports scikit-learn and trains.

The helper opens the store only on the first request, so a job that fails validation can
discard it without touching the store. If the job's process dies, the helper sees the pipe
close and marks the open run KILLED. It ignores Ctrl-C and SIGTERM: the job handles them and
closes the run (a preempted job's whole process group gets SIGTERM).

A job that writes its runs itself (MLflow already imported, a pool worker) has a ``guard``
process instead, which only closes KILLED the runs the job's process left open when it died."""

from __future__ import annotations

import contextlib
import os
import signal
import site
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from optbench.tracking.writer import MlflowWriter

# The job waits only for the calls in WAITED_FOR; every other call is queued. Until the helper
# has created the run, the job refers to it as PENDING_RUN and the helper substitutes the id.
PENDING_RUN = "<run being created by the MLflow helper>"
WAITED_FOR = frozenset({"drain", "finish"})


def _warm_up(uri: str) -> None:
    """Import what the writer needs before the first request arrives."""
    import mlflow

    if uri.startswith("sqlite:"):
        import mlflow.store.tracking.sqlalchemy_store  # noqa: F401
    with contextlib.suppress(ImportError):  # figures need it; a machine without it still logs
        import matplotlib.figure  # noqa: F401


def _yield_to_training() -> None:
    """From now on, run only on a core the job leaves idle. Linux's SCHED_IDLE does that: a
    helper that merely had low priority (nice 19) still woke up next to the training loop and
    slowed it on 2 cores (bench/bench_sklearn_loop.py measures it). When every core trains,
    writes wait for the job's pauses and its end; a job that waits on the helper (drain,
    finish) leaves its core to it."""
    os.nice(19)
    if hasattr(os, "SCHED_IDLE"):
        with contextlib.suppress(OSError):
            os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))


def _picklable(exc: BaseException) -> BaseException:
    import pickle

    try:
        pickle.loads(pickle.dumps(exc))
        return exc
    except Exception:
        return RuntimeError(f"{type(exc).__name__}: {exc}")


NOTHING, JOB_GONE = object(), object()
MAX_COALESCED = 100_000  # metric values in one write, at most


def _receive(conn: Any) -> Any:
    try:
        return conn.recv()
    except EOFError:  # the job's process is gone
        return JOB_GONE


def _coalesce(conn: Any, args: tuple) -> tuple[tuple, Any]:
    """Join the metric writes for the same run already queued behind this one into one write:
    a write costs milliseconds however small, and when training keeps every core busy the
    helper runs only in the job's pauses and at its end, with several writes waiting. Returns
    the joined arguments and the first message that could not be joined (or NOTHING)."""
    run_id, records = args
    records = list(records)
    while len(records) < MAX_COALESCED and conn.poll():
        message = _receive(conn)
        if message in (JOB_GONE, None) or message[0] != "metrics" or message[1][0] != run_id:
            return (run_id, records), message
        records.extend(message[1][1])
    return (run_id, records), NOTHING


def serve(conn: Any, uri: str) -> None:
    """Run MlflowWriter methods sent over ``conn`` until told to stop or the job goes away.

    Messages back are ("error", exception), sent as soon as a call fails, and
    ("reply", result) for each call in WAITED_FOR. After an error, queued calls are skipped;
    waited-for calls still run, so ``finish`` always closes the run (FAILED where the job
    asked for FINISHED). A run still open when the job stops the helper or goes away is
    closed KILLED: never left RUNNING."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    _warm_up(uri)  # at full priority: this overlaps with the job's own start-up
    _yield_to_training()
    writer = MlflowWriter(uri)
    open_run: str | None = None
    failed = False
    held: Any = NOTHING  # a message read while coalescing, handled next
    while True:
        message, held = (_receive(conn) if held is NOTHING else held), NOTHING
        if message is JOB_GONE or message is None:  # gone, or done with a run never closed
            if open_run is not None:
                writer.finish(open_run, "KILLED")
            return
        method, args = message
        if method == "metrics":
            args, held = _coalesce(conn, args)
        if args and args[0] == PENDING_RUN:
            args = (open_run, *args[1:])
        if method == "finish" and failed and args[1] == "FINISHED":
            args = (args[0], "FAILED")  # a write of the run failed: the job hears of it next
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


STOP_SIGNALS = {signal.SIGINT, signal.SIGTERM}


@contextlib.contextmanager
def _stop_deferred() -> Iterator[None]:
    """Hold Ctrl-C and SIGTERM until the block ends, then act on the first as it would have
    (main thread only; elsewhere Python runs no signal handler). Their Python handlers are
    swapped rather than the signals blocked: with other threads alive (BLAS, TensorFlow) the
    kernel hands a blocked signal to one of them, and Python still runs the handler in the
    main thread, in the middle of the block."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    arrived: list[tuple[int, Any]] = []
    previous = {}
    for signum in STOP_SIGNALS:
        handler = signal.getsignal(signum)
        if callable(handler):
            previous[signum] = signal.signal(signum, lambda *received: arrived.append(received))
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        for signum, frame in arrived[:1]:
            previous[signum](signum, frame)  # raises what it would have raised


def _start(*args: str, **popen: Any) -> tuple[subprocess.Popen, Connection]:
    """``python -m optbench.tracking.helper FD *args``, and the job's end of its socket."""
    ours, theirs = socket.socketpair()
    # the job's own optbench, not one that `-m` would find first in the working directory
    # (a checkout, another version): -P leaves the working directory off the path. An
    # optbench outside site-packages (a checkout, an editable install) is named on
    # PYTHONPATH; site-packages itself is not, which would put it before the standard library
    package_root = Path(__file__).resolve().parents[2]
    env = dict(os.environ)
    if package_root not in {Path(p).resolve() for p in site.getsitepackages()}:
        env["PYTHONPATH"] = os.pathsep.join(
            filter(None, [str(package_root), env.get("PYTHONPATH")])
        )
    process = subprocess.Popen(
        [sys.executable, "-P", "-m", "optbench.tracking.helper", str(theirs.fileno()), *args],
        pass_fds=(theirs.fileno(),),
        env=env,
        **popen,
    )
    theirs.close()
    return process, Connection(ours.detach())


GUARD = "--guard"


def guard(conn: Any) -> None:
    """The guard of the runs a process writes itself (optbench.tracking.run.TrackedRun with an
    in-process MlflowWriter: a sweep's jobs in its own process, pool workers): it is told
    ("guard", run_id, uri) and ("release", run_id, uri), and once the process is gone, however
    it ended, closes KILLED each run still guarded that is still RUNNING. MLflow is imported
    only then. It is no descendant of the process: joblib ends its workers by SIGKILL to
    their whole process tree, and leaves its own session, so that Ctrl-C in the terminal or a
    signal to the process group leaves it alone."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    guarded: dict[str, str] = {}
    while True:
        message = _receive(conn)
        if message is JOB_GONE or message is None:
            break
        method, run_id, uri = message
        if method == "guard":
            guarded[run_id] = uri
        else:
            guarded.pop(run_id, None)
    for run_id, uri in guarded.items():
        try:
            client = MlflowWriter(uri).client
            if client.get_run(run_id).info.status == "RUNNING":
                client.set_terminated(run_id, status="KILLED")
        except Exception as exc:  # the others still get closed
            print(f"optbench: could not close run {run_id} in {uri}: {exc}", file=sys.stderr)


class RunGuard:
    """The job's side of ``guard``: one guard process per job process, started on first use."""

    def __init__(self) -> None:
        # the started process forks the guard and exits at once (reaped in ``guard``)
        self._launcher, self._conn = _start(GUARD, start_new_session=True)

    def guard(self, uri: str, run_id: str) -> None:
        self._send("guard", run_id, uri)

    def release(self, uri: str, run_id: str) -> None:
        """The run is closed: nothing to do for it any more."""
        self._send("release", run_id, uri)

    def _send(self, method: str, run_id: str, uri: str) -> None:
        self._launcher.poll()
        self._conn.send((method, run_id, uri))  # one write of a few bytes: never cut


_RUN_GUARD: RunGuard | None = None


def run_guard() -> RunGuard:
    """This process's RunGuard."""
    global _RUN_GUARD
    if _RUN_GUARD is None:
        _RUN_GUARD = RunGuard()
    return _RUN_GUARD


class RemoteWriter:
    """MlflowWriter's interface, carried out by the helper process.

    The helper is a plain ``python -m optbench.tracking.helper`` child talking over a socket
    pair, so it never re-imports the caller's main module (as multiprocessing's spawn would),
    and it runs the same optbench as the job."""

    def __init__(self, uri: str):
        self._process, self._conn = _start(uri)
        self._started = False

    def _call(self, method: str, *args: Any, wait: bool = False) -> Any:
        """Queue a call; with ``wait``, return its result once every earlier call is done.
        An error the helper reported in the meantime is raised here: before a queued call
        is sent, after a waited-for one is done (``finish`` must reach the helper)."""
        try:
            error = None
            while self._conn.poll():
                _, queued = self._conn.recv()  # only errors arrive unasked
                if not wait:
                    raise queued
                error = error or queued
            with _stop_deferred():  # Ctrl-C or SIGTERM must not cut a message in half
                self._conn.send((method, args))
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

    def inputs(self, *args: Any) -> None:
        self._call("inputs", *args)

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

    def finish(self, *args: Any) -> tuple[str, str, str]:
        """Close the run once every queued write is done; returns (run_id, artifact_uri,
        experiment_id)."""
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


if __name__ == "__main__" and sys.argv[2] == GUARD:
    if os.fork() != 0:  # the guard is the grandchild: no descendant of the job's process
        os._exit(0)
    guard(Connection(int(sys.argv[1])))
    os._exit(0)
if __name__ == "__main__":
    serve(Connection(int(sys.argv[1])), sys.argv[2])
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)  # everything is committed; skip MLflow's slow interpreter shutdown
