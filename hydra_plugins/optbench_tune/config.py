"""``hydra/sweeper=optbench_tune``'s schema, registered in Hydra's ConfigStore: what Hydra
type-checks when it composes, and the ranges the sweeper checks when it starts
(optbench.constraints, as every other optbench setting)."""

from dataclasses import dataclass, field

from hydra.core.config_store import ConfigStore

from optbench.constraints import OneOf, constrained, positive_int


@dataclass
class TuneSweeperConf:
    _target_: str = "hydra_plugins.optbench_tune.sweeper.TuneSweeper"
    n_trials: int = positive_int(10)  # per study: the same budget for every optimizer
    n_jobs: int = positive_int(1)  # trials asked from each study at once (run in parallel)
    sampler: str = constrained("tpe", OneOf(("tpe", "random")))
    seed: int = 0  # the sampler's; study i uses seed + i
    # null: minimise losses, maximise accuracies (the objective metric's direction)
    direction: str | None = constrained(None, OneOf(("minimize", "maximize")), nullable=True)
    params: dict[str, str] = field(default_factory=dict)  # key: Hydra sweep syntax


ConfigStore.instance().store(
    group="hydra/sweeper", name="optbench_tune", node=TuneSweeperConf, provider="optbench"
)
