"""The Hydra plugin class of ``hydra/sweeper=optbench_tune``: it checks its settings against
the schema and hands them to the library's equal-budget sweeper (optbench/hparams_search.py).
The plugin imports the library, never the reverse; the CLI registers it by name."""

from __future__ import annotations

from typing import Any

from optbench.constraints import check_dataclass
from optbench.hparams_search import EqualBudgetSweeper

from .config import TuneSweeperConf


class TuneSweeper(EqualBudgetSweeper):
    """Equal-budget Optuna studies, one per combination of discrete sweeps."""

    def __init__(self, **settings: Any):
        check_dataclass(TuneSweeperConf(**settings), prefix="hydra.sweeper.")
        super().__init__(**settings)
