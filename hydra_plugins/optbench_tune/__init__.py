"""optbench's tuning sweeper, where Hydra looks for plugins (its class name must start with
hydra_plugins.); the logic is optbench/hparams_search.py."""

from hydra.core.config_store import ConfigStore

from optbench.hparams_search import EqualBudgetSweeper, TuneSweeperConf


class TuneSweeper(EqualBudgetSweeper):
    """``hydra/sweeper=optbench_tune``: equal-budget Optuna studies (optbench.hparams_search)."""


ConfigStore.instance().store(
    group="hydra/sweeper", name="optbench_tune", node=TuneSweeperConf, provider="optbench"
)
