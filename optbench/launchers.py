"""What the Hydra launcher running this job gives it. A pool worker (joblib's loky, Ray) runs
job after job in one process, and owns a share of the machine's cores: its BLAS and TensorFlow
thread pools are sized to that share so that parallel jobs do not oversubscribe the CPU."""

from __future__ import annotations

import os
import sys


def _launcher_target() -> str:
    from hydra.core.hydra_config import HydraConfig

    if not HydraConfig.initialized():
        return ""
    return str(HydraConfig.get().launcher.get("_target_", ""))


def joblib_workers() -> int | None:
    """The joblib launcher's n_jobs when this job runs in one of its workers, else None."""
    if "joblib" not in _launcher_target():
        return None
    from hydra.core.hydra_config import HydraConfig

    return HydraConfig.get().launcher.get("n_jobs")


def in_ray_worker() -> bool:
    return "ray" in _launcher_target().lower() and "ray" in sys.modules


def in_pool_worker() -> bool:
    """Whether this process runs one job after another (its imports stay warm)."""
    return joblib_workers() is not None or in_ray_worker()


def cpu_share() -> int | None:
    """Threads this job may use: its SLURM allocation, the CPUs Ray assigned to the task, or
    the cores divided by the joblib launcher's workers; None otherwise (all cores)."""
    if "submitit" in _launcher_target() and os.environ.get("SLURM_CPUS_PER_TASK"):
        return int(os.environ["SLURM_CPUS_PER_TASK"])
    if in_ray_worker():
        import ray

        cpus = ray.get_runtime_context().get_assigned_resources().get("CPU", 1.0)
        return max(1, int(cpus))
    n_jobs = joblib_workers()
    if not n_jobs:
        return None
    cores = os.cpu_count() or 1
    workers = cores if n_jobs < 0 else min(n_jobs, cores)
    return max(1, cores // workers)
