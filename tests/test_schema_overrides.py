"""Command-line overrides refused before Hydra composes them (optbench/schema/overrides.py): a
list of options for a config group, which Hydra would merge into one config (a run of neither)
where a sweep was meant, and the renamed keys (tests/test_schema_renamed.py); one line each,
with the sweep to run instead."""

from __future__ import annotations

import pytest

from optbench.errors import OptbenchError
from optbench.schema.overrides import SINGLE_OPTION_GROUPS, check_overrides, refuse_group_list
from tests.conftest import REPO


@pytest.mark.parametrize(
    ("argument", "sweep"),
    [
        ("optimizer=[saga,lbfgs]", "optimizer=saga,lbfgs"),
        ("+hardware=[cpu]", "hardware=cpu"),  # one option in brackets is still a list
        ("model@x=[ mlp , cnn_2c2d ]", "model=mlp,cnn_2c2d"),
        ("dataset= [digits,mnist]", "dataset=digits,mnist"),
    ],
)
def test_a_list_of_options_names_the_sweep_to_run_instead(argument, sweep):
    with pytest.raises(OptbenchError) as refused:
        refuse_group_list(argument)
    assert str(refused.value) == f"{argument}: one option per group; sweep with -m {sweep}"


@pytest.mark.parametrize(
    "argument",
    ["optimizer=adam", "seed=[1,2]", "model.hidden_sizes=[64,32]", "experiment=[a,b]", "~dataset"],
)
def test_a_list_of_values_or_a_single_option_passes(argument):
    refuse_group_list(argument)


def test_the_groups_that_take_one_option_are_conf_groups():
    for group in SINGLE_OPTION_GROUPS:
        assert (REPO / "conf" / group).is_dir(), group


def test_renamed_keys_are_checked_with_the_rest():
    with pytest.raises(OptbenchError, match=r"^model\.hidden was renamed model\.hidden_sizes\.$"):
        check_overrides(["model=mlp", "model.hidden=[8]"])


def test_one_option_per_group_but_lists_of_values_pass():
    from optbench.schema import SINGLE_OPTION_GROUPS, check_overrides

    for group in SINGLE_OPTION_GROUPS:
        with pytest.raises(OptbenchError, match=rf"^{group}=\[a,b\]: one option per group; "):
            check_overrides([f"{group}=[a,b]"])
    with pytest.raises(OptbenchError, match=r"sweep with -m schedule=cosine,step$"):
        check_overrides(["schedule@x=[cosine, step]"])
    check_overrides(["-m", "optimizer=saga,lbfgs", "model=mlp", "model.hidden_sizes=[64,32]"])
    check_overrides(["dataset=cifar10", "dataset.classes=[cat,dog]", "+experiment=[a]"])
