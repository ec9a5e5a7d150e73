"""A real `mlflow server` as the tracking URI of a Ray sweep, and the UI that `make ui` starts."""

import json
import subprocess
import urllib.request

import pytest

from tests.conftest import REPO, client, run_cli
from tests.servers import LOOPBACK, free_port, mlflow_server, serving

pytestmark = pytest.mark.slow


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
        with LOOPBACK.open(request, timeout=10) as response:
            runs = json.load(response)["runs"]
    assert len(runs) == 1 and runs[0]["info"]["status"] == "FINISHED"


def test_ray_launcher_sweeps_into_an_mlflow_server(tmp_path):
    """hydra/launcher=ray on a local Ray instance (2 CPUs), logging to a real `mlflow server`:
    4 FINISHED children under one parent, each job in a Ray worker with its one CPU."""
    with mlflow_server(tmp_path) as url:
        done = run_cli(
            "-m",
            "hydra/launcher=ray",
            "+hydra.launcher.ray.init.num_cpus=2",
            "+hydra.launcher.ray.init.include_dashboard=false",
            f"tracking.uri={url}",
            "optimizer=saga,lbfgs",
            "seed=0,1",
            "trainer.max_iter=5",
            "trainer.progress=false",
            cwd=tmp_path,
            env={"RAY_USAGE_STATS_ENABLED": "0"},
        )
        assert done.returncode == 0, done.stderr[-3000:]
        assert "Ray Launcher is launching 4 jobs" in done.stderr + done.stdout
        runs = client(url).search_runs(["1"])
        (parent,) = [r for r in runs if r.data.tags.get("optbench.role") == "sweep"]
        children = [r for r in runs if r is not parent]
        assert parent.info.status == "FINISHED" and len(children) == 4
        assert {(c.data.params["optimizer.name"], c.data.params["seed"]) for c in children} == {
            (o, str(s)) for o in ("saga", "lbfgs") for s in (0, 1)
        }
        for child in children:
            assert child.info.status == "FINISHED"
            assert child.data.tags["mlflow.parentRunId"] == parent.info.run_id
            assert child.data.tags["optbench.threads"] == "1"  # Ray's num_cpus=1 per task
            artifacts = {a.path for a in client(url).list_artifacts(child.info.run_id)}
            assert {"config.yaml", "loss_curve.png"} <= artifacts
            steps = [
                m.step for m in client(url).get_metric_history(child.info.run_id, "train_loss")
            ]
            assert steps == list(range(1, len(steps) + 1)) and 1 <= len(steps) <= 5
        assert "report" in {a.path for a in client(url).list_artifacts(parent.info.run_id)}
    assert not (tmp_path / "runs" / "mlflow.db").exists()
