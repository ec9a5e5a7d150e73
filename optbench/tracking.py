"""MLflow tracking: the store, one run per job (child of a sweep's parent run), batched
metric writes, and a final status that is never left RUNNING.

The training loop never sees MLflow: it talks to ``MetricsLogger``, a callback."""

from __future__ import annotations

import contextlib
import functools
import json
import os
import platform
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterable
from importlib import metadata
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback as HydraCallback
from omegaconf import DictConfig, OmegaConf

from optbench.callbacks import Callback
from optbench.mlflow_writer import MlflowWriter
from optbench.trainers.base import framework_of

DEFAULT_STORE = Path("runs") / "mlflow.db"
ENV_URI = "OPTBENCH_TRACKING_URI"  # set by the sweep callback for its jobs
ENV_PARENT = "OPTBENCH_PARENT_RUN_ID"
ENV_SWEEP = "OPTBENCH_SWEEP_ID"
ENV_STUDY, ENV_TRIAL = "OPTBENCH_STUDY", "OPTBENCH_TRIAL"  # set by hparams_search (tune.py)
VERSIONED = ("scikit-learn", "numpy", "mlflow", "hydra-core", "tensorflow", "keras")


def resolve_uri(uri: str | None) -> str:
    """The store for this run: config, then the sweep's, then $MLFLOW_TRACKING_URI, then
    ``sqlite:///<cwd>/runs/mlflow.db``. Local SQLite paths are made absolute.

    A URI MLflow has no store for raises OptbenchError here, before any work: MLflow itself
    would only fail once the results are written, after training."""
    key = "tracking.uri"
    if not uri and not os.environ.get(ENV_URI) and os.environ.get("MLFLOW_TRACKING_URI"):
        key = "$MLFLOW_TRACKING_URI"
    uri = uri or os.environ.get(ENV_URI) or os.environ.get("MLFLOW_TRACKING_URI")
    if not uri:
        uri = "sqlite:///" + str(DEFAULT_STORE)
    check_scheme(uri, key)
    if uri.startswith("sqlite:///"):
        path = Path(uri.removeprefix("sqlite:///")).absolute()
        path.parent.mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{path}"
    return uri


# MLflow's built-in tracking stores, as mlflow.tracking._tracking_service.utils registers them
# (the SQLAlchemy ones only where SQLAlchemy is installed); plugins add STORE_PLUGIN_GROUP
# entry points. Listed here so that the job's process checks a URI without importing MLflow
# (about 2 s); tests/test_tracking.py holds this to MLflow's own registry.
LOCAL_SCHEMES = ("", "file")
DATABASE_SCHEMES = ("sqlite", "postgresql", "mysql", "mssql")
SERVER_SCHEMES = ("http", "https", "databricks", "databricks-uc", "uc")
BARE_SCHEMES = ("databricks", "databricks-uc", "uc")  # URIs that are a scheme name alone
STORE_PLUGIN_GROUP = "mlflow.tracking_store"


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


def flatten(tree: Any, prefix: str = "") -> dict[str, str]:
    """Nested config -> {'optimizer.lr': '0.001', ...}."""
    if isinstance(tree, dict):
        out: dict[str, str] = {}
        for key, value in tree.items():
            out.update(flatten(value, f"{prefix}{key}."))
        return out
    return {prefix.rstrip("."): str(tree)}


def _git_commit() -> str | None:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5, check=False
        )
    except OSError:
        return None
    return out.stdout.strip() or None


def _versions() -> dict[str, str]:
    tags = {"optbench.version.python": platform.python_version()}
    for dist in VERSIONED:
        with contextlib.suppress(metadata.PackageNotFoundError):
            tags[f"optbench.version.{dist}"] = metadata.version(dist)
    return tags


# settings that change how a run is watched or stored, not what it computes
NOT_HASHED = (
    "experiment_name",
    "run_name",
    "tracking",
    "trainer.progress",
    "trainer.skip_existing",
)


def config_hash(cfg: DictConfig) -> str:
    """sha256 (16 hex) of the resolved config minus NOT_HASHED: equal hashes, same run."""
    import hashlib
    import json

    tree = OmegaConf.to_container(cfg, resolve=True)
    for key in NOT_HASHED:
        parent, _, leaf = key.rpartition(".")
        node = tree.get(parent, {}) if parent else tree
        node.pop(leaf, None)
    text = json.dumps(tree, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def find_finished(cfg: DictConfig) -> Any:
    """A FINISHED run of this experiment with the same config hash, or None."""
    from optbench.mlflow_writer import client_for

    client = client_for(resolve_uri(cfg.tracking.uri))
    experiment = client.get_experiment_by_name(cfg.experiment_name)
    if experiment is None:
        return None
    runs = client.search_runs(
        [experiment.experiment_id],
        filter_string=f"tags.`optbench.config_hash` = '{config_hash(cfg)}' "
        "and attributes.status = 'FINISHED'",
        order_by=["attributes.start_time DESC"],
        max_results=1,
    )
    return runs[0] if runs else None


def run_tags(cfg: DictConfig) -> dict[str, str]:
    tags = {
        "optbench.config_hash": config_hash(cfg),
        "optbench.framework": framework_of(cfg),
        "optbench.model": str(cfg.model.name),
        "optbench.optimizer": str(cfg.optimizer.name),
        "optbench.schedule": str(cfg.schedule.name),
        "optbench.dataset": str(cfg.dataset.name),
        "optbench.seed": str(cfg.seed),
        "optbench.host": socket.gethostname(),
        **_versions(),
    }
    commit = _git_commit()
    if commit:
        tags["mlflow.source.git.commit"] = commit
    overrides = job_overrides()
    if overrides is not None:
        tags["optbench.overrides"] = json.dumps(overrides)
    for key, variable in (("optbench.study", ENV_STUDY), ("optbench.trial", ENV_TRIAL)):
        if os.environ.get(variable):  # a trial of hparams_search (optbench/tune.py)
            tags[key] = os.environ[variable]
    return tags


def job_overrides() -> list[str] | None:
    """The command-line overrides that composed this job (with a sweep's choices for it)."""
    from hydra.core.hydra_config import HydraConfig

    if not HydraConfig.initialized():
        return None
    return list(HydraConfig.get().overrides.task)


def environment_freeze() -> str:
    """``name==version`` of every installed distribution (pip freeze, without running pip)."""
    lines = {
        f"{d.metadata['Name']}=={d.version}" for d in metadata.distributions() if d.metadata["Name"]
    }
    return "\n".join(sorted(lines, key=str.lower)) + "\n"


class MetricsLogger(Callback):
    """Buffers per-step metrics and writes them with one log_batch per ``every`` steps."""

    def __init__(self, run: TrackedRun, every: int):
        self.run, self.every = run, every
        self.pending: list[tuple[str, float, int, int]] = []
        self.steps_pending = 0

    def on_epoch_end(self, step: int, logs: dict[str, float]) -> None:
        self.pending.extend(metric_records(logs, step))
        self.steps_pending += 1
        if self.steps_pending >= self.every:
            self.flush()

    def on_train_end(self, logs: dict[str, float]) -> None:
        self.flush()

    def flush(self) -> None:
        if self.pending:
            self.run.writer.metrics(self.run.run_id, self.pending)
        self.pending, self.steps_pending = [], 0


def metric_records(values: dict[str, float], step: int) -> list[tuple[str, float, int, int]]:
    now = int(time.time() * 1000)
    return [(k, float(v), now, step) for k, v in values.items()]


class TrackedRun:
    """One MLflow run as a context manager: FINISHED on success, KILLED on Ctrl-C, FAILED on
    any other exception (with the error as a tag); whatever was logged stays.

    Create it as early as possible: with ``tracking.helper_process`` the helper starts
    importing MLflow right away; ``discard()`` it if the job ends before ``__enter__``."""

    def __init__(self, cfg: DictConfig):
        self.cfg = cfg
        self.uri = resolve_uri(cfg.tracking.uri)
        self.loggers: list[MetricsLogger] = []
        # The helper hides MLflow's import; where MLflow is loaded already (a sequential
        # sweep's main process), writing from here is cheaper than warming up a helper.
        # A joblib or Ray worker runs job after job: importing MLflow there once beats warming
        # up a helper per job.
        from optbench.launchers import in_pool_worker

        pool_worker = in_pool_worker()
        if cfg.tracking.helper_process and "mlflow" not in sys.modules and not pool_worker:
            from optbench.mlflow_writer import RemoteWriter

            self.writer: Any = RemoteWriter(self.uri)
        else:
            self.writer = MlflowWriter(self.uri)

    def __enter__(self) -> TrackedRun:
        cfg = self.cfg
        tags = run_tags(cfg)
        if os.environ.get(ENV_PARENT):
            tags["mlflow.parentRunId"] = os.environ[ENV_PARENT]
            tags["optbench.sweep_id"] = os.environ.get(ENV_SWEEP, "")
        name = (
            cfg.run_name or f"{cfg.model.name}-{cfg.optimizer.name}-{cfg.dataset.name}-s{cfg.seed}"
        )
        params = flatten(OmegaConf.to_container(cfg, resolve=True))
        try:
            self.run_id, self.artifact_uri = self.writer.start(
                cfg.experiment_name, name, tags, params
            )
        except BaseException:
            self.discard()
            raise
        return self

    def __exit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> None:
        try:
            for logger in self.loggers:
                logger.flush()
            if exc_type is None:
                status = "FINISHED"
            else:
                status = "KILLED" if issubclass(exc_type, KeyboardInterrupt) else "FAILED"
                from optbench.errors import OptbenchError

                kind = "user" if isinstance(exc, OptbenchError) else type(exc).__name__
                self.set_tags({"optbench.error": str(exc) or kind, "optbench.error_type": kind})
            self.run_id, self.artifact_uri = self.writer.finish(self.run_id, status)
        finally:
            self.discard()

    def discard(self) -> None:
        """Stop the helper process, if any (safe at any time; the store is opened lazily)."""
        close = getattr(self.writer, "close", None)
        if close is not None:
            close()

    def metrics_logger(self, every: int) -> MetricsLogger:
        logger = MetricsLogger(self, every)
        self.loggers.append(logger)
        return logger

    def log_metrics(self, values: dict[str, float], step: int = 0) -> None:
        self.writer.metrics(self.run_id, metric_records(values, step))

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


class SweepTracking(HydraCallback):
    """Hydra callback: before any job starts, create the store, the experiment and the sweep's
    parent run (parallel workers would otherwise race on a fresh SQLite schema); at the end,
    close the parent with the children's outcome."""

    active: dict[str, str] | None = None  # the open sweep of this process, for cleanup
    last_summary: dict[str, Any] | None = None  # what close_sweep found, for the CLI to print

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        from optbench.errors import USER_ERROR_EXIT, OptbenchError

        try:
            uri = resolve_uri(config.tracking.uri)
        except OptbenchError as exc:  # one line and exit 2, before any job starts
            from optbench.console import print_error

            print_error(str(exc))
            raise SystemExit(USER_ERROR_EXIT) from None
        sweep_id = time.strftime("%Y%m%d-%H%M%S-") + uuid.uuid4().hex[:6]
        tags = {
            "optbench.sweep_id": sweep_id,
            "optbench.role": "sweep",
            "optbench.overrides": " ".join(config.hydra.overrides.task),
            "optbench.sweep_dir": str(Path(config.hydra.sweep.dir).absolute()),
        }
        parent_id, _ = MlflowWriter(uri).start(
            config.experiment_name, f"sweep {sweep_id}", tags, params={}
        )
        job_env = {ENV_URI: uri, ENV_PARENT: parent_id, ENV_SWEEP: sweep_id}
        os.environ.update(job_env)
        _set_in_every_job(config, job_env)
        SweepTracking.active = {"uri": uri, "run_id": parent_id, "sweep_id": sweep_id}

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        SweepTracking.last_summary = close_sweep("FINISHED")


def _set_in_every_job(config: DictConfig, env: dict[str, str]) -> None:
    """Have Hydra set ``env`` in each job's process (hydra.job.env_set): launchers whose jobs
    run elsewhere (a Ray cluster, SLURM nodes) do not inherit this process's environment.
    Every launcher composes a job's config from the sweep's hydra overrides."""
    from omegaconf import open_dict, read_write

    with read_write(config), open_dict(config):
        config.hydra.overrides.hydra.extend(env_set_overrides(env))


def env_set_overrides(env: dict[str, str]) -> list[str]:
    """Overrides that make Hydra set ``env`` in a job's process (hydra.job.env_set)."""
    return [f"++hydra.job.env_set.{key}='{value}'" for key, value in env.items()]


def sweep_children(client: Any, experiment_ids: Iterable[str], parent_id: str) -> list[Any]:
    return client.search_runs(
        list(experiment_ids),
        filter_string=f"tags.mlflow.parentRunId = '{parent_id}'",
        max_results=10000,
    )


def log_sweep_report(writer: Any, sweep: dict[str, Any], children: list[Any]) -> str | None:
    """The comparison report (optbench.report.build) of the sweep, written to
    runs/reports/<sweep id>/ and logged as artifacts report/ of the parent run. A report
    that cannot be drawn is a warning: the runs themselves are safe in the store."""
    from optbench.report.build import ReportOptions, build_report

    finished = [c for c in children if c.info.status == "FINISHED"]
    if not finished:
        return None
    folder = Path("runs") / "reports" / sweep.get("sweep_id", sweep["run_id"])
    try:
        build_report(writer.client, finished, folder, ReportOptions(title=f"sweep {folder.name}"))
        writer.client.log_artifacts(sweep["run_id"], str(folder), "report")
    except Exception as exc:
        from optbench.console import print_error

        print_error(f"the sweep report could not be built: {type(exc).__name__}: {exc}")
        return None
    return str(folder / "index.html")


def close_sweep(status: str) -> dict[str, Any] | None:
    """Terminate this process's open sweep parent; FAILED if any child failed. Returns counts."""
    sweep = SweepTracking.active
    if sweep is None:
        return None
    SweepTracking.active = None
    for key in (ENV_URI, ENV_PARENT, ENV_SWEEP):
        os.environ.pop(key, None)
    writer = MlflowWriter(sweep["uri"])
    experiments = [e.experiment_id for e in writer.client.search_experiments()]
    children = sweep_children(writer.client, experiments, sweep["run_id"])
    failed = [c for c in children if c.info.status != "FINISHED"]
    if status == "FINISHED" and failed:
        status = "FAILED"
    counts = {"n_jobs": len(children), "n_failed": len(failed)}
    writer.metrics(sweep["run_id"], metric_records(counts, 0))
    summary = {"parent": sweep["run_id"], "children": children, "failed": failed}
    try:
        from optbench.report.architectures import log_sweep_architectures
        from optbench.report.curves import log_sweep_curves
        from optbench.report.landscapes import log_sweep_landscapes

        summary["curves"] = log_sweep_curves(writer, sweep["run_id"], children)
        summary["landscapes"] = log_sweep_landscapes(writer, sweep["run_id"], children)
        summary["architectures"] = log_sweep_architectures(writer, sweep["run_id"], children)
        summary["report"] = log_sweep_report(writer, sweep, children)
    finally:
        writer.finish(sweep["run_id"], status)
    return {**summary, "status": status}
