"""Shared helpers: compose configs in-process, run the real CLI, read MLflow back."""

from __future__ import annotations

import os
import subprocess
import sys
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hydra import compose, initialize_config_module

from optbench.callbacks import Callback, RunContext
from optbench.schema import register_configs
from optbench.trainers.sklearn import SklearnTrainer

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"
if "OPTBENCH_DATA_DIR" not in os.environ and SHARED_DATA.is_dir():
    os.environ["OPTBENCH_DATA_DIR"] = str(SHARED_DATA)

register_configs()

MEMORY_FS = Path("/dev/shm")
_MEMORY_BASETEMP = pytest.StashKey[Path]()


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    """Test folders in memory (tmpfs) where the machine has one and no --basetemp was given:
    every MLflow write commits to SQLite, and each commit waits for the disk (fsync); the
    IO-bound store tests run about a third faster. One folder per session (xdist's workers
    get a folder each inside it), removed at the end, failed tests' folders included (rerun
    with --basetemp=DIR to keep them); a killed session's folder goes at the next start."""
    if config.option.basetemp or hasattr(config, "workerinput") or not _memory_fs_fits():
        return
    import shutil
    import tempfile

    for stale in MEMORY_FS.glob("optbench-pytest-*-*"):  # of a session killed before its end
        pid = stale.name.split("-")[2]
        if pid.isdigit() and not Path(f"/proc/{pid}").exists():
            shutil.rmtree(stale, ignore_errors=True)
    prefix = f"optbench-pytest-{os.getpid()}-"
    config.option.basetemp = tempfile.mkdtemp(prefix=prefix, dir=MEMORY_FS)
    config.stash[_MEMORY_BASETEMP] = Path(config.option.basetemp)


def _memory_fs_fits() -> bool:
    """tmpfs with room for a whole run's folders (about 1 GB: caches, stores, reports) and
    executable files (a test puts a fake ``srun`` on PATH); not where pytest's own temp root
    is set."""
    import shutil

    if os.environ.get("PYTEST_DEBUG_TEMPROOT") or not MEMORY_FS.is_dir():
        return False
    if not os.access(MEMORY_FS, os.W_OK):
        return False
    no_exec = os.statvfs(MEMORY_FS).f_flag & os.ST_NOEXEC
    return not no_exec and shutil.disk_usage(MEMORY_FS).free >= 4 * 2**30


def pytest_unconfigure(config: pytest.Config) -> None:
    folder = config.stash.get(_MEMORY_BASETEMP, None)
    if folder is not None:
        import shutil

        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory, monkeypatch):
    """Parsed-array caches go to one per-session temp folder, never into the repo."""
    monkeypatch.setenv("OPTBENCH_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "cache"))
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)


@pytest.fixture
def exact_float32():
    """Full float32 matmuls and convolutions: on Ampere and later GPUs TensorFlow computes
    float32 in TF32 (10-bit mantissa, ~1e-3 relative) by default, too coarse for 1e-4 checks."""
    import tensorflow as tf

    before = tf.config.experimental.tensor_float_32_execution_enabled()
    tf.config.experimental.enable_tensor_float_32_execution(False)
    yield
    tf.config.experimental.enable_tensor_float_32_execution(before)


@pytest.fixture(scope="session", autouse=True)
def _stores_from_a_migrated_template(tmp_path_factory):
    """A new SQLite store costs MLflow about 2 s: it runs every Alembic migration from the
    first schema. Run them once per test process into a template and copy its tables (the
    same schema, the same Alembic revision) into each new store this process opens. Stores made
    by subprocesses (`run_cli`, servers) still migrate for real."""
    import contextlib
    import sqlite3

    import sqlalchemy
    from mlflow.store.db import utils

    migrate = utils._initialize_tables
    made: list[Path] = []

    def template() -> Path:  # built when this process first opens a store
        if not made:
            path = tmp_path_factory.mktemp("store-template") / "mlflow.db"
            engine = sqlalchemy.create_engine(f"sqlite:///{path}")
            migrate(engine)
            engine.dispose()
            made.append(path)
        return made[0]

    def copy_template(engine: sqlalchemy.engine.Engine) -> None:
        database = engine.url.database
        if engine.url.get_backend_name() != "sqlite" or database in (None, "", ":memory:"):
            return migrate(engine)
        if not utils._is_empty_database(engine):  # a half-built store: MLflow's own upgrade
            return migrate(engine)
        source = template()
        target = engine.raw_connection()
        try:
            with contextlib.closing(sqlite3.connect(source)) as copy_from:
                copy_from.backup(target.driver_connection)
        finally:
            target.close()

    utils._initialize_tables = copy_template
    yield
    utils._initialize_tables = migrate


@pytest.fixture
def store(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'mlflow.db'}"


@pytest.fixture
def http_folder(tmp_path):
    """Serve a folder on 127.0.0.1, standing in for Keras's download host."""
    import functools
    import http.server
    import threading

    root = tmp_path / "served"
    root.mkdir()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield root, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def store_of(folder: Path) -> str:
    """The store a CLI run started in ``folder`` writes to by default."""
    return f"sqlite:///{folder / 'runs' / 'mlflow.db'}"


def checked_node(schema: type, prefix: str, name: str = "x", **values: Any) -> Any:
    """A config node of ``schema`` with ``values``, checked as a run checks it (``prefix``:
    its group's key, as "optimizer."): the node, or OptbenchError."""
    from omegaconf import OmegaConf

    from optbench.constraints import check_dataclass

    node = OmegaConf.to_object(OmegaConf.structured(schema(name=name, **values)))
    check_dataclass(node, prefix=prefix)
    return node


def node_refusal(schema: type, prefix: str, name: str = "x", **values: Any) -> str:
    """The one line ``checked_node`` refuses this node with (it must refuse it)."""
    from optbench.errors import OptbenchError

    with pytest.raises(OptbenchError) as refused:
        checked_node(schema, prefix, name, **values)
    return str(refused.value)


def hardware_cfg(backend: str, gpu: bool = False, **settings: Any) -> Any:
    """A hardware node for ``backend`` (cpu, or gpu), as a run composes it."""
    from omegaconf import OmegaConf

    from optbench.schema.hardware import CpuConfig, GpuConfig

    schema = GpuConfig if gpu else CpuConfig
    return OmegaConf.structured(schema(name="gpu" if gpu else "cpu", backend=backend, **settings))


def compose_cfg(*overrides: str):
    with initialize_config_module("optbench.conf", version_base="1.3"):
        return compose("config", overrides=list(overrides))


class KeepRun(Callback):
    """Keeps the job's TrackedRun, for its run id once the job is done."""

    def on_run_begin(self, ctx: RunContext) -> None:
        self.run = ctx.run


def train(store: str, *overrides: str):
    """Run one job in-process exactly as the CLI does, minus Hydra's process set-up."""
    from optbench.runner import run

    cfg = compose_cfg(f"tracking.uri={store}", "trainer.progress=false", *overrides)
    kept = KeepRun()
    result = run(cfg, [kept])
    return result, kept.run


def keras_runs(name: str) -> bool:
    """Whether this process runs Keras backend ``name`` (with no Keras loaded yet: whether
    ``name`` is the default, which it would load)."""
    from optbench import backends

    keras = sys.modules.get("keras")
    return name == (keras.backend.backend() if keras is not None else backends.DEFAULT)


def on_backend(name: str, module: str, function: str) -> dict:
    """``module.function(name)`` (a JSON-able result) here if this process runs backend
    ``name``, else once in a fresh process: Keras picks its backend once per process."""
    import importlib
    import json

    if keras_runs(name):
        return getattr(importlib.import_module(module), function)(name)
    code = f"import json; from {module} import {function}; print(json.dumps({function}({name!r})))"
    env = {k: v for k, v in os.environ.items() if k != "KERAS_BACKEND"}
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.splitlines()[-1])


class WatchedTrainer(SklearnTrainer):
    """The real scikit-learn trainer, keeping the estimator it builds inside ``fit``."""

    estimator: Any = None

    def _estimator(self, n_train: int) -> Any:
        self.estimator = super()._estimator(n_train)
        return self.estimator


def client(store: str):
    from optbench.tracking import client_for

    return client_for(store)  # never creates the store at the same time as a job


def run_cli(*args: str, cwd: Path, env: dict[str, str] | None = None, timeout: float = 300):
    """The real `optbench` command in a subprocess."""
    full_env = {**os.environ, "COLUMNS": "200", **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "optbench", *args],
        cwd=cwd,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@dataclass(frozen=True)
class Finished:
    """What one in-process `optbench` command left: its exit code and what it printed."""

    returncode: int
    stdout: str
    stderr: str


@contextmanager
def _global_state_restored():
    """Undo what one `optbench` command changes in its process: the environment (KERAS_BACKEND,
    HYDRA_FULL_ERROR, a sweep's OPTBENCH_* names), the working directory, the logging handlers
    Hydra configures, signal handlers, Hydra's global instances and an active MLflow run."""
    import logging
    import signal

    from hydra.core.global_hydra import GlobalHydra
    from hydra.core.hydra_config import HydraConfig

    environ, cwd = dict(os.environ), os.getcwd()
    loggers = {
        name: (lg.level, lg.disabled, lg.propagate, list(lg.handlers))
        for name, lg in [("", logging.root), *logging.root.manager.loggerDict.items()]
        if isinstance(lg, logging.Logger)
    }
    handlers = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    GlobalHydra.instance().clear()
    try:
        yield
    finally:
        GlobalHydra.instance().clear()
        HydraConfig.instance().cfg = None
        if "mlflow" in sys.modules:
            while sys.modules["mlflow"].active_run() is not None:
                sys.modules["mlflow"].end_run()
        for signum, handler in handlers.items():
            signal.signal(signum, handler)
        os.chdir(cwd)
        os.environ.clear()
        os.environ.update(environ)
        for name, lg in [("", logging.root), *logging.root.manager.loggerDict.items()]:
            if name not in loggers:  # a library's own, first imported during the command
                continue
            level, disabled, propagate, kept = loggers[name]
            for handler in set(lg.handlers) - set(kept):
                handler.close()
            lg.setLevel(level)
            lg.disabled, lg.propagate, lg.handlers = disabled, propagate, kept


@pytest.fixture
def optbench_main(monkeypatch, capsys):
    """The `optbench` command in this process: ``optbench.cli.main`` with ``sys.argv`` set,
    its exit code and output read back (no interpreter start, no imports again: what a
    subprocess costs). For errors and printed text; a test about the process itself (exit on a
    signal, what gets imported, another Keras backend, a multirun whose logging Hydra sets up
    on pytest's streams) keeps ``run_cli``. Same call as ``run_cli``."""
    import hydra._internal.hydra
    import hydra.core.utils

    from optbench import cli

    def _exit(code: int) -> None:  # the CLI's os._exit after a finished run: not in pytest
        raise SystemExit(code)

    monkeypatch.setattr(cli, "_fast_exit", _exit)
    # Hydra's logging set-up (logging.config.dictConfig) closes every handler in the process
    # first, pytest's capture and absl's stream among them: skipped here, what optbench prints
    # goes through rich, not logging
    for module in (hydra._internal.hydra, hydra.core.utils):
        monkeypatch.setattr(module, "configure_log", lambda *args, **kwargs: None)

    def run(*args: str, cwd: Path, env: dict[str, str] | None = None) -> Finished:
        capsys.readouterr()
        code: int | str | None = 0
        with _global_state_restored(), monkeypatch.context() as patch:
            patch.setattr(sys, "argv", ["optbench", *args])
            patch.chdir(cwd)
            for key, value in {"COLUMNS": "200", **(env or {})}.items():
                patch.setenv(key, value)
            try:
                cli.main()
            except SystemExit as stop:
                code = stop.code
        out = capsys.readouterr()
        returncode = code if isinstance(code, int) else 0 if code is None else 1
        return Finished(returncode, out.out, out.err)

    return run


def mnist_available() -> bool:
    """Whether the loader would find MNIST (same search as optbench.data.mnist.locate)."""
    from optbench.data.files import search_dirs
    from optbench.data.mnist import IDX_SHA256, NPZ_NAME, _find

    dirs = search_dirs(os.environ.get("OPTBENCH_DATA_DIR"))
    return all(_find(dirs, n) for n in IDX_SHA256) or _find(dirs, NPZ_NAME) is not None


IN_CI = os.environ.get("CI", "").lower() == "true"


def requires(available: bool, missing: str) -> pytest.MarkDecorator:
    """Skip a test whose data or tool is absent, saying what to install; under CI=true, fail.

    CI must never go green by skipping: there a missing data folder or browser is a failure.
    """
    return pytest.mark.requires(available=available, missing=missing)


def pytest_runtest_setup(item: pytest.Item) -> None:
    for mark in item.iter_markers("requires"):
        if not mark.kwargs["available"]:
            if IN_CI:
                pytest.fail(f"CI=true and {mark.kwargs['missing']}", pytrace=False)
            pytest.skip(mark.kwargs["missing"])


needs_mnist = requires(
    mnist_available(),
    "MNIST files not found: set OPTBENCH_DATA_DIR to a folder with mnist/*-ubyte.gz "
    "(CI uses ../shared/data) or run once online to fill ~/.keras/datasets",
)


@pytest.fixture
def tiny_targets(tmp_path, monkeypatch):
    """A targets table of the test's own ($OPTBENCH_SUITE_TARGETS, which child processes
    inherit): the shipped rows with every scored workload's schedule and budget cut to 2
    epochs (logreg_digits's target val_loss <= 0.5), so a suite or a rebuild runs in seconds.
    Returns its path."""
    from optbench.schema.suite import targets_table
    from optbench.suite.targets import write_table

    rows = {}
    for name, row in targets_table().items():
        if row["group"] == "scored":
            row = {**row, "schedule": "2", "budget": "2"}
        if name == "logreg_digits":  # reached within 2 epochs at a fair rate
            row["target"] = "0.5"
        rows[name] = row
    table = write_table(rows, tmp_path / "targets.csv")
    monkeypatch.setenv("OPTBENCH_SUITE_TARGETS", str(table))
    return table
