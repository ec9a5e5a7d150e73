"""`optbench reproduce RUN_ID` through the real CLI: the override list and environment are
logged, the run is re-composed and re-run, and the final metrics agree to float noise."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from optbench.reproduce import compare
from tests.conftest import client, run_cli


def _run_id(stdout: str) -> str:
    return re.search(r"\(run ([0-9a-f]{32})", stdout).group(1)


@pytest.mark.slow
@pytest.mark.parametrize(
    "overrides",
    [
        ("optimizer=saga", "seed=3", "trainer.max_iter=20"),
        (
            "model=mlp",
            "dataset=digits",
            "optimizer=adam",
            "trainer.max_iter=2",
            "hardware.deterministic=true",
        ),
    ],
    ids=["sklearn", "keras-deterministic"],
)
def test_reproduce_reruns_and_matches(tmp_path, overrides):
    uri = f"sqlite:///{tmp_path / 'm.db'}"
    first = run_cli(*overrides, f"tracking.uri={uri}", cwd=tmp_path)
    assert first.returncode == 0, first.stderr[-2000:]
    run_id = _run_id(first.stdout)
    mlflow = client(uri)
    tags = mlflow.get_run(run_id).data.tags
    assert all(o in tags["optbench.overrides"] for o in overrides)
    requirements = mlflow.download_artifacts(run_id, "environment/requirements.txt", str(tmp_path))
    text = Path(requirements).read_text()
    assert re.search(r"^scikit-learn==\d", text, re.M) and re.search(r"^mlflow==\d", text, re.M)

    again = run_cli("reproduce", run_id, "--uri", uri, cwd=tmp_path)
    assert again.returncode == 0, again.stdout[-3000:] + again.stderr[-2000:]
    assert "DIFFERENT" not in again.stdout and "warning" not in again.stdout
    (copy,) = mlflow.search_runs(
        [mlflow.get_run(run_id).info.experiment_id],
        filter_string=f"tags.`optbench.reproduces` = '{run_id}'",
    )
    a, b = mlflow.get_run(run_id).data.metrics, copy.data.metrics
    for key in ("test_accuracy", "test_loss", "val_loss", "train_loss"):
        assert b[key] == pytest.approx(a[key], rel=1e-6, abs=1e-9), key


def test_compare_separates_results_from_timings_and_unknown_runs(tmp_path, optbench_main):
    rows = compare(
        {"test_loss": 0.5, "fit_time_s": 1.0, "val_accuracy": 0.9},
        {"test_loss": 0.5 + 1e-9, "fit_time_s": 2.0, "val_accuracy": 0.8},
    )
    verdicts = {r[0]: r[-1] for r in rows}
    assert verdicts == {"test_loss": "same", "fit_time_s": "timing", "val_accuracy": "DIFFERENT"}
    uri = f"sqlite:///{tmp_path / 'm.db'}"
    proc = optbench_main("reproduce", "0" * 32, "--uri", uri, cwd=tmp_path)
    assert proc.returncode == 2 and "no run 000" in proc.stderr
