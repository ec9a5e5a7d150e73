"""The Hydra plugin of ``hydra/sweeper=optbench_tune`` (hydra_plugins/optbench_tune/sweeper.py):
Hydra finds it by its config's target, and it checks its settings against its schema before it
hands them to the equal-budget sweeper (the sweeps themselves: tests/test_hparams_search.py)."""

from __future__ import annotations

import pytest
from hydra import compose, initialize_config_module
from hydra.utils import instantiate

from hydra_plugins.optbench_tune import TuneSweeper
from optbench.errors import OptbenchError
from optbench.hparams_search import EqualBudgetSweeper

DEFAULTS = {
    "n_trials": 3,
    "n_jobs": 1,
    "sampler": "tpe",
    "seed": 0,
    "direction": None,
    "params": {},
}


def test_hparams_search_composes_the_plugin_with_its_search_space():
    with initialize_config_module("optbench.conf", version_base="1.3"):
        cfg = compose("config", overrides=["hparams_search=lr"], return_hydra_config=True)
    assert cfg.hydra.sweeper._target_ == "hydra_plugins.optbench_tune.sweeper.TuneSweeper"
    sweeper = instantiate(cfg.hydra.sweeper)
    # by name: Hydra's plugin scan executes the module again, a class object of its own
    assert type(sweeper).__name__ == "TuneSweeper" and isinstance(sweeper, EqualBudgetSweeper)
    assert (sweeper.n_trials, sweeper.n_jobs, sweeper.sampler) == (10, 1, "tpe")
    assert sweeper.params == {"optimizer.lr": "tag(log, interval(1e-5, 1.0))"}


def test_the_smallest_settings_pass_to_the_sweeper():
    sweeper = TuneSweeper(**{**DEFAULTS, "n_trials": 1, "direction": "maximize", "seed": 7})
    assert (sweeper.n_trials, sweeper.n_jobs, sweeper.direction, sweeper.seed) == (
        1,
        1,
        "maximize",
        7,
    )
    assert sweeper.job_idx == 0


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"n_trials": 0}, "hydra.sweeper.n_trials=0 is not allowed: must be an integer in [1, inf)."),
        ({"n_jobs": 0}, "hydra.sweeper.n_jobs=0 is not allowed: must be an integer in [1, inf)."),
        ({"sampler": "grid"}, "hydra.sweeper.sampler='grid' is not allowed: must be one of 'tpe', 'random'."),
        ({"direction": "up"}, "hydra.sweeper.direction='up' is not allowed: must be one of 'minimize', 'maximize' (or null)."),
    ],
)  # fmt: skip
def test_the_plugin_checks_its_settings_against_its_schema(settings, message):
    """The plugin's schema (hydra_plugins/optbench_tune/config.py) carries the ranges; the
    sweeper refuses a value outside them in one line, as every optbench setting."""
    with pytest.raises(OptbenchError) as refused:
        TuneSweeper(**{**DEFAULTS, **settings})
    assert str(refused.value) == message
