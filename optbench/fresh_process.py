"""A sweep job that cannot run in the process Hydra gave it, run in a fresh Python process.

Keras picks its backend once per process, when it is imported. A sweep over
``hardware.backend`` would otherwise have a job ask for JAX in a process (the basic launcher's,
or a reused joblib/Ray worker) where Keras already runs on TensorFlow. Such a job starts
``python -m optbench`` with the same config sources and overrides, as a job of the same sweep
(the environment names the sweep, tracking.env), and hands its objective back through a file;
its output and its MLflow child run are those of any other job."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from optbench.tracking.env import ENV_JOB_NUM, ENV_JOB_RESULT


def needs_fresh_process(cfg: Any) -> bool:
    """Whether this job's Keras backend differs from the one loaded in this process."""
    from optbench.hardware import loaded_backend
    from optbench.trainers.base import framework_of

    loaded = loaded_backend()
    if loaded is None or framework_of(cfg) == "sklearn":
        return False
    return loaded != cfg.hardware.backend


def run_in_fresh_process(hydra: Any) -> float:
    """Run the job ``hydra`` (HydraConfig.get()) describes in a child process; its objective."""
    args = [sys.executable, "-m", "optbench"]
    for source in hydra.runtime.config_sources:
        if source.provider == "command-line" and source.schema == "file":
            args += ["--config-dir", source.path]
    args += ["--config-name", hydra.job.config_name, *hydra.overrides.task]
    args += [f"hydra.run.dir={hydra.runtime.output_dir}", "hydra.output_subdir=null"]
    with tempfile.TemporaryDirectory() as tmp:
        result = Path(tmp) / "objective.json"
        env = {k: v for k, v in os.environ.items() if k != "KERAS_BACKEND"}  # this one's
        env.update({ENV_JOB_NUM: str(hydra.job.num), ENV_JOB_RESULT: str(result)})
        subprocess.run(args, env=env, check=False)
        return json.loads(result.read_text()) if result.exists() else math.nan


def job_number(hydra: Any) -> int:
    """The job's number in its sweep, also when it runs in a fresh process (a single run,
    to Hydra)."""
    number = os.environ.get(ENV_JOB_NUM)
    return int(number) if number is not None else hydra.job.num


def in_fresh_process() -> bool:
    return bool(os.environ.get(ENV_JOB_RESULT))


def hand_back(objective: float) -> None:
    """Write the objective where the sweep job that started this process reads it."""
    Path(os.environ[ENV_JOB_RESULT]).write_text(json.dumps(objective))
