"""optbench's tuning sweeper, where Hydra looks for plugins (a plugin's module must be under
hydra_plugins.): its schema (config.py) and its class (sweeper.py); the logic is
optbench/hparams_search.py."""

from .config import TuneSweeperConf
from .sweeper import TuneSweeper

__all__ = ["TuneSweeper", "TuneSweeperConf"]
