"""MLflow tracking, one job per module:

- env         the environment variables through which a sweep reaches its jobs
- store       where the store is: the URI, its scheme check, ``client_for`` (SQLite lock, retry)
- writer      ``MlflowWriter``: every MLflow call a job makes, on plain data
- helper      ``RemoteWriter``: the same calls, carried out by a helper process
- run         ``TrackedRun`` (one job's run, always closed) and ``MetricsLogger`` (the callback)
- provenance  a run's tags: config choices, versions, git commit, overrides; the package freeze
- hashing     the settings that do not change a result, and the config hash without them
- sweep       ``SweepTracking`` (Hydra callback: the parent run) and ``close_sweep``
- datasets    the data a run trained on, as an MLflow dataset input
- ui          the MLflow UI: the links optbench prints and the experiment view they open
- server      ``optbench ui``: a light MLflow server on a store, and its links

The training loop never sees MLflow: it talks to ``MetricsLogger``. Nothing here imports the
trainers, the report or the console; the sweep's report is optbench/report/sweep.py.

Names are imported on first use: the helper process starts as ``python -m
optbench.tracking.helper``, which runs this file first, and must not pay for Hydra (~0.2 s)
before it starts importing MLflow."""

from __future__ import annotations

from importlib import import_module
from typing import Any

_HOMES = {
    "ENV_PARENT": "env",
    "ENV_STUDY": "env",
    "ENV_SWEEP": "env",
    "ENV_TRIAL": "env",
    "ENV_URI": "env",
    "OpenSweep": "env",
    "env_set_overrides": "env",
    "open_sweep": "env",
    "check_scheme": "store",
    "client_for": "store",
    "resolve_uri": "store",
    "supported_schemes": "store",
    "MlflowWriter": "writer",
    "RemoteWriter": "helper",
    "MetricsLogger": "run",
    "TrackedRun": "run",
    "sweep_description": "provenance",
    "RESULT_NEUTRAL": "hashing",
    "config_hash": "hashing",
    "find_finished": "hashing",
    "result_defining": "hashing",
    "ClosedSweep": "sweep",
    "StoreRefused": "sweep",
    "SweepTracking": "sweep",
    "close_sweep": "sweep",
    "browse_hint": "ui",
    "experiment_link": "ui",
    "run_link": "ui",
    "ui_base": "ui",
}
__all__ = sorted(_HOMES)


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f"{__name__}.{_HOMES[name]}"), name)
