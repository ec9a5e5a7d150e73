"""Test-only (tests/fault_job.py puts this folder on PYTHONPATH): every Python process that
`python -m tests.fault_job` starts, a joblib worker or a fresh process for another Keras
backend, wraps the same functions, so that a job there reaches the fault's moment too."""

import os

if os.environ.get("OPTBENCH_FAULT"):
    from tests.fault_job import install

    install()
