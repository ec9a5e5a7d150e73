"""optbench/paths.py: every folder a run writes under runs/, and $OPTBENCH_HOME moving them all."""

from __future__ import annotations

from pathlib import Path

import pytest

from optbench import paths
from optbench.tracking.env import ENV_URI
from optbench.tracking.store import resolve_uri


@pytest.fixture
def no_overrides(monkeypatch):
    for name in (paths.HOME_ENV, paths.CACHE_ENV, "MLFLOW_TRACKING_URI", ENV_URI):
        monkeypatch.delenv(name, raising=False)


def test_defaults_are_under_runs_in_the_working_directory(no_overrides, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    assert paths.home() == Path("runs")
    assert paths.store() == Path("runs/mlflow.db")
    assert paths.default_store_uri() == "sqlite:///runs/mlflow.db"
    assert resolve_uri(None) == f"sqlite:///{tmp_path / 'runs' / 'mlflow.db'}"
    assert paths.reports("sweep-1") == Path("runs/reports/sweep-1")
    assert paths.suite() == Path("runs/suite")
    assert paths.cache() == tmp_path / "runs" / "cache"


def test_optbench_home_moves_every_folder(no_overrides, monkeypatch, tmp_path):
    home = tmp_path / "elsewhere"
    monkeypatch.setenv(paths.HOME_ENV, str(home))
    assert paths.store() == home / "mlflow.db"
    assert resolve_uri(None) == f"sqlite:///{home / 'mlflow.db'}"
    assert paths.reports() == home / "reports"
    assert paths.suite() == home / "suite"
    assert paths.cache() == home / "cache"


def test_the_narrower_settings_still_win(no_overrides, monkeypatch, tmp_path):
    monkeypatch.setenv(paths.HOME_ENV, str(tmp_path / "home"))
    monkeypatch.setenv(paths.CACHE_ENV, str(tmp_path / "cache"))
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'own.db'}")
    assert paths.cache() == tmp_path / "cache"
    assert resolve_uri(None) == f"sqlite:///{tmp_path / 'own.db'}"


def test_hydra_job_folders_follow_the_same_variable():
    config = (Path(__file__).resolve().parents[1] / "conf" / "config.yaml").read_text()
    assert f"dir: ${{oc.env:{paths.HOME_ENV},{paths.DEFAULT_HOME}}}/outputs/" in config
    assert f"dir: ${{oc.env:{paths.HOME_ENV},{paths.DEFAULT_HOME}}}/multirun/" in config
