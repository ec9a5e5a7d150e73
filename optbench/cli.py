"""The `optbench` command: Hydra composes conf/, the runner does the job.

Hydra, the schemas and the tracking package are imported only once a run or sweep is under
way: ``optbench --help``, ``--version`` and the subcommands start without them."""

from __future__ import annotations

import functools
import importlib
import logging
import os
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from optbench import tags as tag
from optbench.errors import USER_ERROR_EXIT, OptbenchError, Refused
from optbench.signals import TERMINATED_EXIT, Terminated, sigterm_interrupts

if TYPE_CHECKING:
    from optbench.report.sweep import SweepReport
    from optbench.tracking import ClosedSweep, OpenSweep

# optbench <name> ...: the module whose main(argv) -> exit code runs it
SUBCOMMANDS = {
    "suite": "optbench.suite.cli",
    "report": "optbench.report.cli",
    "reproduce": "optbench.reproduce",
    "ui": "optbench.tracking.server",
}
COMPOSING = ("suite", "reproduce")  # subcommands that compose configs in this process
_job_started = False  # set once Hydra has composed a config and handed it to a job


def _task(cfg: Any) -> float:
    """Hydra's task function: one job (launchers call it with the job's composed config)."""
    global _job_started
    _job_started = True
    from optbench.runner import run_job

    return run_job(cfg)


@functools.cache
def _register() -> None:
    """optbench's schemas and its tuning sweeper (the plugin's class and its config,
    hydra/sweeper=optbench_tune), for whatever composes next in this process."""
    from hydra.core.plugins import Plugins

    from hydra_plugins.optbench_tune import TuneSweeper
    from optbench.schema import register_configs

    register_configs()
    # Hydra finds plugins by listing the hydra_plugins package, which misses ours under an
    # editable install (setuptools serves it through an import hook): registered by name
    Plugins.instance().register(TuneSweeper)


@functools.cache
def _hydra_entry() -> Callable[[], Any]:
    """``_task`` under @hydra.main, with optbench's schemas and tuning sweeper registered."""
    import hydra

    _register()
    return hydra.main(version_base="1.3", config_path="pkg://optbench.conf", config_name="config")(
        _task
    )


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("optbench")
    except PackageNotFoundError:  # run from a checkout without an install
        return "unknown (not installed)"


def _hydra_arguments(argv: list[str]) -> list[str]:
    """``--cfg job`` prints the config resolved, as the README says (Hydra's own default
    shows ``${...}`` interpolations unless ``--resolve`` is given)."""
    if any(a in ("--cfg", "-c") or a.startswith("--cfg=") for a in argv) and (
        "--resolve" not in argv
    ):
        return [*argv, "--resolve"]
    return argv


def _run_hydra(argv: list[str]) -> None:
    """Hydra's entry with its composition errors raised to us (HYDRA_FULL_ERROR, which Hydra
    reads when an error happens) rather than printed over many lines; a user who set
    HYDRA_FULL_ERROR gets Hydra's whole trace as before."""
    from hydra.errors import HydraException
    from omegaconf.errors import OmegaConfBaseException

    global _job_started
    _job_started = False
    own_trace = os.environ.get("HYDRA_FULL_ERROR") == "1"
    os.environ["HYDRA_FULL_ERROR"] = "1"
    sys.argv[1:] = argv
    try:
        _hydra_entry()()
    except (HydraException, OmegaConfBaseException) as exc:
        if own_trace or _job_started:  # a job's own error: a bug keeps its traceback
            raise
        from optbench.schema.hydra_errors import explain

        raise Refused(explain(exc)) from None
    finally:
        if not own_trace:
            os.environ.pop("HYDRA_FULL_ERROR", None)


def main() -> None:
    """Run one job or a sweep (-m); close the sweep however it ends, then report on it.
    ``optbench report ...`` builds the comparison report instead, ``optbench reproduce
    RUN_ID`` re-runs a stored run, ``optbench suite`` scores an optimizer on the workloads,
    ``optbench ui`` serves the MLflow UI on the results (SUBCOMMANDS)."""
    argv = sys.argv[1:]
    if argv[:1] and argv[0] in SUBCOMMANDS:
        if argv[0] in COMPOSING:
            _register()
        sys.exit(importlib.import_module(SUBCOMMANDS[argv[0]]).main(argv[1:]))
    if argv in (["--version"], ["-V"]):
        print(f"optbench {_version()}")
        sys.exit(0)
    if argv in (["--help"], ["-h"]):  # from the conf/ folder; with overrides, Hydra's own
        from optbench.help import print_help

        sys.exit(print_help())
    from optbench.schema import check_overrides
    from optbench.tracking import open_sweep

    try:
        check_overrides(argv)  # one line, not Hydra's 'not in struct' error or a merge
    except OptbenchError as exc:
        from optbench import console

        console.print_error(str(exc))
        sys.exit(USER_ERROR_EXIT)
    inherited = open_sweep()  # a parent run our caller's environment names is not ours to close
    try:
        with sigterm_interrupts():  # preempted (SLURM, Ray, kill): close runs as on Ctrl-C
            _run_hydra(_hydra_arguments(sys.argv[1:]))
    except KeyboardInterrupt as stop:
        _end_sweep(inherited, "KILLED")
        sys.exit(TERMINATED_EXIT if isinstance(stop, Terminated) else 130)
    except Refused as exc:  # before any job started: no sweep to close
        from optbench import console

        console.print_error(exc.message)
        sys.exit(USER_ERROR_EXIT)
    except BrokenPipeError:  # `optbench --help | head`: the reader left, nothing is lost
        sys.stderr.close()
        os._exit(0)
    except BaseException:
        _end_sweep(inherited, "FAILED")  # the sweep stopped early (Hydra, the sweeper, a bug)
        raise
    ended = _end_sweep(inherited, "FINISHED")
    exit_code = 0
    if ended is not None:
        from optbench import console

        sweep, report = ended
        console.print_sweep_summary(sweep, report)
        if sweep.failed:
            user_only = all(c.data.tags.get(tag.ERROR_TYPE) == "user" for c in sweep.failed)
            exit_code = USER_ERROR_EXIT if user_only else 1
    _fast_exit(exit_code)


def _end_sweep(inherited: OpenSweep | None, status: str) -> tuple[ClosedSweep, SweepReport] | None:
    """Close the sweep this command opened (None for a single run), then draw its report.

    The sweep callback names the open sweep in this process's environment for its jobs; that
    is how the CLI finds it here, with no state kept elsewhere."""
    from optbench.tracking import close_sweep, open_sweep

    sweep = open_sweep()
    if sweep is None or sweep == inherited:
        return None
    from optbench.report.sweep import report_sweep

    closed = close_sweep(sweep, status)
    return closed, report_sweep(closed)


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
