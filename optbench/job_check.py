"""Every check a job's config can fail on its own, run before any work: for one run (the
runner), for each job of a sweep before the first one starts (``CheckEveryJob``, a Hydra
callback), and for each workload of the suite. A sweep with one impossible combination used
to launch every job and leave FAILED runs behind; now it is refused in one line."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from hydra.experimental.callback import Callback as HydraCallback

from optbench.compat import check as check_rules
from optbench.errors import OptbenchError, Refused, grouped
from optbench.preflight import check_files
from optbench.schema import Config, validate

BASIC_SWEEPER = "hydra._internal.core_plugins.basic_sweeper.BasicSweeper"


def check_job(cfg: Any, overrides: Sequence[str] = ()) -> Config:
    """The typed settings of ``cfg`` once the schema, the compatibility rules and the files
    it needs accept it; OptbenchError (one line) otherwise. ``overrides``: those typed on the
    command line, which the offline command of a missing-files error keeps."""
    settings = validate(cfg)
    check_rules(settings)  # the rules first, then the files (all in one message),
    check_files(settings, overrides)  # before TensorFlow loads and any download
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


def job_configs(config: Any, jobs: list[list[str]]) -> Iterator[tuple[list[str], Any]]:
    """(overrides, composed config or the composition error) for each of the sweep's
    ``jobs`` (job_overrides).

    Composing one job takes ~0.1 s (Hydra reads its defaults tree), so a config is composed
    once per combination of config-group choices (optimizer=adam, model=mlp, ...) and each
    job's plain values (seed=3, optimizer.lr=0.1) are applied to a copy of it, as Hydra applies
    them after the defaults tree: a 50-job sweep over 5 optimizers x 10 seeds composes 5."""
    import copy

    from hydra._internal.config_loader_impl import ConfigLoaderImpl
    from hydra.core.global_hydra import GlobalHydra
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.errors import HydraException
    from omegaconf import OmegaConf, open_dict
    from omegaconf.errors import OmegaConfBaseException

    loader = GlobalHydra.instance().config_loader()
    parser = OverridesParser.create(config_loader=loader)
    repository = loader.repository  # type: ignore[attr-defined]
    composed: dict[tuple[str, ...], Any] = {}
    for overrides in jobs:
        parsed = parser.parse_overrides(list(overrides))
        choices = tuple(o.input_line for o in parsed if repository.group_exists(o.key_or_group))
        values = [o for o in parsed if not repository.group_exists(o.key_or_group)]
        try:
            if choices not in composed:
                base = loader.load_sweep_config(config, list(choices))
                with open_dict(base):
                    del base["hydra"]  # as Hydra hands a job its config
                composed[choices] = base
            job = copy.deepcopy(composed[choices])
            OmegaConf.set_struct(job, True)
            ConfigLoaderImpl._apply_overrides_to_config(values, job)
        except (HydraException, OmegaConfBaseException) as exc:
            yield overrides, exc
            continue
        yield overrides, job


def refusals(config: Any, jobs: list[list[str]]) -> list[tuple[str, str]]:
    """('#i (overrides)', why) for each of ``jobs`` that cannot run."""
    from optbench.schema.hydra_errors import explain

    found = []
    for number, (overrides, job) in enumerate(job_configs(config, jobs)):
        what = f"#{number} ({' '.join(overrides)})"
        if isinstance(job, Exception):
            found.append((what, explain(job)))
            continue
        try:
            check_job(job, overrides)
        except OptbenchError as exc:
            found.append((what, str(exc)))
    return found


class CheckEveryJob(HydraCallback):
    """Hydra callback, listed before the sweep's tracking: compose and check every job of a
    basic-sweeper sweep (joblib, Ray and SLURM launchers use it) before the parent run opens.
    A tuning sweeper's jobs are not known up front; each is checked when it runs."""

    def on_multirun_start(self, config: Any, **kwargs: Any) -> None:
        if config.hydra.sweeper.get("_target_") != BASIC_SWEEPER:
            return
        jobs = job_overrides(config)
        bad = refusals(config, jobs)
        if bad:
            raise Refused(
                f"{len(bad)} of {len(jobs)} jobs cannot run, so none started: {grouped(bad)}"
            )
