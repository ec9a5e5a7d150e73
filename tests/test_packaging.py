"""The built wheel carries conf/ and runs from anywhere, without the source tree."""

import subprocess
import sys

import pytest

from tests.conftest import REPO, client, run_cli

pytestmark = pytest.mark.slow


def test_wheel_finds_its_configs_outside_the_repo(tmp_path):
    wheels, target = tmp_path / "wheels", tmp_path / "site"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(wheels),
            str(REPO),
        ],
        check=True,
    )
    (wheel,) = wheels.glob("optbench-*.whl")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--no-deps",
            "-q",
            "--target",
            str(target),
            str(wheel),
        ],
        check=True,
    )
    env = {"PYTHONPATH": str(target)}
    where = subprocess.run(
        [sys.executable, "-c", "import optbench; print(optbench.__file__)"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert where.stdout.startswith(str(target))
    assert (target / "optbench" / "conf" / "optimizer" / "saga.yaml").is_file()
    done = run_cli(
        "model=mlp_sklearn", "optimizer=adam", "trainer.max_iter=5", cwd=tmp_path, env=env
    )
    assert done.returncode == 0, done.stderr
    (run,) = client(f"sqlite:///{tmp_path / 'runs' / 'mlflow.db'}").search_runs(["1"])
    assert run.data.params["model.name"] == "mlp_sklearn"
