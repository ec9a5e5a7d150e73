"""Where optbench writes: every folder under one home, ``runs/`` in the working directory
unless ``$OPTBENCH_HOME`` names another (as lightning-hydra-template's ``paths`` group).

  <home>/mlflow.db            the default MLflow store (tracking.uri and $MLFLOW_TRACKING_URI win)
  <home>/artifacts/           its artifacts (optbench.tracking.store.artifact_location)
  <home>/outputs/, multirun/  Hydra's job folders (conf/config.yaml reads the same variable)
  <home>/reports/<name>/      `optbench report`, a sweep's and a suite's report
  <home>/suite/               the suite's tuning sweeps and its baselines rebuild
  <home>/cache/               parsed arrays and backbone features ($OPTBENCH_CACHE_DIR wins)

Functions, not constants: the variables are read when a path is asked for, so a test or a
launcher that sets them after import still moves everything. A leaf module (standard
library only)."""

from __future__ import annotations

import os
from pathlib import Path

HOME_ENV = "OPTBENCH_HOME"
CACHE_ENV = "OPTBENCH_CACHE_DIR"
DEFAULT_HOME = "runs"


def home() -> Path:
    """The folder everything a run writes goes under, relative to the working directory
    unless the variable gives an absolute path."""
    return Path(os.environ.get(HOME_ENV) or DEFAULT_HOME)


def store() -> Path:
    """The default MLflow store's SQLite file."""
    return home() / "mlflow.db"


def default_store_uri() -> str:
    """The default tracking URI, as given (optbench.tracking.store makes it absolute)."""
    return f"sqlite:///{store()}"


def reports(name: str | None = None) -> Path:
    """The reports folder, or one report's folder in it."""
    folder = home() / "reports"
    return folder / name if name else folder


def suite() -> Path:
    """The suite's own folders: <suite id>/<workload> tuning sweeps, baselines/ rebuilds."""
    return home() / "suite"


def cache() -> Path:
    """The cache of parsed arrays and features, absolute: $OPTBENCH_CACHE_DIR, else
    <home>/cache."""
    own = os.environ.get(CACHE_ENV)
    return Path(own if own is not None else home() / "cache").absolute()
