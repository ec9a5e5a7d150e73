"""The `optbench` command: Hydra composes conf/, the runner does the job."""

from __future__ import annotations

import logging
import os
import sys

import hydra
from omegaconf import DictConfig

from optbench.errors import USER_ERROR_EXIT
from optbench.schema import register_configs
from optbench.tracking import SweepTracking, close_sweep
from optbench.tune import register as register_tuning

register_configs()
register_tuning()


@hydra.main(version_base="1.3", config_path="pkg://optbench.conf", config_name="config")
def _hydra_entry(cfg: DictConfig) -> float:
    from optbench.runner import run_job

    return run_job(cfg)


def main() -> None:
    """Run one job or a sweep (-m); close any sweep left open by an error or Ctrl-C.
    ``optbench report ...`` builds the comparison report instead, ``optbench reproduce
    RUN_ID`` re-runs a stored run."""
    if sys.argv[1:2] == ["report"]:
        from optbench.report.cli import main as report

        sys.exit(report(sys.argv[2:]))
    if sys.argv[1:2] == ["reproduce"]:
        from optbench.reproduce import main as reproduce

        sys.exit(reproduce(sys.argv[2:]))
    try:
        _hydra_entry()
    except KeyboardInterrupt:
        close_sweep("KILLED")
        sys.exit(130)
    finally:
        close_sweep("FAILED")  # no-op unless the sweep ended before on_multirun_end
    summary = SweepTracking.last_summary
    exit_code = 0
    if summary is not None:
        from optbench import console

        console.print_sweep_summary(summary)
        if summary["failed"]:
            user_only = all(
                c.data.tags.get("optbench.error_type") == "user" for c in summary["failed"]
            )
            exit_code = USER_ERROR_EXIT if user_only else 1
    _fast_exit(exit_code)


def _fast_exit(code: int) -> None:
    """Everything is written and closed: skip tearing down the scientific stack (~0.3 s)."""
    if "joblib" in sys.modules:  # the joblib launcher's worker pool: stop it cleanly first
        from joblib.externals.loky import get_reusable_executor

        get_reusable_executor().shutdown(wait=True)
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    main()
