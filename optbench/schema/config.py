"""The whole run's schema (conf/config.yaml), its registration in Hydra's ConfigStore, and
``validate``: Hydra checks types and unknown keys when it composes; ``validate`` then checks
ranges and cross-field rules before any work starts."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from hydra.core.config_store import ConfigStore
from omegaconf import MISSING, DictConfig, OmegaConf
from omegaconf.errors import InterpolationResolutionError, MissingMandatoryValue

from optbench.constraints import Interval, OneOf, check_dataclass, constrained
from optbench.errors import OptbenchError
from optbench.schema import dataset, hardware, model, optimizer, schedule, suite
from optbench.schema.renamed import refuse_renamed
from optbench.schema.trainer import TrackingConfig, TrainerConfig

# steps_to_target / steps_to_tolerance (inf when not reached): what the suite's
# external-tuning ruleset minimises, the fastest trial to the target counting (AlgoPerf's way)
OBJECTIVES = ("val_loss", "val_accuracy", "train_loss", "train_accuracy", "steps_to_target",
              "steps_to_tolerance")  # fmt: skip


@dataclass
class Config:
    dataset: Any = MISSING
    model: Any = MISSING
    optimizer: Any = MISSING
    schedule: Any = MISSING
    hardware: Any = MISSING
    seed: int = constrained(0, Interval(0, 2**32 - 1, integer=True))
    # the final metric a job returns to sweepers (hparams_search ranks trials by it); a run
    # without a validation set falls back to the train_ one
    objective: str = constrained("val_loss", OneOf(OBJECTIVES))
    experiment_name: str = "optbench"
    run_name: str | None = None
    trainer: TrainerConfig = field(default_factory=TrainerConfig)
    tracking: TrackingConfig = field(default_factory=TrackingConfig)


# per group, the schemas its YAML files extend (``/schema/<group>/<name>@_here_``)
SCHEMAS: dict[str, dict[str, type]] = {
    "dataset": dataset.SCHEMAS,
    "model": model.SCHEMAS,
    "optimizer": optimizer.SCHEMAS,
    "schedule": schedule.SCHEMAS,
    "hardware": hardware.SCHEMAS,
}


def register_configs() -> None:
    """Store the top-level schema and each group's schemas for the YAML files to extend."""
    cs = ConfigStore.instance()
    cs.store(name="optbench_schema", node=Config)
    cs.store(name="suite_settings_schema", node=suite.SuiteSettingsConfig)
    cs.store(group="schema/suite", name="suite", node=suite.SuiteConfig)
    suite.register_resolver()  # workloads read their targets and budgets: ${suite:budget,NAME}
    for group, schemas in SCHEMAS.items():
        for name, node in schemas.items():
            cs.store(group=f"schema/{group}", name=name, node=node)


def _reject_unknown_keys(node: DictConfig, prefix: str = "") -> None:
    """``+group.key=...`` force-adds keys that ``to_object`` would silently drop: refuse them."""
    schema = OmegaConf.get_type(node)
    if dataclasses.is_dataclass(schema):
        known = [f.name for f in dataclasses.fields(schema)]
        unknown = [k for k in node if k not in known]
        if unknown:
            refuse_renamed(f"{prefix}{unknown[0]}")
            raise OptbenchError(
                f"{prefix}{unknown[0]} is not a known key here; {prefix.rstrip('.') or 'the top level'}"
                f" accepts: {', '.join(known)}."
            )
    for key in node:
        child = node._get_node(key)
        if isinstance(child, DictConfig):
            _reject_unknown_keys(child, f"{prefix}{key}.")


# what a value left at ??? is for, with an example (the key is named in the message)
MANDATORY_EXAMPLES = {
    "optimizer.target": "optimizer=custom needs the class to train with: "
    "optimizer.target=my_optimizers:SignDescent (module:Class, importable from the working "
    "directory or PYTHONPATH)",
}


def _missing_value(key: str) -> str:
    example = MANDATORY_EXAMPLES.get(key, f"set it on the command line: {key}=...")
    return f"{key} is required and was not given; {example}."


def validate(cfg: DictConfig) -> Config:
    """Turn the composed config into typed dataclasses and check every constraint."""
    _reject_unknown_keys(cfg)
    try:
        obj = OmegaConf.to_object(cfg)
    except MissingMandatoryValue as exc:
        raise OptbenchError(_missing_value(str(exc.full_key))) from None
    except InterpolationResolutionError as exc:
        cause = exc.__cause__ or exc.__context__
        while cause is not None and not isinstance(cause, OptbenchError):
            cause = cause.__cause__ or cause.__context__
        if cause is not None:  # our resolver's refusal (${suite:...}): its one line
            raise OptbenchError(str(cause)) from None
        raise
    if isinstance(obj.optimizer, dict):  # optimizer=custom: any key goes to its class
        obj.optimizer = optimizer.custom_config(obj.optimizer)
    check_dataclass(obj)
    return obj
