"""Where the store is (optbench/tracking/store.py): the URI's resolution, and the scheme check
held to MLflow's own registry."""

import pytest

from optbench.errors import OptbenchError
from optbench.tracking import resolve_uri


def test_tracking_uri_resolution(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert resolve_uri(None) == f"sqlite:///{tmp_path}/runs/mlflow.db"
    assert resolve_uri("sqlite:///other/x.db") == f"sqlite:///{tmp_path}/other/x.db"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://127.0.0.1:9")
    assert resolve_uri(None) == "http://127.0.0.1:9"
    assert resolve_uri("sqlite:////abs/y.db") == "sqlite:////abs/y.db"


URIS = [
    "nosuchscheme://store",
    "/abs/mlruns",
    "relative/mlruns",
    "C:\\mlruns",
    "file:///abs/mlruns",
    "sqlite:///x.db",
    "postgresql://u@h/db",
    "postgresql+psycopg2://u@h/db",
    "mysql+pymysql+x://h/db",
    "sqlitex:///x.db",
    "mssql+pyodbc://h/db",
    "http://127.0.0.1:5000",
    "https://mlflow.example",
    "databricks",
    "databricks://profile",
    "databricks-uc",
    "uc",
    "s3://bucket/path",
]


def test_supported_schemes_are_those_of_mlflows_registry():
    """optbench checks URIs without importing MLflow, from a copy of its registry's keys."""
    from mlflow.tracking._tracking_service.utils import _tracking_store_registry

    from optbench.tracking import supported_schemes

    assert set(supported_schemes()) == set(_tracking_store_registry._registry)


@pytest.mark.parametrize("uri", URIS)
def test_a_uri_passes_the_check_exactly_when_mlflows_registry_has_a_store_for_it(uri):
    from mlflow.exceptions import MlflowException
    from mlflow.tracking._tracking_service.utils import _tracking_store_registry

    from optbench.tracking import check_scheme

    try:
        _tracking_store_registry.get_store_builder(uri)
        mlflow_accepts = True
    except MlflowException:
        mlflow_accepts = False
    try:
        check_scheme(uri)
        optbench_accepts = True
    except OptbenchError:
        optbench_accepts = False
    assert optbench_accepts == mlflow_accepts


def test_a_bad_store_from_the_environment_names_the_variable(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "s3://bucket/runs")
    with pytest.raises(OptbenchError, match=r"^\$MLFLOW_TRACKING_URI='s3://bucket/runs': MLflow"):
        resolve_uri(None)
    with pytest.raises(OptbenchError, match=r"^tracking.uri='ftp://x': MLflow has no tracking"):
        resolve_uri("ftp://x")
