"""The suite's own settings (``suite.*`` on its command line) and the composing of one
workload's config; every other override goes to every run."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from optbench.errors import OptbenchError, grouped
from optbench.suite import workloads as wl
from optbench.suite.tuning import Tuning

RULESETS = ("self_tuning", "external_tuning")
BASELINE_MODES = ("shipped", "rerun")
SETTINGS = ("seeds", "workloads", "ruleset", "trials", "search", "baselines")


def split_settings(argv: list[str]) -> tuple[dict[str, str], list[str]]:
    """suite.* settings apart from the overrides for every run."""
    ours = {
        a.split("=", 1)[0].removeprefix("suite."): a.split("=", 1)[1]
        for a in argv
        if a.startswith("suite.") and "=" in a
    }
    return ours, [a for a in argv if not a.startswith("suite.")]


@dataclass(frozen=True)
class Settings:
    seeds: int  # self-tuning: seeds; external tuning: studies, each with its own seed
    names: list[str]
    ruleset: str
    tuning: Tuning
    baselines: str


def _count(ours: dict[str, str], key: str, default: int) -> int:
    try:
        value = int(ours.get(key, str(default)))
    except ValueError:
        value = 0
    if value < 1:
        raise OptbenchError(f"suite.{key}={ours[key]!r} is not allowed: must be an integer >= 1.")
    return value


def _one_of(ours: dict[str, str], key: str, allowed: tuple[str, ...]) -> str:
    value = ours.get(key, allowed[0])
    if value not in allowed:
        raise OptbenchError(
            f"suite.{key}={value!r} is not allowed: must be one of {', '.join(allowed)}."
        )
    return value


def parse_settings(ours: dict[str, str]) -> Settings:
    unknown = set(ours) - set(SETTINGS)
    if unknown:
        key = sorted(unknown)[0]
        raise OptbenchError(f"suite.{key} is not a suite setting; it takes: {', '.join(SETTINGS)}.")
    known = wl.names()
    chosen = [n.strip() for n in ours.get("workloads", "").strip("[]").split(",") if n.strip()]
    for name in chosen:
        if name not in known:
            raise OptbenchError(
                f"suite.workloads: {name!r} is not a workload; known: {', '.join(known)}."
            )
    tuning = Tuning(_count(ours, "trials", 5), ours.get("search", "lr"))
    return Settings(
        _count(ours, "seeds", 3),
        chosen or known,
        _one_of(ours, "ruleset", RULESETS),
        tuning,
        _one_of(ours, "baselines", BASELINE_MODES),
    )


def compose(name: str, overrides: list[str], config_dir: str | None) -> Any:
    """Workload ``name``'s config with ``overrides``; Hydra's refusal as one line."""
    from hydra import compose, initialize_config_module
    from hydra.errors import HydraException
    from omegaconf.errors import OmegaConfBaseException

    from optbench.schema import register_configs
    from optbench.schema.hydra_errors import explain

    extra = [f"hydra.searchpath=[file://{config_dir}]"] if config_dir else []
    register_configs()  # the schemas the workload YAMLs extend (idempotent)
    with initialize_config_module("optbench.conf", version_base="1.3"):
        try:
            return compose("config", overrides=[f"+workload={name}", *extra, *overrides])
        except (HydraException, OmegaConfBaseException) as exc:
            raise OptbenchError(explain(exc)) from None


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
