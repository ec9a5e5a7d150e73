"""Every check a job's config can fail on its own, run before any work: for one run (the
runner), for each job of a sweep before the first one starts (``CheckEveryJob``, a Hydra
callback), and for each workload of the suite. A sweep with one impossible combination used
to launch every job and leave FAILED runs behind; now it is refused in one line."""

from __future__ import annotations

from typing import Any

from hydra.experimental.callback import Callback as HydraCallback

from optbench.errors import OptbenchError, Refused, grouped
from optbench.optim.rules import check as check_rules
from optbench.preflight import check_files
from optbench.schema import Config, validate

BASIC_SWEEPER = "hydra._internal.core_plugins.basic_sweeper.BasicSweeper"


def check_job(cfg: Any) -> Config:
    """The typed settings of ``cfg`` once the schema, the compatibility rules and the files
    it needs accept it; OptbenchError (one line) otherwise."""
    settings = validate(cfg)
    check_rules(settings)  # the rules first, then the files (all in one message),
    check_files(settings)  # before TensorFlow loads and any download
    return settings


def job_overrides(config: Any) -> list[list[str]]:
    """The override list of every job the basic sweeper will launch, in its order."""
    from hydra._internal.core_plugins.basic_sweeper import BasicSweeper
    from hydra.core.global_hydra import GlobalHydra
    from hydra.core.override_parser.overrides_parser import OverridesParser

    params = config.hydra.sweeper.get("params") or {}
    arguments = [f"{k}={v}" for k, v in params.items()] + list(config.hydra.overrides.task)
    parser = OverridesParser.create(config_loader=GlobalHydra.instance().config_loader())
    (jobs,) = BasicSweeper.split_arguments(parser.parse_overrides(arguments), None)
    return jobs


def refusals(config: Any) -> list[tuple[str, str]]:
    """('#i (overrides)', why) for each job of the sweep that cannot run."""
    from hydra.core.global_hydra import GlobalHydra
    from hydra.errors import HydraException
    from omegaconf import open_dict
    from omegaconf.errors import OmegaConfBaseException

    from optbench.schema.hydra_errors import explain

    loader = GlobalHydra.instance().config_loader()
    found = []
    for number, overrides in enumerate(job_overrides(config)):
        try:
            job = loader.load_sweep_config(config, list(overrides))
            with open_dict(job):
                del job["hydra"]  # as Hydra hands a job its config
            check_job(job)
        except OptbenchError as exc:
            found.append((f"#{number} ({' '.join(overrides)})", str(exc)))
        except (HydraException, OmegaConfBaseException) as exc:
            found.append((f"#{number} ({' '.join(overrides)})", explain(exc)))
    return found


class CheckEveryJob(HydraCallback):
    """Hydra callback, listed before the sweep's tracking: compose and check every job of a
    basic-sweeper sweep (joblib, Ray and SLURM launchers use it) before the parent run opens.
    A tuning sweeper's jobs are not known up front; each is checked when it runs."""

    def on_multirun_start(self, config: Any, **kwargs: Any) -> None:
        if config.hydra.sweeper.get("_target_") != BASIC_SWEEPER:
            return
        bad = refusals(config)
        if bad:
            total = len(job_overrides(config))
            raise Refused(f"{len(bad)} of {total} jobs cannot run, so none started: {grouped(bad)}")
