"""One job's MLflow run: ``TrackedRun`` opens it (a child of the sweep's parent inside a
sweep), writes through MlflowWriter or the helper process, and always closes it with a final
status; ``MetricsLogger`` is the callback the training loop sees, batching per-step metrics."""

from __future__ import annotations

import contextlib
import signal
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

from optbench import tags as tag
from optbench.callbacks import Callback
from optbench.signals import Terminated, sigterm_interrupts
from optbench.tracking.datasets import dataset_record
from optbench.tracking.env import open_sweep
from optbench.tracking.provenance import run_tags
from optbench.tracking.store import resolve_uri
from optbench.tracking.writer import MlflowWriter, Record


@contextlib.contextmanager
def _interrupts_held(held: list[BaseException]) -> Iterator[None]:
    """Within the block, Ctrl-C and SIGTERM append the exception they would raise (as
    optbench.signals has them raise it) to ``held`` instead of raising it. Python runs signal
    handlers in the main thread only, whichever thread the signal reached, so this holds
    them where blocking the signals in the main thread would not; elsewhere it does nothing.
    Signals without a Python handler (ignored, or at the default) are left alone."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def hold(signum: int, frame: Any) -> None:
        stop = Terminated(f"received {signal.Signals(signum).name}")
        held.append(stop if signum == signal.SIGTERM else KeyboardInterrupt())

    previous = {}
    for signum in (signal.SIGINT, signal.SIGTERM):
        handler = signal.getsignal(signum)
        if callable(handler):
            previous[signum] = signal.signal(signum, hold)
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def flatten(tree: Any, prefix: str = "") -> dict[str, str]:
    """Nested config -> {'optimizer.lr': '0.001', ...}."""
    if isinstance(tree, dict):
        out: dict[str, str] = {}
        for key, value in tree.items():
            out.update(flatten(value, f"{prefix}{key}."))
        return out
    return {prefix.rstrip("."): str(tree)}


def metric_records(values: dict[str, float], step: int) -> list[Record]:
    now = int(time.time() * 1000)
    return [(k, float(v), now, step) for k, v in values.items()]


def default_run_name(cfg: Any, framework: str) -> str:
    """model-optimizer-dataset-seed, and the Keras backend where it is not TensorFlow."""
    opt = cfg.optimizer
    optimizer = opt.target.rpartition(":")[2] if opt.name == "custom" else opt.name
    name = f"{cfg.model.name}-{optimizer}-{cfg.dataset.name}-s{cfg.seed}"
    backend = cfg.hardware.backend
    return name if backend == "tensorflow" or framework == "sklearn" else f"{name}-{backend}"


class MetricsLogger(Callback):
    """Buffers per-step metrics and writes them once ``every_s`` seconds have passed since the
    last write (tracking.flush_every_s), or sooner after ``every`` steps (None: by time only).
    Each write costs the helper milliseconds of MLflow and SQLite however small it is, so fast
    steps (scikit-learn iterations) go in one write per ``every_s``; slow ones (an epoch of a
    large model) can be stored as they come; a job killed outright loses at most ``every_s``."""

    def __init__(self, run: TrackedRun, every: int | None, every_s: float):
        self.run, self.every, self.every_s = run, every, every_s
        self.pending: list[Record] = []
        self.steps_pending = 0
        self.flush_at = time.monotonic() + self.every_s

    def on_epoch_end(self, step: int, logs: dict[str, float]) -> None:
        self.pending.extend(metric_records(logs, step))
        self.steps_pending += 1
        by_count = self.every is not None and self.steps_pending >= self.every
        if by_count or time.monotonic() >= self.flush_at:
            self.flush()

    def on_train_end(self, logs: dict[str, float]) -> None:
        self.flush()

    def flush(self) -> None:
        if self.pending:
            self.run.writer.metrics(self.run.run_id, self.pending)
        self.pending, self.steps_pending = [], 0
        self.flush_at = time.monotonic() + self.every_s


class TrackedRun:
    """One MLflow run as a context manager: FINISHED on success, KILLED on Ctrl-C or SIGTERM
    (optbench.signals), FAILED on any other exception (with the error as a tag); whatever was
    logged stays, the metrics still buffered included.

    ``framework`` is the tag of the trainer that will run it (optbench.trainers.base
    .framework_of): the caller knows its trainers, tracking does not.

    Create it as early as possible: with ``tracking.helper_process`` the helper starts
    importing MLflow right away; ``discard()`` it if the job ends before ``__enter__``.

    Never left RUNNING: if the process dies without closing it (kill -9, joblib ending its
    workers with SIGKILL), the helper closes it KILLED, or, for a run written in-process
    (MLflow already loaded, pool workers), this process's guard (tracking.helper.guard)."""

    def __init__(self, cfg: Any, framework: str):
        self.cfg, self.framework = cfg, framework
        self.uri = resolve_uri(cfg.tracking.uri)
        self.experiment_id = ""  # known once the run is closed
        self.loggers: list[MetricsLogger] = []
        self._signals = contextlib.ExitStack()
        # The helper hides MLflow's import; where MLflow is loaded already (a sequential
        # sweep's main process), writing from here is cheaper than warming up a helper.
        # A joblib or Ray worker runs job after job: importing MLflow there once beats warming
        # up a helper per job.
        from optbench.launchers import in_pool_worker

        pool_worker = in_pool_worker()
        if cfg.tracking.helper_process and "mlflow" not in sys.modules and not pool_worker:
            from optbench.tracking.helper import RemoteWriter

            self.writer: Any = RemoteWriter(self.uri)
        else:
            self.writer = MlflowWriter(self.uri)

    def __enter__(self) -> TrackedRun:
        from omegaconf import OmegaConf

        cfg = self.cfg
        tags = run_tags(cfg, self.framework)
        sweep = open_sweep()
        if sweep is not None:
            tags[tag.PARENT_RUN_ID] = sweep.run_id
            tags[tag.SWEEP_ID] = sweep.sweep_id
        name = cfg.run_name or default_run_name(cfg, self.framework)
        params = flatten(OmegaConf.to_container(cfg, resolve=True))
        try:
            self.run_id, self.artifact_uri = self.writer.start(
                cfg.experiment_name, name, tags, params
            )
        except BaseException:
            self.discard()
            raise
        if isinstance(self.writer, MlflowWriter):  # no helper to close it if the process dies
            from optbench.tracking.helper import run_guard

            run_guard().guard(self.uri, self.run_id)
        self._signals.enter_context(sigterm_interrupts())
        return self

    def __exit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> None:
        """Flush and close the run. Ctrl-C or SIGTERM arriving meanwhile is held until the
        run is closed (KILLED, unless it came once ``finish`` was sent), then raised: raised
        inside the flush or the close, it would leave the buffered steps unwritten and the
        run RUNNING."""
        held: list[BaseException] = []
        try:
            with _interrupts_held(held):
                for logger in self.loggers:
                    logger.flush()
                ended = exc if exc is not None else next(iter(held), None)
                if ended is None:
                    status = "FINISHED"
                else:
                    status = "KILLED" if isinstance(ended, KeyboardInterrupt) else "FAILED"
                    from optbench.errors import OptbenchError

                    kind = "user" if isinstance(ended, OptbenchError) else type(ended).__name__
                    self.set_tags({tag.ERROR: str(ended) or kind, tag.ERROR_TYPE: kind})
                closed = self.writer.finish(self.run_id, status)
                self.run_id, self.artifact_uri, self.experiment_id = closed
                if isinstance(self.writer, MlflowWriter):
                    from optbench.tracking.helper import run_guard

                    run_guard().release(self.uri, self.run_id)
        finally:
            self._signals.close()
            self.discard()
        if held and not (exc_type is not None and issubclass(exc_type, KeyboardInterrupt)):
            raise held[0] from exc  # the process was asked to stop: after the run is closed

    def discard(self) -> None:
        """Stop the helper process, if any (safe at any time; the store is opened lazily)."""
        close = getattr(self.writer, "close", None)
        if close is not None:
            close()

    def metrics_logger(self, every: int | None) -> MetricsLogger:
        logger = MetricsLogger(self, every, self.cfg.tracking.flush_every_s)
        self.loggers.append(logger)
        return logger

    def log_metrics(self, values: dict[str, float], step: int = 0) -> None:
        self.writer.metrics(self.run_id, metric_records(values, step))

    def log_dataset(self, config: Any, info: dict[str, Any], sizes: dict[str, int]) -> None:
        """Log the data the run trains on as an MLflow dataset input (tracking.datasets)."""
        self.writer.inputs(self.run_id, [dataset_record(config, info, sizes)])

    def set_tags(self, tags: dict[str, Any]) -> None:
        self.writer.tags(self.run_id, {k: str(v) for k, v in tags.items()})

    def log_text(self, text: str, path: str) -> None:
        self.writer.text(self.run_id, text, path)

    def log_file(self, local: str, path: str) -> None:
        """Upload the local file ``local`` as artifact ``path``."""
        self.writer.file(self.run_id, local, path)

    def log_figure(self, draw: str, args: tuple, path: str) -> None:
        """Log the figure that ``draw`` ('module:function') makes from ``args``."""
        self.writer.figure(self.run_id, draw, args, path)
