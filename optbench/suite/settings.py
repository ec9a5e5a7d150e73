"""The suite's own settings (``suite.*`` on its command line) and the composing of one
workload's config; every other override goes to every run."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from optbench.errors import OptbenchError, grouped
from optbench.suite import workloads as wl
from optbench.suite.tuning import Tuning


def split_settings(argv: list[str]) -> tuple[list[str], list[str]]:
    """The suite.* overrides apart from the overrides for every run."""
    ours = [a for a in argv if a.lstrip("+~").startswith("suite.")]
    return ours, [a for a in argv if a not in ours]


@dataclass(frozen=True)
class Settings:
    seeds: list[int]  # self-tuning: the seeds; external tuning: the studies' seeds
    names: list[str]
    ruleset: str
    tuning: Tuning
    baselines: str


def settings_config(ours: list[str], config_dir: str | None = None) -> Any:
    """conf/suite_settings.yaml composed with the suite.* overrides, as Hydra composes any
    group: its schema (optbench/schema/suite.py) checks types and keys, one line on refusal."""
    import dataclasses

    from hydra import compose as hydra_compose
    from hydra import initialize_config_module
    from hydra.errors import HydraException
    from omegaconf.errors import OmegaConfBaseException

    from optbench.schema import register_configs
    from optbench.schema.hydra_errors import explain
    from optbench.schema.suite import SuiteConfig

    known = [f.name for f in dataclasses.fields(SuiteConfig)]
    for override in ours:
        key = override.lstrip("+~").split("=", 1)[0].removeprefix("suite.")
        if key.split(".")[0] not in known:
            raise OptbenchError(
                f"suite.{key} is not a suite setting; it takes: {', '.join(known)}."
            )
    extra = [f"hydra.searchpath=[file://{config_dir}]"] if config_dir else []
    register_configs()
    with initialize_config_module("optbench.conf", version_base="1.3"):
        try:
            return hydra_compose("suite_settings", overrides=[*extra, *ours])
        except (HydraException, OmegaConfBaseException) as exc:
            raise OptbenchError(explain(exc)) from None


def parse_settings(ours: list[str], config_dir: str | None = None) -> Settings:
    return settings_from(settings_config(ours, config_dir))


def settings_from(composed: Any) -> Settings:
    """The settings a composed conf/suite_settings.yaml gives, its ranges checked."""
    from omegaconf import OmegaConf

    from optbench.constraints import check_dataclass

    suite = OmegaConf.to_object(composed.suite)
    check_dataclass(suite, "suite.")
    known = wl.names()
    for name in suite.workloads or []:
        if name not in known:
            raise OptbenchError(
                f"suite.workloads: {name!r} is not a workload; known: {', '.join(known)}."
            )
    return Settings(
        list(range(suite.first_seed, suite.first_seed + suite.seeds)),
        list(suite.workloads or wl.scored()),
        suite.ruleset,
        Tuning(suite.trials, suite.search),
        suite.baselines,
    )


def compose(name: str, overrides: list[str], config_dir: str | None) -> Any:
    """Workload ``name``'s config with ``overrides``; Hydra's refusal as one line. Without
    the dataset's per-optimizer learning rates (``dataset.lr``, for ordinary runs): in the
    suite an optimizer runs the same settings on every workload, its defaults or the ones
    its command line declares once (AlgoPerf's self-tuning rule)."""
    from hydra import compose, initialize_config_module
    from hydra.errors import HydraException
    from omegaconf.errors import OmegaConfBaseException

    from optbench.schema import register_configs
    from optbench.schema.hydra_errors import explain

    extra = [f"hydra.searchpath=[file://{config_dir}]"] if config_dir else []
    register_configs()  # the schemas the workload YAMLs extend (idempotent)
    with initialize_config_module("optbench.conf", version_base="1.3"):
        try:
            cfg = compose("config", overrides=[f"+workload={name}", *extra, *overrides])
        except (HydraException, OmegaConfBaseException) as exc:
            raise OptbenchError(explain(exc)) from None
    return without_workload_settings(cfg)


def without_workload_settings(cfg: Any) -> Any:
    """``cfg`` with the dataset's learning-rate table emptied, so that an optimizer's
    ``lr: ${oc.select:dataset.lr.<name>,default}`` falls back to its own default."""
    if "lr" in cfg.dataset:
        cfg.dataset.lr = {}
    return cfg


def composed_workloads(
    names: list[str], overrides: list[str], config_dir: str | None
) -> dict[str, tuple[Any, wl.Workload]]:
    """Every workload's config composed and checked once, before any run starts, as a single
    run checks its own: a bad override, a missing data file or a wrong backbone file stops
    the suite in one line before its first workload (missing data must never score as a
    weaker optimizer)."""
    from optbench.job_check import check_job

    composed, refused = {}, []
    for name in names:
        cfg = compose(name, overrides, config_dir)
        try:
            check_job(cfg)
            wl.check_pinned(name, cfg)
        except OptbenchError as exc:
            refused.append((name, str(exc)))
            continue
        composed[name] = (cfg, wl.of_config(name, cfg))
    if refused:
        raise OptbenchError(
            f"{len(refused)} of {len(names)} workloads cannot run, so none started "
            f"(suite.workloads=[...] picks others): {grouped(refused)}"
        )
    return composed


def check_search(settings: Settings, overrides: list[str], config_dir: str | None) -> None:
    """Under external tuning, suite.search must name an hparams_search option."""
    if settings.ruleset != "external_tuning":
        return
    try:
        compose(settings.names[0], [*overrides, f"hparams_search={settings.tuning.search}"],
                config_dir)  # fmt: skip
    except OptbenchError as exc:
        raise OptbenchError(f"suite.search={settings.tuning.search!r}: {exc}") from None
