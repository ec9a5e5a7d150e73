"""A real `mlflow server` as tracking URI, and the UI that `make ui` starts."""

import json
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import REPO, client, run_cli
from tests.servers import free_port, serving

pytestmark = pytest.mark.slow
MLFLOW = str(Path(sys.executable).with_name("mlflow"))


def test_runs_log_to_an_http_tracking_server(tmp_path):
    port = free_port()
    command = [
        MLFLOW,
        "server",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        "1",
        "--backend-store-uri",
        f"sqlite:///{tmp_path / 'server.db'}",
        "--artifacts-destination",
        str(tmp_path / "server-artifacts"),
    ]
    with serving(command, port) as url:
        done = run_cli(
            f"tracking.uri={url}", "trainer.max_iter=10", "trainer.progress=false", cwd=tmp_path
        )
        assert done.returncode == 0, done.stderr
        (run,) = client(url).search_runs(["1"])
        assert run.info.status == "FINISHED"
        assert len(client(url).get_metric_history(run.info.run_id, "train_loss")) == 10
        artifacts = {a.path for a in client(url).list_artifacts(run.info.run_id)}
        assert {"config.yaml", "loss_curve.png"} <= artifacts
    assert not (tmp_path / "runs" / "mlflow.db").exists()  # nothing went to the local store


def test_make_ui_serves_our_store_on_loopback(tmp_path):
    store = f"sqlite:///{tmp_path / 'runs' / 'mlflow.db'}"
    assert run_cli(f"tracking.uri={store}", "trainer.max_iter=5", cwd=tmp_path).returncode == 0
    dry = subprocess.run(["make", "-n", "ui"], cwd=REPO, capture_output=True, text=True)
    assert "--host 127.0.0.1" in dry.stdout
    port = free_port()
    with serving(
        ["make", "-s", "ui", f"PORT={port}", f"STORE={store}"], port, cwd=str(REPO)
    ) as url:
        request = urllib.request.Request(
            f"{url}/api/2.0/mlflow/runs/search",
            method="POST",
            data=json.dumps({"experiment_ids": ["1"]}).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            runs = json.load(response)["runs"]
    assert len(runs) == 1 and runs[0]["info"]["status"] == "FINISHED"
