"""The suite's own settings (suite.*) apart from the overrides for every run, checked as a
Hydra group, and each workload composed without the dataset's per-optimizer rates."""

from __future__ import annotations

import pytest

from optbench.errors import OptbenchError
from optbench.suite import settings
from tests.conftest import compose_cfg

QUADRATIC = "ill_conditioned_quadratic"


def test_a_self_tuning_run_uses_no_per_dataset_setting():
    """The dataset's learning-rate table is for ordinary runs; the suite empties it, so an
    optimizer runs its own default (or what its command line declares once) everywhere."""
    from optbench.suite.settings import compose

    assert compose_cfg("dataset=rosenbrock", "optimizer=adam").optimizer.lr == 0.05
    assert compose("rosenbrock", ["optimizer=adam"], None).optimizer.lr == 0.001
    assert compose(QUADRATIC, ["optimizer=sgd"], None).optimizer.lr == 0.01
    assert compose(QUADRATIC, ["optimizer=sgd", "optimizer.lr=0.3"], None).optimizer.lr == 0.3


def test_the_suite_settings_are_split_from_the_overrides_for_every_run():
    argv = ["optimizer=adam", "suite.seeds=2", "+suite.trials=3", "~suite.search",
            "trainer.max_iter=5", "suite_like=1"]  # fmt: skip
    assert settings.split_settings(argv) == (
        ["suite.seeds=2", "+suite.trials=3", "~suite.search"],
        ["optimizer=adam", "trainer.max_iter=5", "suite_like=1"],
    )


def test_parsed_settings_give_the_seeds_from_the_first_and_every_scored_workload_by_default():
    from optbench.suite import workloads

    default = settings.parse_settings([])
    assert default.seeds == [0, 1, 2] and default.names == workloads.scored()
    assert (default.ruleset, default.baselines) == ("self_tuning", "shipped")
    assert (default.tuning.trials, default.tuning.search) == (5, "lr")
    mine = settings.parse_settings(
        ["suite.seeds=2", "suite.first_seed=10", "suite.workloads=[rosenbrock]",
         "suite.ruleset=external_tuning", "suite.trials=4"]
    )  # fmt: skip
    assert mine.seeds == [10, 11] and mine.names == ["rosenbrock"]
    assert mine.ruleset == "external_tuning" and mine.tuning.trials == 4


def test_an_unknown_suite_key_is_refused_before_hydra_composes():
    with pytest.raises(OptbenchError) as info:
        settings.settings_config(["+suite.colour=red"])
    assert str(info.value) == (
        "suite.colour is not a suite setting; it takes: seeds, first_seed, workloads, ruleset, "
        "trials, search, baselines."
    )


def test_emptying_the_dataset_rates_leaves_a_config_without_them_alone():
    cfg = compose_cfg("dataset=rosenbrock", "optimizer=adam")
    assert cfg.dataset.lr  # the per-optimizer table of an ordinary run
    assert settings.without_workload_settings(cfg).dataset.lr == {}
    assert cfg.optimizer.lr == 0.001  # adam's own default now
    plain = compose_cfg("dataset=digits")
    assert "lr" not in plain.dataset
    assert settings.without_workload_settings(plain) is plain


def test_under_external_tuning_the_search_must_be_an_hparams_search_option():
    self_tuning = settings.parse_settings(["suite.workloads=[rosenbrock]", "suite.search=nope"])
    settings.check_search(self_tuning, [], None)  # not used: not checked
    external = settings.parse_settings(
        ["suite.workloads=[rosenbrock]", "suite.search=nope", "suite.ruleset=external_tuning"]
    )
    with pytest.raises(OptbenchError, match=r"^suite\.search='nope': .*hparams_search"):
        settings.check_search(external, [], None)
    lr = settings.parse_settings(["suite.workloads=[rosenbrock]", "suite.ruleset=external_tuning"])
    settings.check_search(lr, [], None)
